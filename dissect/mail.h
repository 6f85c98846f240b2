/* mail.h — the SMTP, IMAP and POP3 dissectors (STARTTLS upgrade and its failure modes): their
 * caps, the per-session record they emit, and the small helpers their tests use.
 *
 * Three dissectors, one file each (smtp.c, imap.c, pop3.c) over a shared driver, SASL decoding
 * and session record (mail_common.c, internal header mail_common.h) and one set of verdicts
 * (mail_rules.c): `smtp_dissector` ("smtp"), `imap_dissector` ("imap") and `pop3_dissector`
 * ("pop3"). Each emits exactly one struct mail_session_rec per flow through dis_sink.mail_session:
 *   - at the switch to TLS (on_data returns DIS_SWITCH with ctx->switch_to = "tls" and
 *     ctx->started_by = "smtp-starttls" / "imap-starttls" / "pop3-stls"); the record then has
 *     tls_started = true and whether the handshake completed is in the TLS dissector's
 *     tls_session_rec of the same flow_id (started_by names the mail protocol);
 *   - otherwise at on_close (also when the pipeline never switched, e.g. the flow ended in
 *     plaintext or after a STARTTLS refusal).
 * Findings (kinds_mail.def: smtp.*, imap.*, pop3.*) are emitted as soon as they are decided;
 * each verdict at most once per session, and every raised verdict has its MAIL_V_* bit in the
 * record. No field and no finding ever holds a password, a SASL response blob or its base64:
 * user names are decoded by a bounded streaming base64 decoder that stops at the end of the
 * user name. See smtp.c, imap.c, pop3.c and mail_common.c for the RFC
 * sections followed and what is ignored. */
#ifndef NZ_MAIL_H
#define NZ_MAIL_H

#include "core/limits.h"
#include "dissect/dissector.h"

/* The caps of these dissectors (SMTP_LINE_MAX, MAIL_PIPELINE_MAX, MAIL_EVIDENCE_MAX,
 * MAIL_EARLY_TLS_MAX, MAIL_DIGEST_PEEK_MAX) are in core/limits.h. */

/* Field bounds (bytes, including the NUL). Longer values are cut. */
#define MAIL_HOST_MAX 256  /* DNS name: 253 chars (RFC 1035 §2.3.4) + room for an address literal */
#define MAIL_TEXT_MAX 256  /* greeting or reply line as seen (printable copy) */
#define MAIL_CAPS_MAX 512  /* capability keywords, space-joined (EHLO list ~15 keywords) */
#define MAIL_MECHS_MAX 128 /* SASL mechanisms offered, space-joined */
#define MAIL_MECH_MAX 32   /* one SASL mechanism name (RFC 4422 §3.1: at most 20 chars) */
#define MAIL_USER_MAX 128  /* user name (e-mail address or login; RFC 5321 local-part 64 + @ + domain) */
#define MAIL_TAG_MAX 32    /* IMAP command tag kept for pairing (longer tags are cut: pairing by prefix) */

enum mail_proto {
    MAIL_PROTO_SMTP = 1,
    MAIL_PROTO_IMAP = 2,
    MAIL_PROTO_POP3 = 3
};

/* mail_session_rec.verdicts: one bit per verdict raised in this session (kind
 * "<proto>.<name>" with proto smtp/imap/pop3). */
enum {
    MAIL_V_STARTTLS_STRIPPED = 1u << 0,        /* masked STARTTLS/STLS capability, none offered */
    MAIL_V_STARTTLS_COMMAND_BLOCKED = 1u << 1, /* masked client verb answered 500/502, BAD/NO, -ERR */
    MAIL_V_STARTTLS_REFUSED = 1u << 2,         /* non-220 / NO / BAD / -ERR reply to STARTTLS/STLS */
    MAIL_V_STARTTLS_FAILED = 1u << 3,          /* accepted, then plaintext or close, no handshake */
    MAIL_V_STARTTLS_INJECTION = 1u << 4,       /* plaintext pipelined across the upgrade point */
    MAIL_V_STARTTLS_NOT_USED = 1u << 5,        /* offered, client sent mail/login commands in clear */
    MAIL_V_STARTTLS_NOT_OFFERED = 1u << 6,     /* capabilities without it, mail/login accepted in clear */
    MAIL_V_PLAINTEXT_AUTH = 1u << 7            /* credentials (or a crackable response) in clear */
};

/* mail_session_rec.caps: what the server's capability list (EHLO reply, IMAP CAPABILITY,
 * POP3 CAPA) announced. */
enum {
    MAIL_CAP_STARTTLS = 1u << 0,   /* SMTP/IMAP STARTTLS, POP3 STLS */
    MAIL_CAP_AUTH = 1u << 1,       /* SMTP AUTH, IMAP AUTH=…, POP3 SASL */
    MAIL_CAP_PIPELINING = 1u << 2, /* SMTP/POP3 PIPELINING (RFC 2920 / RFC 2449) */
    MAIL_CAP_CHUNKING = 1u << 3,   /* SMTP CHUNKING (BDAT, RFC 3030) */
    MAIL_CAP_SIZE = 1u << 4,       /* SMTP SIZE (RFC 1870) */
    MAIL_CAP_8BITMIME = 1u << 5,   /* SMTP 8BITMIME (RFC 6152) */
    MAIL_CAP_SMTPUTF8 = 1u << 6,   /* SMTP SMTPUTF8 (RFC 6531), IMAP UTF8=ACCEPT */
    MAIL_CAP_LOGINDISABLED = 1u << 7, /* IMAP LOGINDISABLED (RFC 3501 §6.2.3: no LOGIN in clear) */
    MAIL_CAP_USER = 1u << 8,       /* POP3 USER (RFC 2449 §6.3) */
    MAIL_CAP_MASKED = 1u << 9      /* a keyword of the middlebox masking form (XXXXXXXA) */
};

/* mail_session_rec.flags: parsing facts (no verdicts). */
enum {
    MAIL_F_PIPELINING = 1u << 0,    /* the client sent a command while another was unanswered */
    MAIL_F_QUEUE_FULL = 1u << 1,    /* more than MAIL_PIPELINE_MAX commands outstanding */
    MAIL_F_GAP = 1u << 2,           /* bytes were lost (capture gap): pairing may be off after it */
    MAIL_F_BANNER_MASKED = 1u << 3, /* greeting text made of '*'/'X' (PIX/ASA banner masking) */
    MAIL_F_EARLY_TLS = 1u << 4,     /* the client sent TLS bytes before the reply to STARTTLS */
    MAIL_F_NO_GREETING = 1u << 5,   /* the first server reply was not a greeting (mid-stream) */
    MAIL_F_UNPAIRED = 1u << 6,      /* a reply arrived with no command waiting for it */
    MAIL_F_PREAUTH = 1u << 7,       /* IMAP: greeting was PREAUTH (session authenticated outright) */
    MAIL_F_STARTTLS_PLAINTEXT = 1u << 8 /* after an accepted STARTTLS the client went on in clear */
};

/* One mail session (one TCP flow, up to the switch to TLS). Fixed size; strings are
 * NUL-terminated printable ASCII ('?' replaces other bytes); "" means "not seen". */
struct mail_session_rec {
    uint64_t flow_id;                   /* dis_ctx.flow_id */
    uint64_t ts_usec;                   /* packet time of the first bytes dissected (µs) */
    uint64_t ts_end_usec;               /* packet time at emission: switch or close (µs) */
    uint8_t protocol;                   /* enum mail_proto */
    char proto[8];                      /* "smtp", "imap", "pop3" */

    /* --- server identity --- */
    char greeting[MAIL_TEXT_MAX];       /* greeting line as seen (SMTP "220 host ESMTP …",
                                           IMAP "* OK …", POP3 "+OK …"); "" if missed */
    uint16_t greeting_code;             /* SMTP: 220 or 554/421; 0 for IMAP/POP3 or none */
    char greeting_host[MAIL_HOST_MAX];  /* SMTP: first word after the code (RFC 5321 §4.2
                                           "220 <domain>"); "" for IMAP/POP3 (no host there) */
    char helo[MAIL_HOST_MAX];           /* SMTP: EHLO/HELO argument (last one sent); "" else */
    bool ehlo;                          /* helo came from EHLO (not HELO) */

    /* --- capabilities: the latest list seen while no login was pending or accepted (post-login
     *     lists are left out; caps ORs every list) --- */
    bool caps_seen;                     /* a capability list was seen complete (SMTP: EHLO
                                           answered 250, or 500/502 = no ESMTP; IMAP: a
                                           CAPABILITY list; POP3: CAPA answered +OK or -ERR) */
    char capabilities[MAIL_CAPS_MAX];   /* keywords as seen, space-joined, e.g. "PIPELINING SIZE
                                           STARTTLS AUTH 8BITMIME" (SMTP: keyword only; IMAP:
                                           tokens; POP3: keyword of each CAPA line) */
    char auth_mechs[MAIL_MECHS_MAX];    /* SASL mechanisms offered, space-joined */
    uint32_t caps;                      /* MAIL_CAP_* (OR over every list seen) */

    /* --- STARTTLS --- */
    bool starttls_offered;              /* some capability list carried STARTTLS / STLS */
    bool starttls_requested;            /* the client sent STARTTLS / STLS */
    uint16_t starttls_reply_code;       /* SMTP reply code to STARTTLS (220, 454, 5xx); 0 none
                                           and always 0 for IMAP/POP3 (see starttls_reply) */
    char starttls_reply[MAIL_TEXT_MAX]; /* the reply line as seen ("220 2.0.0 Ready to start
                                           TLS", "a1 OK Begin TLS", "+OK", "-ERR …") */
    bool starttls_accepted;             /* reply was 220 / tagged OK / +OK */
    bool tls_started;                   /* the flow was handed to the TLS dissector */

    /* --- authentication (the first accepted attempt, else the latest attempt) --- */
    char auth_mech[MAIL_MECH_MAX];      /* "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", IMAP "LOGIN",
                                           POP3 "USER" (USER/PASS) or "APOP"; uppercase */
    char auth_user[MAIL_USER_MAX];      /* user name if the mechanism reveals it; never a secret */
    bool auth_in_clear;                 /* plaintext_auth was raised: a password, token or a
                                           crackable challenge response crossed in clear */
    bool auth_ok;                       /* the server accepted an authentication (235/OK/+OK) */
    uint32_t auth_attempts;             /* AUTH/LOGIN/AUTHENTICATE/USER/APOP commands */

    /* --- activity in clear --- */
    uint32_t plaintext_commands;        /* client command lines (SASL responses and message
                                           bodies not counted) */
    uint32_t rcpts;                     /* SMTP RCPT accepted (2xx) */
    uint32_t messages;                  /* SMTP DATA/BDAT LAST accepted; POP3 RETR answered +OK;
                                           IMAP APPEND answered OK */
    uint64_t message_bytes;             /* body bytes of those (SMTP DATA/BDAT, POP3 RETR/TOP,
                                           IMAP literals in either direction), before un-stuffing */
    bool mail_in_clear;                 /* SMTP: MAIL FROM accepted in clear; IMAP/POP3: a login
                                           accepted in clear (or IMAP PREAUTH): mailbox content
                                           then moves in clear */
    uint32_t verdicts;                  /* MAIL_V_* raised in this session */
    uint32_t flags;                     /* MAIL_F_* */
    uint32_t long_lines;                /* lines over SMTP_LINE_MAX (parsed cut, rest skipped) */
    uint32_t bad_lines;                 /* server lines that are not a reply of this protocol */
};

extern const struct dissector smtp_dissector; /* "smtp": ports 25, 587, 2525 */
extern const struct dissector imap_dissector; /* "imap": port 143 */
extern const struct dissector pop3_dissector; /* "pop3": port 110 */

/* Decodes base64 (RFC 4648 §4 alphabet, '=' padding) from `in` into out, at most cap bytes.
 * Decoding stops at the first '=' or byte outside the alphabet, or when out is full; a final
 * partial group of fewer than 8 bits is dropped. Returns the number of bytes written. Kept for
 * the tests: it is core/reader.h's b64_decode, the decoder the dissectors use byte by byte
 * (b64dec) so that they stop at the end of a user name and never decode a password. */
size_t mail_b64_decode(struct bytes in, uint8_t *out, size_t cap);

/* True if `word` has the shape of a middlebox-masked keyword of `len` bytes: exactly len bytes,
 * all 'X', 'x' or '*' except at most one other byte (Cisco PIX/ASA ESMTP inspection turns
 * "STARTTLS" into "XXXXXXXA" and a client's "STARTTLS" into "XXXXXXXX"). len 8 for SMTP/IMAP
 * STARTTLS, 4 for POP3 STLS. Borrows word. */
bool mail_is_masked(struct bytes word, size_t len);

#endif
