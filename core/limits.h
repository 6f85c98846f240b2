/* limits.h — the one index of netzwacht's limits, each with its unit and its reason.
 *
 * Part 1 lists what an operator may reasonably change: the defaults of command-line options
 * (the flag is named) and caps whose trade-off is memory against completeness (capture, the
 * pipeline's per-flow buffers, and what one dissector may hold for a message or a session).
 * Part 2 lists the obscure ones: bounds on per-packet work, sizes derived from a protocol's
 * record sizes, and caps that only shape evidence; they should move only with the code that
 * relies on them. Protocol parsers keep their format constants (sizes fixed by an RFC, the
 * bounds of their records' text fields) next to the parser; everything that is a policy lives
 * here. */
#ifndef NZ_LIMITS_H
#define NZ_LIMITS_H

/* ======================= Part 1: what you may reasonably change ======================= */

/* ---- capture: flows, memory, reassembly ---- */

/* Flows tracked at once (flag --max-flows). Measured by tests/bench: a flow without a
 * dissector costs ~1.5 KB; one whose dissector is still working costs up to ~15 KB (a TLS
 * handshake in progress ~22 KB; the state is freed as soon as the handshake is done; an HTTP
 * or mail flow keeps ~8-9 KB). What they may hold together is bounded by --max-mem
 * (MEM_MAX_DEFAULT), not by this count; a busy campus uplink has fewer concurrent TCP flows
 * mid-handshake. */
#define FLOW_MAX_DEFAULT 250000u

/* Idle seconds (packet time) before a flow without FIN/RST is expired (flag --flow-timeout).
 * 300 s: longer than common NAT/firewall TCP idle timers on campus links, short enough
 * to keep the table small. */
#define FLOW_IDLE_SEC_DEFAULT 300u

/* Seconds (packet time) a flow is kept after both FINs or a RST, to absorb the final ACKs
 * and retransmitted FINs without re-creating the flow. */
#define FLOW_CLOSE_LINGER_SEC 5u

/* Flows examined for expiry per packet: bounds per-packet work (expiry is incremental, like
 * redis' dictRehash), while staying faster than flows can be created. */
#define FLOW_EXPIRE_PER_PKT 8u

/* Heap bytes of all per-flow state together (flag --max-mem): flow entries, the pipeline's
 * per-flow state and buffers, reassembly queues, dissector states, nDPI flow states (see
 * engine/pipeline.h). Beyond it the least recently seen flows are evicted. 1 GiB: the default
 * --max-flows of idle or plain flows (~1.5 KB each, ~370 MiB) fits with room, so eviction
 * happens only under pressure (e.g. ~40 000 TLS handshakes stalled at once, ~25 KB each), and
 * a 24 GiB sensor keeps most of its memory for the rest. */
#define MEM_MAX_DEFAULT (1024u * 1024u * 1024u)

/* Smallest --max-mem accepted: the flow table's bucket array alone is up to 8 MiB
 * (2^20 slots); 16 MiB leaves at least 8 MiB for flows (~5000 idle ones). */
#define MEM_MAX_MIN (16u * 1024u * 1024u)

/* Total bytes held in out-of-order queues over all flows (flag --max-reasm-mem), a part of
 * --max-mem (the smaller applies). 256 MiB: the largest reassembly memory a 24 GiB sensor
 * spends without noticing. */
#define REASM_MEM_MAX_DEFAULT (256u * 1024u * 1024u)

/* Out-of-order bytes buffered per flow direction (flag --max-ooo). 256 KiB covers a
 * full 64 KiB window times a few, i.e. a couple of RTTs of loss recovery. */
#define REASM_OOO_MAX_BYTES_DEFAULT (256u * 1024u)

/* Out-of-order segments buffered per flow direction: bounds list walks per packet. */
#define REASM_OOO_MAX_SEGS 256u

/* ---- dissectors: per-flow buffers ---- */

/* Unconsumed bytes the pipeline buffers per flow direction for a dissector. 64 KiB holds
 * any TLS record (16 KiB + 2 KiB) with room, an SMTP/HTTP head, and a typical cert chain
 * message is consumed record by record by the TLS dissector's own buffer. */
#define DIS_BUF_MAX (64u * 1024u)

/* Heap bytes one flow's dissection may hold: the dissector's state with its own buffers
 * (dissector.mem) plus the pipeline's two buffers above. The largest legitimate case is a TLS
 * handshake: state ~22 KiB, one handshake message being reassembled at TLS_HS_MAX (64 KiB, a
 * long certificate chain) and the pipeline holding one partial record (at most 18 KiB,
 * buffered in 32 KiB) in that direction, small buffers in the other: ~120 KiB. 160 KiB leaves
 * room for that and stops a flow holding big partial messages in both directions (up to
 * ~280 KiB otherwise): its dissector is detached (dissect.malformed, counted in
 * dissectors.mem_cap) and its state freed. */
#define DIS_FLOW_MEM_MAX (160u * 1024u)

/* ---- dissectors: what one message or session may hold ---- */

/* Largest handshake message the dissector buffers per direction (bytes of body). 64 KiB
 * holds a ClientHello with every extension and a certificate chain of several 4096-bit RSA
 * certificates (each ~1.5 KiB) with room; TLS allows 2^24-1, which a passive observer must
 * not buffer for every flow. A larger message is counted (hs_oversize) and skipped. */
#define TLS_HS_MAX (64u * 1024u)

/* Largest message head (start line + header fields + the empty line) parsed, in bytes. Node.js
 * rejects heads over 16 KiB (--max-http-header-size default), nginx's default buffers reject a
 * request line or field over 8 KiB, browsers cap a cookie at 4 KiB; a longer head is an attack or
 * a broken peer. The head must sit whole in the pipeline's buffer (DIS_BUF_MAX, 64 KiB) before it
 * is parsed, so this also keeps room there for the bytes behind it. A longer head is not
 * buffered: its first HTTP_HEAD_MAX bytes are parsed, the rest of it is dropped line by line, the
 * record gets HTTP_F_*_HEAD_TOO_LARGE and parsing continues with the message's body. */
#define HTTP_HEAD_MAX (16u * 1024u)

/* Requests queued while waiting for their responses (pipelining), per flow. curl (up to 7.65)
 * pipelined at most 5 requests, Firefox defaulted to 4 (cap 8) before dropping pipelining; 16
 * leaves room. The queue starts at 2 slots (~2.3 KB each) and doubles only for flows that
 * pipeline, so the usual state is ~14 KB per HTTP flow. Requests beyond the cap are still parsed
 * for verdicts, then counted; their responses are paired as "overflow" (framed as for GET,
 * record flagged HTTP_F_OVERFLOW) so the order of pairing stays right; an overflowed request
 * never answered leaves no record. */
#define HTTP_PIPELINE_MAX 16u

/* Bytes at the start of an urlencoded or multipart request body kept to look for password-like
 * field NAMES (values are never looked at). A login form (user, password, CSRF token) is a few
 * hundred bytes; 4 KiB also covers most forms with hidden fields. Big hidden fields before the
 * password (ASP.NET __VIEWSTATE) can push it past the peek: then no verdict. */
#define HTTP_FORM_PEEK 4096u

/* Distinct verdicts (kind + subject: user, field, cookie name, …) reported per flow. Repeats of
 * one subject on a keep-alive flow are reported once; past this many distinct subjects further
 * verdicts of the flow are dropped (a flow inventing user names cannot flood the store). */
#define HTTP_VERDICTS_MAX 32u

/* Longest command or reply line parsed, bytes including the CRLF. RFC 5321 §4.5.3.1.4 allows
 * 512 octets for a command line and §4.5.3.1.5 1000 for a reply line (text line incl. CRLF);
 * extensions may raise them (RFC 1869 §4.1.2 SIZE params, long AUTH initial responses: a
 * XOAUTH2 token is ~2 KiB of base64). 4096 covers real clients with room while bounding what
 * a line may hold in the pipeline's buffer (DIS_BUF_MAX). A longer line is not buffered: its
 * first SMTP_LINE_MAX bytes are parsed as the line, the rest is skipped to its LF and the
 * session's long_lines counter goes up. IMAP and POP3 lines use the same cap (IMAP payloads
 * move in literals, which are skipped by length and never buffered). */
#define SMTP_LINE_MAX 4096u

/* Commands awaiting their reply, per session. RFC 2920 pipelining sends a group of commands
 * (MAIL, several RCPT, DATA) in one write; Postfix's smtp client sends one group per message.
 * 64 holds a group with 60 recipients. Commands beyond it are still parsed for verdicts, then
 * the session is flagged MAIL_F_QUEUE_FULL and their replies are left unpaired. */
#define MAIL_PIPELINE_MAX 64u

/* Bytes kept as evidence of injected plaintext (STARTTLS injection) and of a line quoted in a
 * finding (capability line, reply line). A finding shows what was injected, not all of it:
 * the total count is in the evidence too. */
#define MAIL_EVIDENCE_MAX 256u

/* ======================= Part 2: the obscure ones ======================= */

/* These bound per-packet work or follow from a protocol's sizes; they should move only with
 * the code that relies on them. */

/* ---- dissector selection ---- */

/* Bytes of a flow's first payload per direction offered to probe() before giving up on
 * finding a dissector (and the flow gets only nDPI's label). */
#define DIS_PROBE_MAX 2048u

/* A request line whose target has this many visible bytes, after a known method, is taken as
 * HTTP by probe() without waiting for the line end: DIS_PROBE_MAX (2 KiB) may cut long URLs. */
#define HTTP_PROBE_LONG 512u

/* ---- TLS, X.509 ---- */

/* Largest DER certificate handed to the X.509 parser; a larger one is refused (NZ_ELIMIT). A
 * certificate arrives inside one handshake message, which is at most TLS_HS_MAX. */
#define X509_DER_MAX (64u * 1024u)
/* DER walk (dissect/der.c), the fallback when wolfSSL rejects a certificate: nesting depth and
 * TLVs checked per input (a certificate nests about 8 deep: Certificate, TBS, extensions,
 * extension, OCTET STRING contents are not entered; a real one has a few hundred TLVs, the
 * 44-CN public case about 200). Deeper or longer input is taken as broken DER. */
#define DER_DEPTH_MAX 16u
#define DER_NODES_MAX 4096u
/* Long-form length octets accepted (3: up to 16 MiB, far above X509_DER_MAX). */
#define DER_LEN_BYTES_MAX 3u

/* Records read after the handshake of a flow that negotiated heartbeat (RFC 6520; TLS <= 1.2),
 * both directions together, to watch for Heartbleed (tls.heartbleed_*). Only record headers
 * are read (plus the 3-byte heartbeat header when it is in clear); payloads are skipped, never
 * buffered. Attacks send their requests right after (or during) the handshake, and real tools
 * (ssltest.py, nmap ssl-heartbleed, Metasploit) do within their first records; 256 records
 * keep the state (~22 KiB) for a bounded part of such a flow, then the dissector is done as
 * for any other flow. Flows without heartbeat are bypassed right after the handshake. */
#define TLS_HB_WATCH_RECORDS 256u

/* Bytes by which an encrypted heartbeat response record must exceed the other side's largest
 * request record to count as a leak (only lengths are visible then). Equal payloads give
 * equal lengths up to the cipher's padding (CBC: at most 255 bytes) and a sender's own
 * heartbeat padding choice; a Heartbleed response is ~16 KiB against a request of a few
 * dozen bytes. Zeek's heartbleed script compares the same record lengths. */
#define TLS_HB_LEAK_MARGIN 1024u

/* ---- HTTP ---- */

/* Authorization headers looked at per request (Authorization, Proxy-Authorization, repeats). */
#define HTTP_AUTH_PER_REQ 4u
/* Queue slots allocated with the state; doubled on demand up to HTTP_PIPELINE_MAX. Most flows
 * never have more than one request outstanding. */
#define HTTP_QUEUE_INIT 2u
/* Cookies listed in one cookie_in_clear evidence object; more are counted ("more"). */
#define HTTP_COOKIE_EVIDENCE_MAX 16u

/* Longest chunk-size line (hex size + chunk extensions), bytes. Extensions are unused in practice;
 * a longer line is treated as malformed. */
#define HTTP_CHUNK_LINE_MAX 1024u

/* ---- SMTP, IMAP, POP3 ---- */

/* Client bytes held back (left unconsumed) while waiting for the reply to STARTTLS when they
 * start like a TLS record (an eager client sending its ClientHello early): one maximal TLS
 * record, 2^14 + 2048 bytes of fragment plus the 5-byte header (RFC 5246 §6.2.3). Beyond it
 * the bytes are no handshake the pipeline could hand over (DIS_BUF_MAX is 64 KiB) and are
 * taken as injected plaintext. */
#define MAIL_EARLY_TLS_MAX (16384u + 2048u + 5u)

/* Decoded bytes of a DIGEST-MD5 response searched for username="…" (RFC 2831 §2.1.2: the
 * response is a few hundred bytes; username comes first in practice). Held on the stack. */
#define MAIL_DIGEST_PEEK_MAX 1024u

#endif
