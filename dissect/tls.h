/* tls.h — the TLS dissector's public record (one per handshake), its caps, and the verdict
 * rules over that record (tls_rules.c).
 *
 * The dissector itself is `tls_dissector` (dissector.h contract). It emits exactly one
 * struct tls_session_rec per handshake through ctx->sink->tls_session, plus findings through
 * ctx->sink->finding. All fields are fixed-size copies (no pointers into packet data). */
#ifndef NZ_TLS_H
#define NZ_TLS_H

#include "core/limits.h"
#include "dissect/dissector.h"
#include "dissect/fingerprint.h"
#include "dissect/trust.h"
#include "dissect/x509.h"

/* TLS_HS_MAX (the largest handshake message buffered) is in core/limits.h. */

/* Record layer: TLSCiphertext.length must not exceed 2^14 + 2048 (RFC 5246 §6.2.3);
 * a longer record header means this is not (or no longer) a TLS stream. */
#define TLS_RECORD_MAX (16384u + 2048u)

#define TLS_SNI_MAX 255u      /* host_name bytes kept (DNS names are <= 253) */
#define TLS_ALPN_MAX 255u     /* RFC 7301: one protocol name is 1..255 bytes */
#define TLS_TEXT_MAX 512u     /* a comma-separated text list incl. NUL; longer ones end in "..." */
#define TLS_FP_STR_MAX 4096u  /* ja3 string / ja4_r kept incl. NUL; hashes cover the full string */
#define TLS_ALERTS_MAX 8u     /* clear-text alerts kept per handshake (first ones) */
#define TLS_COMP_MAX 16u      /* compression methods offered kept (2 are defined) */
#define TLS_NAME_MAX 80u      /* cipher suite names (longest IANA name is 56 chars) */

/* One alert seen in clear (RFC 8446 §6 / RFC 5246 §7.2). */
struct tls_alert {
    uint64_t ts_usec;     /* packet time */
    bool from_server;     /* direction 1 */
    uint8_t level;        /* 1 warning, 2 fatal (other values kept as sent) */
    uint8_t desc;         /* AlertDescription, e.g. 86 inappropriate_fallback */
};

/* Downgrade sentinel values in ServerHello.random (RFC 8446 §4.1.3). */
enum tls_sentinel {
    TLS_SENTINEL_NONE = 0,
    TLS_SENTINEL_TLS12 = 1,  /* 44 4F 57 4E 47 52 44 01: server negotiated TLS 1.2 */
    TLS_SENTINEL_TLS11 = 2   /* 44 4F 57 4E 47 52 44 00: server negotiated TLS 1.1 or below */
};

/* The session's security level in the words of Postfix's posttls-finger (TLS_LEVEL_NONE is
 * for plaintext sessions of other protocols; a TLS record never has it). */
enum tls_level {
    TLS_LEVEL_UNSET = 0,   /* no ServerHello: no session was established */
    TLS_LEVEL_NONE,        /* "none": no TLS */
    TLS_LEVEL_ENCRYPT,     /* "encrypt": TLS, the certificate not seen (TLS 1.3, resumption)
                              or not checked (no trust store, a certificate wolfSSL cannot read) */
    TLS_LEVEL_UNTRUSTED,   /* "untrusted": the chain does not verify at packet time */
    TLS_LEVEL_TRUSTED,     /* "trusted": it verifies; the name does not match or none was known */
    TLS_LEVEL_VERIFIED     /* "verified": it verifies and the expected name matches */
};
/* "none", "encrypt", "untrusted", "trusted", "verified"; NULL for TLS_LEVEL_UNSET. */
const char *tls_level_name(int level);

/* Everything the tls_sessions table needs, for one handshake. Text fields are NUL-terminated;
 * "" means "not seen" (store NULL). Text copies of wire strings replace bytes outside
 * printable ASCII (and ',') by '?'. */
struct tls_session_rec {
    /* --- context --- */
    uint64_t ts_usec;                 /* packet time of the first hello seen (µs) */
    uint64_t ts_server_usec;          /* packet time of the ServerHello (µs); 0 if none */
    uint64_t flow_id;                 /* dis_ctx.flow_id */
    char started_by[32];              /* dis_cfg.started_by, default "tls" */
    bool handshake_complete;          /* both directions reached encrypted records */
    bool client_hello_seen;
    bool server_hello_seen;           /* a ServerHello (or SSLv2 SERVER-HELLO) was parsed */
    bool sslv2_client_hello;          /* the ClientHello used the SSLv2-compatible format */
    bool hrr;                         /* a HelloRetryRequest was seen */
    bool fp_partial;                  /* a client list exceeded its FP_*_MAX cap */
    bool ch_malformed;                /* the ClientHello did not parse completely: the offer
                                         lists may be partial (no offer/choice verdict) */

    /* --- the server's choice --- */
    uint16_t version_code;            /* negotiated: 0x0002 SSLv2 .. 0x0304 TLS 1.3; 0 none */
    char version[8];                  /* "SSLv2" "SSLv3" "TLSv1.0".."TLSv1.3"; "" none/unknown */
    uint16_t server_legacy_version;   /* ServerHello.legacy_version as sent */
    bool cipher_set;                  /* cipher_code is valid */
    uint32_t cipher_code;             /* chosen suite (SSLv2: 24-bit cipher kind) */
    char cipher[TLS_NAME_MAX];        /* IANA name; "unknown_0x1234" if not in the table */
    bool compression_set;             /* compression is valid */
    uint8_t compression;              /* chosen method: 0 null, 1 DEFLATE, 64 LZS */
    char alpn_chosen[TLS_ALPN_MAX + 1]; /* ALPN protocol selected by the server (clear only) */
    uint16_t group;                   /* key_share group (TLS 1.3) or ECDHE named curve; 0 none */
    char group_name[24];              /* e.g. "x25519", "secp256r1", "0x11ec" */
    uint16_t dhe_bits;                /* DHE prime size from ServerKeyExchange, bits; 0 none */
    uint16_t rsa_export_bits;         /* RSA_EXPORT temporary key modulus, bits; 0 none */
    bool resumed;                     /* session id echo, abbreviated handshake, or TLS 1.3 PSK */
    uint8_t sentinel;                 /* enum tls_sentinel */
    bool server_session_id;           /* ServerHello.session_id non-empty */
    bool server_ri;                   /* renegotiation_info in ServerHello */
    bool server_heartbeat;            /* heartbeat in ServerHello = negotiated (<= 1.2) */
    bool server_ticket_ext;           /* session_ticket in ServerHello (will issue one) */
    bool new_session_ticket;          /* NewSessionTicket seen in clear */
    bool server_ems;                  /* extended_master_secret in ServerHello */
    bool server_etm;                  /* encrypt_then_mac in ServerHello */
    bool server_psk;                  /* pre_shared_key in ServerHello (TLS 1.3 resumption) */
    bool server_key_share;            /* key_share in ServerHello ((EC)DHE in TLS 1.3) */
    char server_exts[TLS_TEXT_MAX];   /* ServerHello extension codes, decimal, wire order */
    uint32_t cert_count;              /* certificates in the server's Certificate (clear) */
    char cert_sizes[TLS_TEXT_MAX];    /* their DER sizes in bytes, chain order */
    uint32_t client_cert_count;       /* certificates the client sent (clear, <= 1.2) */
    bool leaf_parsed;                 /* leaf holds the server's first certificate (x509_parse
                                         accepted it; judged at ServerHello time) */
    struct cert_info leaf;            /* the server's leaf certificate; zeroed if not parsed */
    bool chain_last_self_issued;      /* the chain's last certificate parsed and is
                                         self-issued (a root sent along, or a chain of one
                                         self-issued leaf) */
    uint8_t chain_n;                  /* certificates of the chain identified below (the first
                                         TRUST_CHAIN_MAX of cert_count) */
    uint8_t chain_sha256[TRUST_CHAIN_MAX][32]; /* SHA-256 of each one's DER, chain order */
    uint8_t chain_hash[32];           /* trust_chain_hash of them (valid when chain_n > 0) */
    struct trust_result trust;        /* the chain judged at packet time (trust.h) */
    bool leaf_spki_set;               /* leaf_spki holds the leaf's SPKI SHA-256 */
    uint8_t leaf_spki[32];
    char name_checked[TLS_SNI_MAX + 1]; /* the name the leaf was judged against: the SNI, else
                                         the name the server gave before STARTTLS; "" none */
    char name_source[12];             /* "sni", "greeting", "ehlo"; "" none */
    uint8_t level;                    /* enum tls_level, set when the record is emitted */

    /* --- the client's offer --- */
    uint16_t client_version;          /* ClientHello.legacy_version (SSLv2 hello: version) */
    uint16_t client_max_version;      /* highest offered (supported_versions, else legacy) */
    char client_versions[128];        /* offered: supported_versions names, else the legacy one */
    uint16_t versions_offered[FP_VERSIONS_MAX]; /* supported_versions, GREASE removed */
    size_t n_versions_offered;        /* <= FP_VERSIONS_MAX */
    uint32_t ciphers_offered[FP_CIPHERS_MAX];   /* suites in wire order, GREASE removed */
    size_t n_ciphers_offered;         /* <= FP_CIPHERS_MAX */
    uint8_t comp_offered[TLS_COMP_MAX];         /* compression methods offered */
    size_t n_comp_offered;            /* <= TLS_COMP_MAX */
    char sni[TLS_SNI_MAX + 1];        /* first host_name of server_name */
    char alpn_offered[TLS_TEXT_MAX];  /* ALPN names, comma-separated, wire order */
    char groups_offered[TLS_TEXT_MAX];/* supported_groups names, GREASE removed */
    char key_share_groups[128];       /* groups of the client's key_share entries */
    char client_exts[TLS_TEXT_MAX];   /* extension codes, decimal, wire order (GREASE kept) */
    bool fallback_scsv;               /* TLS_FALLBACK_SCSV 0x5600 offered */
    bool reneg_scsv;                  /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV 0x00FF offered */
    bool client_ri;                   /* renegotiation_info extension */
    bool client_heartbeat;            /* heartbeat extension */
    bool client_ech;                  /* encrypted_client_hello (0xfe0d) */
    bool client_session_id;           /* non-empty legacy_session_id */
    bool client_ticket;               /* session_ticket extension present */
    bool client_ticket_data;          /* ... and non-empty (resumption attempt) */
    bool client_psk;                  /* pre_shared_key extension */
    uint8_t psk_modes;                /* psk_key_exchange_modes: bit0 psk_ke, bit1 psk_dhe_ke */
    bool client_ems;                  /* extended_master_secret */
    bool client_etm;                  /* encrypt_then_mac */
    bool client_status_request;       /* status_request (OCSP stapling) */

    /* --- fingerprints --- */
    char ja3[FP_MD5_HEX];             /* "" without ClientHello */
    char ja3_str[TLS_FP_STR_MAX];
    char ja3s[FP_MD5_HEX];            /* "" without ServerHello */
    char ja3s_str[TLS_TEXT_MAX];
    char ja4[FP_JA4_LEN];
    char ja4_r[TLS_FP_STR_MAX];

    /* --- alerts in clear --- */
    struct tls_alert alerts[TLS_ALERTS_MAX];
    size_t n_alerts;                  /* <= TLS_ALERTS_MAX (later ones only in alerts_text/count) */
    uint32_t alerts_total;            /* all clear alerts seen */
    char alerts_text[TLS_TEXT_MAX];   /* "server:fatal:86,client:warning:0" */

    /* --- accounting --- */
    uint64_t hs_types[2];             /* bit t: handshake type t (< 64) seen, per direction */
    uint32_t hs_oversize;             /* messages > TLS_HS_MAX (or unbufferable) skipped */
    uint32_t hs_malformed;            /* messages whose body did not parse */
    uint32_t hs_unexpected;           /* messages in the wrong direction */
};

/* One heartbeat record (content type 24, RFC 6520), as the record layer shows it. */
struct tls_hb_event {
    uint64_t ts_usec;      /* packet time */
    bool from_server;      /* direction 1 */
    bool encrypted;        /* after this direction's ChangeCipherSpec: only the length is seen */
    uint8_t hb_type;       /* clear: 1 request, 2 response (others kept as sent); 0 encrypted */
    uint16_t record_len;   /* TLSPlaintext/TLSCiphertext.length */
    uint16_t payload_len;  /* clear: the declared payload_length; 0 encrypted */
};

/* What one flow's heartbeats showed so far (kept by the dissector, judged by the rules). Index
 * by the sender's direction (0 client). An encrypted record answers the other side's unanswered
 * encrypted one (then it is a response), else it is a request: either side may send
 * requests (GnuTLS servers ping their clients). */
struct tls_hb_state {
    bool enc_pending[2];         /* an encrypted request from this side awaits its response */
    bool req_seen[2];            /* a request was seen from this side */
    bool req_clear[2];           /* ... and one of them in clear */
    uint16_t req_len_max[2];     /* largest request record length */
    uint16_t req_carried_max[2]; /* largest payload a clear request could carry (record - 19
                                    (RFC 6520 §4: type, length, 16 padding), capped by its
                                    declared length) */
    uint32_t records;            /* records read after the handshake (TLS_HB_WATCH_RECORDS) */
    bool attempt_reported;       /* one finding per flow per kind */
    bool leak_reported;
};

/* Judges one heartbeat record against what the flow showed before (and records it in hs):
 * emits tls.heartbleed_attempt / tls.heartbleed_leak at most once per flow. r is the flow's
 * session record (its SNI decorates the finding); srv_ip may be NULL. Returns the number of
 * findings. */
size_t tls_rules_heartbeat(struct tls_hb_state *hs, const struct tls_hb_event *ev,
                           const struct tls_session_rec *r, const char *srv_ip,
                           uint16_t srv_port, void (*emit)(void *ud, const struct finding *f),
                           void *ud);

/* Name of a wire version ("SSLv2".."TLSv1.3"), or NULL if not one of those. */
const char *tls_version_name(uint16_t v);

/* Name of a named group (RFC 8446 §4.2.7 / IANA), or NULL if unknown. */
const char *tls_group_name(uint16_t g);

/* Evaluates the TLS verdict rules over a finished record and calls emit() once per finding
 * (the finding is borrowed for the call). policy: 0 default, 1 Mozilla "intermediate".
 * srv_ip (may be NULL) and srv_port only decorate summaries. Returns the number of findings. */
size_t tls_rules_eval(const struct tls_session_rec *r, int policy, const char *srv_ip,
                      uint16_t srv_port, void (*emit)(void *ud, const struct finding *f),
                      void *ud);

extern const struct dissector tls_dissector;

#endif
