/* mail_common.h — internal to the mail dissectors (smtp.c, imap.c, pop3.c, mail_common.c,
 * mail_rules.c); nothing outside dissect/ includes it. The public contract is dissect/mail.h.
 *
 * One session state (struct mail_state) serves the three protocols. mail_common.c holds what
 * they share: the per-direction byte driver (lines, over-long lines, dot-terminated bodies,
 * counted chunks/literals), the STARTTLS handoff, the command queue, capability lists, SASL
 * decoding and the session record. Each protocol file parses its own lines into facts in the
 * state and the record (struct mail_ops); mail_rules.c turns facts into findings (which verdict,
 * its severity, summary and evidence). Parsing never decides a severity. */
#ifndef NZ_MAIL_COMMON_H
#define NZ_MAIL_COMMON_H

#include <string.h>

#include "core/limits.h"
#include "core/reader.h"
#include "dissect/mail.h"

/* Bytes of the end of a skipped (over-long) line kept to see whether it announced an IMAP
 * literal: "{" + 19 digits + "+}" fits. */
#define SKIP_TAIL_MAX 24u

/* ------------------------------------------------------------------------------------------ */
/* State */

enum phase {
    PH_NONE = 0,  /* no upgrade pending */
    PH_REQUESTED, /* STARTTLS/STLS sent, reply not yet seen */
    PH_AWAIT,     /* accepted; waiting for the client's TLS handshake */
    PH_SWITCHED   /* DIS_SWITCH returned */
};

enum dmode {
    DM_LINE = 0,  /* complete lines */
    DM_SKIP_LINE, /* rest of an over-long line, up to its LF */
    DM_DOT_BODY,  /* SMTP DATA body / POP3 multi-line response up to CRLF "." CRLF */
    DM_COUNT      /* BDAT chunk or IMAP literal: `left` bytes */
};

enum verb {
    V_OTHER = 0,
    V_GREETING,
    V_EHLO,
    V_HELO,
    V_STARTTLS, /* SMTP/IMAP STARTTLS, POP3 STLS */
    V_AUTH,     /* SMTP/POP3 AUTH, IMAP AUTHENTICATE */
    V_MAIL,
    V_RCPT,
    V_DATA,
    V_DATA_END, /* pseudo-command: the end of a DATA body, answered like a command */
    V_BDAT,
    V_QUIT,
    V_MASKED,   /* a verb of the masking form in STARTTLS' position */
    V_CAPA,     /* IMAP CAPABILITY, POP3 CAPA */
    V_LOGIN,    /* IMAP LOGIN */
    V_USER,
    V_PASS,
    V_APOP,
    V_RETR,
    V_MULTI,    /* POP3 command with a multi-line +OK answer (TOP, LIST/UIDL w/o argument) */
    V_APPEND
};

enum sasl_mech {
    M_NONE = 0,
    M_PLAIN,
    M_LOGIN,
    M_CRAM_MD5,
    M_DIGEST_MD5,
    M_XOAUTH2,
    M_OAUTHBEARER,
    M_SCRAM,
    M_OTHER
};

/* Verdict indexes (bit i of MAIL_V_*), and the kinds per protocol. */
enum {
    VI_STRIPPED = 0,
    VI_BLOCKED,
    VI_REFUSED,
    VI_FAILED,
    VI_INJECTION,
    VI_NOT_USED,
    VI_NOT_OFFERED,
    VI_PLAINTEXT_AUTH,
    VI_COUNT
};
/* Internal dedupe key for the server-side injection (client side uses the MAIL_V_ bit). */
#define RAISED_INJ_SERVER (1u << 16)

/* A command waiting for its reply. */
struct mail_cmd {
    uint8_t verb;            /* enum verb */
    bool flag;               /* SMTP BDAT: LAST given; POP3 AUTH: no argument (list follows) */
    char tag[MAIL_TAG_MAX];  /* IMAP tag (printable copy, cut) */
    char word[12];           /* V_MASKED: the verb as seen (8 or 4 bytes) */
};

/* Raw bytes kept for evidence (capability line, reply line, injected bytes). */
struct kept {
    uint8_t b[MAIL_EVIDENCE_MAX];
    size_t len;              /* <= MAIL_EVIDENCE_MAX */
    uint64_t total;          /* bytes offered, including those not kept */
};

struct mail_dir {
    enum dmode mode;
    unsigned mstate;         /* DM_DOT_BODY: bytes of CRLF "." CRLF matched so far, 0..4 */
    bool data_body;          /* DM_DOT_BODY: SMTP DATA (else a POP3 multi-line response) */
    uint64_t body_seen;      /* DM_DOT_BODY: bytes consumed in this body */
    uint64_t left;           /* DM_COUNT: bytes still to skip */
    bool to_user;            /* DM_COUNT: the literal is an IMAP LOGIN user name: copy it */
    bool count_body;         /* DM_COUNT: add the bytes to message_bytes */
    bool lit_sync;           /* DM_COUNT (client): synchronizing literal, none of it seen yet */
    bool cont;               /* IMAP: the next line continues the line cut by a literal */
    uint8_t tail[SKIP_TAIL_MAX]; /* DM_SKIP_LINE: last bytes of the skipped line */
    size_t tail_len;         /* <= SKIP_TAIL_MAX */
};

/* A capability list being assembled (SMTP over several reply lines, POP3 over CAPA lines). */
struct caplist {
    char caps[MAIL_CAPS_MAX];
    char mechs[MAIL_MECHS_MAX];
    uint32_t bits;           /* MAIL_CAP_* */
    struct kept starttls_line; /* the line that carried STARTTLS/STLS */
    struct kept mask_line;   /* the line with the masked keyword */
};

/* What the server's latest challenge asked for (LOGIN's "Username:" / "Password:" prompts). */
enum sasl_prompt { PROMPT_NONE = 0, PROMPT_USER, PROMPT_PASS };

struct sasl {
    uint8_t mech;            /* enum sasl_mech */
    uint8_t prompt;          /* enum sasl_prompt of the challenge the next response answers */
    uint32_t nresp;          /* client responses seen (the initial response is number 0) */
    bool active;             /* an exchange is in progress */
};

struct mail_state {
    enum mail_proto proto;
    struct mail_session_rec rec;
    struct mail_dir d[2];
    struct mail_cmd q[MAIL_PIPELINE_MAX]; /* oldest first */
    unsigned q_len;          /* <= MAIL_PIPELINE_MAX */
    enum phase phase;
    bool started, labelled, emitted, greeted, any_reply;
    bool switch_now;         /* a server line decided to switch (early TLS client) */
    bool early_overflow;     /* held "early TLS" bytes passed MAIL_EARLY_TLS_MAX */
    uint32_t raised;         /* MAIL_V_* bits and RAISED_INJ_SERVER */
    char ehlo_host[MAIL_HOST_MAX]; /* SMTP: the first word of the EHLO reply (RFC 5321 §4.1.1.1:
                                      the server's domain), for the certificate check */
    struct kept inj_client;  /* client bytes after STARTTLS before its reply */
    struct kept inj_server;  /* server bytes after the acceptance before the handshake */
    struct kept starttls_line; /* capability line that advertised STARTTLS (latest) */
    struct kept tls_reply;   /* reply line to STARTTLS */
    /* SMTP reply being read */
    bool reply_open;
    uint16_t reply_code;
    uint8_t reply_target;    /* enum verb of the command it answers; V_OTHER if none */
    bool reply_paired;       /* it answers q[0] */
    bool reply_target_flag;
    struct kept reply_line;  /* its first line */
    /* capability list being assembled */
    bool list_open;
    struct caplist cl;
    /* authentication */
    struct sasl sasl;
    bool auth_expect;        /* the server asked for a SASL response: next client line is one */
    bool auth_sasl;          /* the recorded attempt is a SASL exchange (AUTH/AUTHENTICATE) */
    char pend_user[MAIL_USER_MAX]; /* a user name being read; copied to rec.auth_user only once
                                      what surrounds it has the expected shape (user_commit) */
    const char *auth_note;   /* static text for the evidence ("malformed PLAIN blob") or NULL */
    /* IMAP command cut by a literal */
    bool cmd_open;
    struct mail_cmd cur;
    bool login_active;       /* cur is LOGIN: arguments being tokenised */
    unsigned login_argi;     /* LOGIN arguments complete so far */
    char auth_tag[MAIL_TAG_MAX]; /* tag of the AUTHENTICATE in progress */
    /* POP3 */
    bool capa_open;          /* reading CAPA lines up to "." */
};

/* ---- what each protocol file provides (smtp.c, imap.c, pop3.c) ---- */

struct mail_ops {
    /* One complete line (without CRLF), client (dir 0) or server (dir 1). */
    void (*client_line)(struct mail_state *st, struct bytes line, struct dis_ctx *ctx);
    void (*server_line)(struct mail_state *st, struct bytes line, struct dis_ctx *ctx);
    /* The first SMTP_LINE_MAX bytes of an over-long line; NULL: parsed as a line. */
    void (*long_line)(struct mail_state *st, int dir, struct bytes start, struct dis_ctx *ctx);
    /* The end of an over-long line was skipped to (its last bytes are in d[dir].tail); may be NULL. */
    void (*long_line_end)(struct mail_state *st, int dir);
};
extern const struct mail_ops mail_smtp_ops;
extern const struct mail_ops mail_imap_ops;
extern const struct mail_ops mail_pop3_ops;

/* ---- small helpers (mail_common.c) ---- */

static inline bool mail_is_sp(int c) { return c == ' ' || c == '\t'; }
static inline struct bytes mail_no_bytes(void)
{
    struct bytes b = {NULL, 0};
    return b;
}
/* Copies b to dst (cap incl. NUL) as printable ASCII. */
static inline void mail_str_set(char *dst, size_t cap, struct bytes b) { bytes_to_cstr(b, dst, cap); }
/* Appends byte c to the NUL-terminated dst (cap incl. NUL) as printable ASCII. */
void mail_str_putc(char *dst, size_t cap, int c);
/* Appends " word" (no leading space when dst is empty) if all of it fits. */
void mail_str_add_word(char *dst, size_t cap, struct bytes w, bool upper);
/* Evidence bytes kept (at most MAIL_EVIDENCE_MAX; total counts all offered). */
void mail_kept_add(struct kept *k, struct bytes b);
void mail_kept_set(struct kept *k, struct bytes b);
struct bytes mail_kept_bytes(const struct kept *k);

/* ---- session record, command queue, capability lists (mail_common.c) ---- */

/* Emits the session record once (at the switch to TLS or at close). */
void mail_emit_record(struct mail_state *st, const struct dis_ctx *ctx);
/* Queues a command; tag: IMAP tag; word: the verb as seen (kept for V_MASKED). */
void mail_q_push(struct mail_state *st, uint8_t verb, bool flag, struct bytes tag, struct bytes word);
void mail_q_remove(struct mail_state *st, unsigned i);
/* A client command is about to be queued: count it, note pipelining. */
void mail_note_command(struct mail_state *st);
void mail_list_begin(struct mail_state *st);
/* One capability keyword (and the rest of its line/token as params) as seen. */
void mail_list_word(struct mail_state *st, struct bytes kw, struct bytes params, struct bytes line);
/* The list is complete (`ok`: it is a real list; false: the server has none, e.g. EHLO 502). */
void mail_list_end(struct mail_state *st, const struct dis_ctx *ctx, bool ok);
/* The reply to STARTTLS/STLS arrived (`ok`: accepted). */
void mail_upgrade_reply(struct mail_state *st, const struct dis_ctx *ctx, bool ok, uint16_t code, struct bytes line);
/* Direction dir enters a dot-terminated body (data: SMTP DATA, else a POP3 multi-line answer). */
void mail_start_body(struct mail_state *st, int dir, bool data);
/* Direction dir skips n counted bytes (BDAT chunk, IMAP literal); body: count them as message bytes. */
void mail_start_count(struct mail_state *st, int dir, uint64_t n, bool body);

/* ---- authentication: user names and SASL (mail_common.c) ---- */

void mail_pend_wipe(struct mail_state *st);
void mail_user_reset(struct mail_state *st);
void mail_user_putc(struct mail_state *st, int c);
void mail_user_pend_set(struct mail_state *st, struct bytes b);
void mail_user_commit(struct mail_state *st);
void mail_user_set(struct mail_state *st, struct bytes b);
/* The response or command did not have its mechanism's shape: no user name, a note instead. */
void mail_user_malformed(struct mail_state *st, const char *note);
/* An authentication attempt: mech names it (NULL: a SASL exchange named by mech_b). */
void mail_attempt(struct mail_state *st, const char *mech, struct bytes mech_b);
/* Starts an AUTH/AUTHENTICATE exchange: mechanism, optional initial response. */
void mail_sasl_start(struct mail_state *st, struct bytes mech, struct bytes ir, const struct dis_ctx *ctx);
/* One client SASL response (base64 line; the initial response too). */
void mail_sasl_response(struct mail_state *st, struct bytes line, const struct dis_ctx *ctx);
/* A server challenge (334 text or "+" continuation). */
void mail_sasl_challenge(struct mail_state *st, struct bytes text);

/* ---- the dissector callbacks shared by the three (mail_common.c) ---- */

void *mail_state_new(enum mail_proto proto);
void mail_state_free(void *st);
size_t mail_mem(const void *st);
enum dis_status mail_on_data(void *vst, int dir, struct bytes in, size_t *consumed, struct dis_ctx *ctx);
enum dis_status mail_on_gap(void *vst, int dir, uint64_t len, struct dis_ctx *ctx);
void mail_on_close(void *vst, struct dis_ctx *ctx);

/* ---- verdicts: facts to findings (mail_rules.c) ---- */

/* "SMTP", "IMAP", "POP3". */
const char *mail_proto_upper(const struct mail_state *st);
/* Each raises its verdict at most once per session (its MAIL_V_* bit in the record) when the
 * facts in st call for it, and emits the finding through ctx->sink. */
void mail_v_stripped(struct mail_state *st, const struct dis_ctx *ctx, const struct kept *line);
void mail_v_blocked(struct mail_state *st, const struct dis_ctx *ctx, const struct mail_cmd *c);
void mail_v_refused(struct mail_state *st, const struct dis_ctx *ctx);
/* after: the client's plaintext line (NULL: the connection closed). */
void mail_v_failed(struct mail_state *st, const struct dis_ctx *ctx, const struct bytes *after);
/* server: bytes the server sent after accepting (else the client's pipelined after STARTTLS). */
void mail_v_injection(struct mail_state *st, const struct dis_ctx *ctx, bool server);
/* cmd: the mail or login command sent in clear although STARTTLS was offered. */
void mail_v_not_used(struct mail_state *st, const struct dis_ctx *ctx, const char *cmd);
/* what: what the server accepted in clear without offering STARTTLS. */
void mail_v_not_offered(struct mail_state *st, const struct dis_ctx *ctx, const char *what);
/* crackable: a challenge response (CRAM-MD5, DIGEST-MD5, APOP), not the password itself. */
void mail_v_plaintext_auth(struct mail_state *st, const struct dis_ctx *ctx, bool crackable);

#endif
