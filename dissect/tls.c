/* tls.c — TLS/SSL dissector: record layer, handshake reassembly, hello/key-exchange/
 * certificate/alert parsers, fingerprints, and one session record per handshake.
 *
 * Follows:
 *   RFC 5246 §6.2 (record layer, TLSPlaintext/TLSCiphertext lengths), §7.4 (handshake
 *     messages: ClientHello §7.4.1.2, ServerHello §7.4.1.3, Certificate §7.4.2,
 *     ServerKeyExchange §7.4.3), §7.2 (alerts); RFC 6101 (SSL 3.0, same framing).
 *   RFC 8446 §4.1.2–§4.1.4 (ClientHello/ServerHello/HelloRetryRequest, the downgrade
 *     sentinel of §4.1.3), §4.2 (extensions), §5.1 (record layer), App. D.4 (middlebox
 *     compatibility ChangeCipherSpec), App. E.1 / RFC 6176 (SSLv2-compatible ClientHello).
 *   SSL 2.0 (draft-hickman-netscape-ssl-00 §2.4–2.6): CLIENT-HELLO, SERVER-HELLO,
 *     CLIENT-MASTER-KEY.
 *   RFC 6066 §3 (server_name), RFC 7301 §3.1 (ALPN), RFC 8422 §5.1 (supported_groups,
 *     ec_point_formats) and §5.4 (ECDHE ServerKeyExchange), RFC 5746 (renegotiation_info,
 *     SCSV 0x00FF), RFC 7507 (TLS_FALLBACK_SCSV), RFC 6520 (heartbeat), RFC 5077
 *     (session_ticket), RFC 7627 (extended_master_secret), RFC 7366 (encrypt_then_mac),
 *     RFC 8701 (GREASE), draft-ietf-tls-esni (encrypted_client_hello 0xfe0d).
 *   Pre-RFC TLS 1.3 (draft-ietf-tls-tls13-n, version 0x7f00 | n, and Facebook's 0xfb00 | n)
 *     is handled as TLS 1.3: the ServerHello of drafts <= 21 has no session_id and no
 *     compression_method (draft-21 §4.1.3), and key_share was extension 40 before draft 23.
 *
 * The pipeline hands in reassembled bytes per direction; both directions interleave in
 * packet order. Whole records are consumed; a partial record stays with the pipeline.
 * Handshake messages are reassembled per direction across records (bounded by TLS_HS_MAX; the
 * buffer grows with the bytes received, not with the announced length, and is freed once the
 * message is handled).
 * Once keys are in use in both directions the session record and findings are emitted
 * and the dissector returns DIS_DONE (clearing ctx->want[]): renegotiation happens inside
 * encryption and is invisible anyway. Exception: on a flow whose ServerHello negotiated
 * heartbeat (RFC 6520, TLS <= 1.2) the record headers after the handshake are still read for
 * TLS_HB_WATCH_RECORDS records (payloads skipped as they arrive, never buffered) so that
 * heartbeat records reach the Heartbleed rules; then DIS_DONE as for any flow. Heartbeat
 * records before the handshake ends (in clear) are judged on every flow.
 *
 * Deliberately ignored: anything encrypted (TLS 1.3 EncryptedExtensions, Certificate and
 * Finished; everything after ChangeCipherSpec in <= 1.2), DTLS, QUIC, heartbeat payloads
 * (only type, payload_length and the record length are looked at), SSLv2 ERROR messages,
 * the SSLv2 SERVER-HELLO certificate's contents and the client's certificates' contents
 * (counted only). The server's leaf certificate (and the
 * chain's last one, for self-issued) is decoded by x509.c. */
#include "dissect/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "dissect/ciphers.h"
#include "core/reader.h"

/* Record content types (RFC 8446 §5.1, RFC 6520). */
enum {
    CT_CCS = 20,
    CT_ALERT = 21,
    CT_HANDSHAKE = 22,
    CT_APPDATA = 23,
    CT_HEARTBEAT = 24
};

/* Handshake types (RFC 8446 §4, RFC 5246 §7.4). */
enum {
    HS_HELLO_REQUEST = 0,
    HS_CLIENT_HELLO = 1,
    HS_SERVER_HELLO = 2,
    HS_NEW_SESSION_TICKET = 4,
    HS_CERTIFICATE = 11,
    HS_SERVER_KEY_EXCHANGE = 12,
    HS_CERTIFICATE_REQUEST = 13,
    HS_SERVER_HELLO_DONE = 14,
    HS_CERTIFICATE_VERIFY = 15,
    HS_CLIENT_KEY_EXCHANGE = 16,
    HS_CERTIFICATE_STATUS = 22
};

/* Extension types used here (IANA TLS ExtensionType registry). */
enum {
    EXT_SERVER_NAME = 0,
    EXT_STATUS_REQUEST = 5,
    EXT_SUPPORTED_GROUPS = 10,
    EXT_EC_POINT_FORMATS = 11,
    EXT_SIGNATURE_ALGORITHMS = 13,
    EXT_HEARTBEAT = 15,
    EXT_ALPN = 16,
    EXT_ENCRYPT_THEN_MAC = 22,
    EXT_EXTENDED_MASTER_SECRET = 23,
    EXT_SESSION_TICKET = 35,
    EXT_KEY_SHARE_DRAFT = 40, /* key_share in TLS 1.3 drafts before 23 (IANA: reserved) */
    EXT_PRE_SHARED_KEY = 41,
    EXT_SUPPORTED_VERSIONS = 43,
    EXT_PSK_KEY_EXCHANGE_MODES = 45,
    EXT_KEY_SHARE = 51,
    EXT_ECH = 0xfe0d,
    EXT_RENEGOTIATION_INFO = 0xff01
};

/* SSL 2.0 message types. */
enum { V2_CLIENT_HELLO = 1, V2_CLIENT_MASTER_KEY = 2, V2_SERVER_HELLO = 4 };

#define SCSV_RENEGOTIATION 0x00ffu
#define SCSV_FALLBACK 0x5600u

/* SHA-256("HelloRetryRequest"): a ServerHello with this random is an HRR (RFC 8446 §4.1.3). */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
/* "DOWNGRD" — the first 7 bytes of both sentinels. */
static const uint8_t downgrd[7] = {0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44};

/* One direction's handshake-message reassembly. */
struct hs_asm {
    uint8_t hdr[4];        /* msg_type + uint24 length, as collected */
    size_t hdr_len;        /* 0..4 header bytes collected */
    uint32_t body_len;     /* from hdr once hdr_len == 4 */
    size_t body_have;      /* body bytes collected (or skipped) so far */
    bool skipping;         /* oversize/unbufferable: discard body_len bytes */
    uint8_t *body;         /* heap, grows with the bytes received up to body_len <= TLS_HS_MAX;
                              freed when the message is handled */
    size_t body_cap;       /* allocated bytes of body */
};

struct dir_state {
    struct hs_asm hs;
    bool started;          /* a first record was seen */
    bool v2;               /* SSL 2.0 record framing in this direction */
    bool ccs;              /* <= 1.2 ChangeCipherSpec seen: later records are encrypted */
    bool done;             /* keys in use in this direction: handshake over */
    uint32_t hb_skip;      /* heartbeat watch: bytes of the current record still to skip */
};

struct tls_state {
    int policy;                      /* dis_cfg.policy */
    char started_by[32];             /* dis_cfg.started_by or "tls" */
    struct dir_state d[2];
    struct tls_session_rec rec;      /* the handshake being observed */
    struct fp_hello ch;              /* first ClientHello's facts (fingerprints) */
    struct fp_hello scratch;         /* a ClientHello after HelloRetryRequest */
    uint8_t ch_sid[32];              /* ClientHello.legacy_session_id */
    size_t ch_sid_len;               /* 0..32 */
    bool sh_final;                   /* a real ServerHello (not an HRR) was parsed */
    bool v2_server_hit;              /* SSLv2 SERVER-HELLO with SESSION-ID-HIT */
    bool active;                     /* something worth a record was parsed */
    bool emitted;                    /* the record for this handshake went out */
    bool finished;                   /* DIS_DONE returned */
    bool labelled;                   /* sink->label called */
    struct tls_hb_state hb;          /* heartbeats of this flow (never reset: per flow) */
    uint64_t ts;                     /* packet time of the current call */
    struct dis_ctx *ctx;             /* the current call's context (valid during a callback) */
    const struct trust_store *trust; /* dis_cfg.trust */
    struct trust_cache *tcache;      /* dis_cfg.tcache */
    char expect_host[TLS_SNI_MAX + 1];   /* dis_cfg.expect_host */
    char expect_source[12];          /* dis_cfg.expect_host_source */
};

/* ------------------------------------------------------------------------------------ */
/* Names and small text helpers                                                          */

const char *tls_version_name(uint16_t v)
{
    switch (v) {
    case 0x0002: return "SSLv2";
    case 0x0300: return "SSLv3";
    case 0x0301: return "TLSv1.0";
    case 0x0302: return "TLSv1.1";
    case 0x0303: return "TLSv1.2";
    case 0x0304: return "TLSv1.3";
    default: return NULL;
    }
}

struct group_name {
    uint16_t code;
    const char *name;
};

/* IANA TLS Supported Groups registry (sorted by code). */
static const struct group_name group_names[] = {
    {1, "sect163k1"}, {2, "sect163r1"}, {3, "sect163r2"}, {4, "sect193r1"}, {5, "sect193r2"},
    {6, "sect233k1"}, {7, "sect233r1"}, {8, "sect239k1"}, {9, "sect283k1"}, {10, "sect283r1"},
    {11, "sect409k1"}, {12, "sect409r1"}, {13, "sect571k1"}, {14, "sect571r1"},
    {15, "secp160k1"}, {16, "secp160r1"}, {17, "secp160r2"}, {18, "secp192k1"},
    {19, "secp192r1"}, {20, "secp224k1"}, {21, "secp224r1"}, {22, "secp256k1"},
    {23, "secp256r1"}, {24, "secp384r1"}, {25, "secp521r1"}, {26, "brainpoolP256r1"},
    {27, "brainpoolP384r1"}, {28, "brainpoolP512r1"}, {29, "x25519"}, {30, "x448"},
    {31, "brainpoolP256r1tls13"}, {32, "brainpoolP384r1tls13"}, {33, "brainpoolP512r1tls13"},
    {34, "GC256A"}, {35, "GC256B"}, {36, "GC256C"}, {37, "GC256D"}, {38, "GC512A"},
    {39, "GC512B"}, {40, "GC512C"}, {41, "curveSM2"}, {256, "ffdhe2048"}, {257, "ffdhe3072"},
    {258, "ffdhe4096"}, {259, "ffdhe6144"}, {260, "ffdhe8192"}, {512, "MLKEM512"},
    {513, "MLKEM768"}, {514, "MLKEM1024"}, {4587, "SecP256r1MLKEM768"},
    {4588, "X25519MLKEM768"}, {4589, "SecP384r1MLKEM1024"}, {25497, "X25519Kyber768Draft00"},
    {25498, "SecP256r1Kyber768Draft00"}, {65281, "arbitrary_explicit_prime_curves"},
    {65282, "arbitrary_explicit_char2_curves"}};

const char *tls_group_name(uint16_t g)
{
    size_t lo = 0, hi = sizeof group_names / sizeof group_names[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (group_names[mid].code == g)
            return group_names[mid].name;
        if (group_names[mid].code < g)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* TLS 1.3 and its pre-RFC code points: the IETF drafts 0x7f00 | n (draft-ietf-tls-tls13-n)
 * and Facebook's experimental 0xfb00 | n (Fizz, based on draft 23/26). All share the 1.3
 * handshake: everything after the ServerHello is encrypted, the session id is an echo, and
 * resumption is by pre_shared_key. */
static bool tls13_family(uint16_t v)
{
    return v == 0x0304 || (v & 0xff00) == 0x7f00 || (v & 0xff00) == 0xfb00;
}

static void group_text(uint16_t g, char *dst, size_t cap)
{
    const char *n = tls_group_name(g);
    if (n)
        snprintf(dst, cap, "%s", n);
    else
        snprintf(dst, cap, "0x%04x", (unsigned)g);
}

static void version_text(uint16_t v, char *dst, size_t cap)
{
    const char *n = tls_version_name(v);
    if (n)
        snprintf(dst, cap, "%s", n);
    else
        snprintf(dst, cap, "0x%04x", (unsigned)v);
}

/* Appends item to a comma-separated list in buf. When an item does not fit, "..." is
 * appended once and the list is closed. */
static void text_add(char *buf, size_t cap, const char *item)
{
    size_t len = strlen(buf), n = strlen(item);
    if ((len == 3 && strcmp(buf, "...") == 0) || (len >= 4 && strcmp(buf + len - 4, ",...") == 0))
        return;
    size_t sep = len ? 1 : 0;
    if (len + sep + n + 4 < cap) { /* keep room for a later ",..." */
        if (sep)
            buf[len++] = ',';
        memcpy(buf + len, item, n + 1);
    } else if (len + sep + 3 < cap) {
        memcpy(buf + len, sep ? ",..." : "...", sep + 4);
    }
}

static void text_add_uint(char *buf, size_t cap, unsigned long v)
{
    char t[24];
    snprintf(t, sizeof t, "%lu", v);
    text_add(buf, cap, t);
}

/* Printable copy of wire bytes for a list item (',' would split the list). */
static void item_text(struct bytes b, char *dst, size_t cap)
{
    bytes_to_cstr(b, dst, cap);
    for (char *p = dst; *p; p++)
        if (*p == ',')
            *p = '?';
}

/* ------------------------------------------------------------------------------------ */
/* Session lifecycle                                                                      */

static void session_reset(struct tls_state *st)
{
    memset(&st->rec, 0, sizeof st->rec);
    memset(&st->ch, 0, sizeof st->ch);
    snprintf(st->rec.started_by, sizeof st->rec.started_by, "%s", st->started_by);
    st->ch_sid_len = 0;
    st->sh_final = false;
    st->v2_server_hit = false;
    st->active = false;
    st->emitted = false;
}

static void sink_finding(void *ud, const struct finding *f)
{
    const struct dis_ctx *ctx = ud;
    if (ctx->sink && ctx->sink->finding)
        ctx->sink->finding(ctx->sink->ud, f);
}

const char *tls_level_name(int level)
{
    switch (level) {
    case TLS_LEVEL_NONE: return "none";
    case TLS_LEVEL_ENCRYPT: return "encrypt";
    case TLS_LEVEL_UNTRUSTED: return "untrusted";
    case TLS_LEVEL_TRUSTED: return "trusted";
    case TLS_LEVEL_VERIFIED: return "verified";
    default: return NULL;
    }
}

/* posttls-finger's word for the session (tls.h enum tls_level). */
static uint8_t session_level(const struct tls_session_rec *r)
{
    if (!r->server_hello_seen)
        return TLS_LEVEL_UNSET;
    if (r->chain_n == 0 || r->trust.status == TRUST_UNCHECKED)
        return TLS_LEVEL_ENCRYPT;
    if (r->trust.status == TRUST_UNTRUSTED)
        return TLS_LEVEL_UNTRUSTED;
    return r->leaf.host_checked && r->leaf.host_match ? TLS_LEVEL_VERIFIED : TLS_LEVEL_TRUSTED;
}

/* Emits the record and its findings once per handshake. */
static void emit_session(struct tls_state *st, struct dis_ctx *ctx)
{
    if (st->emitted || !st->active)
        return;
    st->emitted = true;
    st->rec.flow_id = ctx->flow_id;
    st->rec.handshake_complete = st->d[0].done && st->d[1].done;
    st->rec.fp_partial = st->rec.fp_partial || st->ch.partial;
    st->rec.level = session_level(&st->rec);
    tls_rules_eval(&st->rec, st->policy, ctx->srv_ip, ctx->srv_port, sink_finding, ctx);
    if (ctx->sink && ctx->sink->tls_session)
        ctx->sink->tls_session(ctx->sink->ud, &st->rec);
}

static void mark_active(struct tls_state *st)
{
    if (!st->active) {
        st->active = true;
        st->rec.ts_usec = st->ts;
    }
}

static void label(struct tls_state *st, struct dis_ctx *ctx)
{
    if (st->labelled)
        return;
    st->labelled = true;
    if (ctx->sink && ctx->sink->label)
        ctx->sink->label(ctx->sink->ud, "TLS");
}

static void free_buffers(struct tls_state *st)
{
    for (int i = 0; i < 2; i++) {
        free(st->d[i].hs.body);
        st->d[i].hs.body = NULL;
        st->d[i].hs.body_cap = 0;
    }
}

/* ------------------------------------------------------------------------------------ */
/* ClientHello                                                                            */

static void ch_cipher(struct tls_state *st, struct fp_hello *fp, bool first, uint32_t c)
{
    struct tls_session_rec *r = &st->rec;
    if (fp->n_ciphers < FP_CIPHERS_MAX)
        fp->ciphers[fp->n_ciphers++] = c;
    else if (first)
        fp->partial = true;
    else
        r->fp_partial = true;
    if (c == SCSV_FALLBACK)
        r->fallback_scsv = true;
    if (c == SCSV_RENEGOTIATION)
        r->reneg_scsv = true;
    if (!fp_is_grease(c) && r->n_ciphers_offered < FP_CIPHERS_MAX)
        r->ciphers_offered[r->n_ciphers_offered++] = c;
}

/* Fills client_versions / client_max_version from what was parsed. */
static void ch_versions(struct tls_session_rec *r, const struct fp_hello *fp)
{
    char t[16];
    r->client_versions[0] = '\0';
    r->client_max_version = r->client_version;
    if (fp->has_versions && r->n_versions_offered > 0) {
        r->client_max_version = 0;
        for (size_t i = 0; i < r->n_versions_offered; i++) {
            version_text(r->versions_offered[i], t, sizeof t);
            text_add(r->client_versions, sizeof r->client_versions, t);
            if (r->versions_offered[i] > r->client_max_version)
                r->client_max_version = r->versions_offered[i];
        }
    } else {
        version_text(r->client_version, t, sizeof t);
        text_add(r->client_versions, sizeof r->client_versions, t);
    }
}

static void ch_fingerprints(struct tls_state *st)
{
    struct tls_session_rec *r = &st->rec;
    fp_ja3(&st->ch, r->ja3_str, sizeof r->ja3_str, r->ja3);
    fp_ja4(&st->ch, 't', r->ja4, r->ja4_r, sizeof r->ja4_r);
}

/* Parses one ClientHello extension's body. Returns false if its contents overran. */
static bool ch_extension(struct tls_state *st, struct fp_hello *fp, uint16_t type, struct rd *e,
                         uint32_t *seen)
{
    struct tls_session_rec *r = &st->rec;
    char t[TLS_ALPN_MAX + 1];
    switch (type) {
    case EXT_SERVER_NAME: {
        fp->has_sni = true;
        struct rd list = rd_vec16(e);
        while (rd_ok(&list) && !rd_eof(&list)) {
            uint8_t nt = rd_u8(&list);
            struct rd name = rd_vec16(&list);
            if (rd_ok(&list) && nt == 0 && r->sni[0] == '\0')
                bytes_to_cstr(rd_rest(&name), r->sni, sizeof r->sni);
        }
        return rd_ok(&list);
    }
    case EXT_ALPN: {
        struct rd list = rd_vec16(e);
        bool any = false;
        while (rd_ok(&list) && !rd_eof(&list)) {
            struct rd n = rd_vec8(&list);
            if (!rd_ok(&list))
                break;
            struct bytes name = rd_rest(&n);
            if (!any) {
                fp->has_alpn = true;
                fp->alpn_first_len = name.len;
                struct rd c = rd_from(name);
                rd_copy(&c, fp->alpn_first, name.len);
                any = true;
            }
            item_text(name, t, sizeof t);
            text_add(r->alpn_offered, sizeof r->alpn_offered, t);
        }
        return rd_ok(&list);
    }
    case EXT_SUPPORTED_GROUPS: {
        if (*seen & 1u)
            return true;
        *seen |= 1u;
        struct rd list = rd_vec16(e);
        while (rd_ok(&list) && rd_left(&list) >= 2) {
            uint16_t g = rd_be16(&list);
            if (fp->n_groups < FP_GROUPS_MAX)
                fp->groups[fp->n_groups++] = g;
            else
                fp->partial = true;
            if (!fp_is_grease(g)) {
                group_text(g, t, sizeof t);
                text_add(r->groups_offered, sizeof r->groups_offered, t);
            }
        }
        return rd_ok(&list) && rd_eof(&list);
    }
    case EXT_EC_POINT_FORMATS: {
        if (*seen & 2u)
            return true;
        *seen |= 2u;
        struct rd list = rd_vec8(e);
        while (rd_ok(&list) && !rd_eof(&list)) {
            uint8_t f = rd_u8(&list);
            if (fp->n_point_formats < FP_POINT_FORMATS_MAX)
                fp->point_formats[fp->n_point_formats++] = f;
            else
                fp->partial = true;
        }
        return rd_ok(&list);
    }
    case EXT_SIGNATURE_ALGORITHMS: {
        if (*seen & 4u)
            return true;
        *seen |= 4u;
        struct rd list = rd_vec16(e);
        while (rd_ok(&list) && rd_left(&list) >= 2) {
            uint16_t s = rd_be16(&list);
            if (fp->n_sigalgs < FP_SIGALGS_MAX)
                fp->sigalgs[fp->n_sigalgs++] = s;
            else
                fp->partial = true;
        }
        return rd_ok(&list) && rd_eof(&list);
    }
    case EXT_SUPPORTED_VERSIONS: {
        if (*seen & 8u)
            return true;
        *seen |= 8u;
        fp->has_versions = true;
        struct rd list = rd_vec8(e);
        while (rd_ok(&list) && rd_left(&list) >= 2) {
            uint16_t v = rd_be16(&list);
            if (fp->n_versions < FP_VERSIONS_MAX)
                fp->versions[fp->n_versions++] = v;
            else
                fp->partial = true;
            if (!fp_is_grease(v) && r->n_versions_offered < FP_VERSIONS_MAX)
                r->versions_offered[r->n_versions_offered++] = v;
        }
        return rd_ok(&list) && rd_eof(&list);
    }
    case EXT_KEY_SHARE:
    case EXT_KEY_SHARE_DRAFT: {
        struct rd list = rd_vec16(e);
        while (rd_ok(&list) && !rd_eof(&list)) {
            uint16_t g = rd_be16(&list);
            rd_vec16(&list);
            if (!rd_ok(&list))
                break;
            if (!fp_is_grease(g)) {
                group_text(g, t, sizeof t);
                text_add(r->key_share_groups, sizeof r->key_share_groups, t);
            }
        }
        return rd_ok(&list);
    }
    case EXT_PSK_KEY_EXCHANGE_MODES: {
        struct rd list = rd_vec8(e);
        while (rd_ok(&list) && !rd_eof(&list)) {
            uint8_t m = rd_u8(&list);
            if (m <= 1)
                r->psk_modes |= (uint8_t)(1u << m);
        }
        return rd_ok(&list);
    }
    case EXT_RENEGOTIATION_INFO: r->client_ri = true; return true;
    case EXT_SESSION_TICKET:
        r->client_ticket = true;
        r->client_ticket_data = rd_left(e) > 0;
        return true;
    case EXT_HEARTBEAT: r->client_heartbeat = true; return true;
    case EXT_PRE_SHARED_KEY: r->client_psk = true; return true;
    case EXT_EXTENDED_MASTER_SECRET: r->client_ems = true; return true;
    case EXT_ENCRYPT_THEN_MAC: r->client_etm = true; return true;
    case EXT_STATUS_REQUEST: r->client_status_request = true; return true;
    case EXT_ECH: r->client_ech = true; return true;
    default: return true;
    }
}

/* Clears the offer fields before a ClientHello is parsed into the record. */
static void ch_clear_offer(struct tls_session_rec *r)
{
    r->n_versions_offered = 0;
    r->n_ciphers_offered = 0;
    r->n_comp_offered = 0;
    r->sni[0] = r->alpn_offered[0] = r->groups_offered[0] = '\0';
    r->key_share_groups[0] = r->client_exts[0] = '\0';
    r->fallback_scsv = r->reneg_scsv = r->client_ri = r->client_heartbeat = false;
    r->client_ech = r->client_session_id = r->client_ticket = r->client_ticket_data = false;
    r->client_psk = r->client_ems = r->client_etm = r->client_status_request = false;
    r->psk_modes = 0;
}

static void parse_client_hello(struct tls_state *st, struct bytes body)
{
    struct tls_session_rec *r = &st->rec;
    bool first = true;
    if (r->client_hello_seen) {
        if (r->hrr && !st->sh_final) {
            first = false; /* the second ClientHello of RFC 8446 §4.1.4 */
        } else {
            /* A new handshake in clear on the same stream: close the previous record. */
            emit_session(st, st->ctx);
            session_reset(st);
        }
    }
    struct fp_hello *fp = first ? &st->ch : &st->scratch;
    memset(fp, 0, sizeof *fp);
    ch_clear_offer(r);
    mark_active(st);
    r->client_hello_seen = true;
    r->sslv2_client_hello = false;
    st->rec.ch_malformed = false;

    struct rd m = rd_from(body);
    uint16_t legacy = rd_be16(&m);
    rd_skip(&m, 32); /* random */
    struct rd sid = rd_vec8(&m);
    struct rd suites = rd_vec16(&m);
    struct rd comp = rd_vec8(&m);
    bool ok = rd_ok(&m) && rd_left(&sid) <= 32 && rd_left(&suites) % 2 == 0;
    if (rd_ok(&m)) {
        r->client_version = legacy;
        fp->legacy_version = legacy;
        st->ch_sid_len = rd_left(&sid) <= 32 ? rd_left(&sid) : 0;
        rd_copy(&sid, st->ch_sid, st->ch_sid_len);
        r->client_session_id = st->ch_sid_len > 0;
        while (rd_left(&suites) >= 2)
            ch_cipher(st, fp, first, rd_be16(&suites));
        while (!rd_eof(&comp)) {
            uint8_t c = rd_u8(&comp);
            if (r->n_comp_offered < TLS_COMP_MAX)
                r->comp_offered[r->n_comp_offered++] = c;
        }
    }
    /* Extensions are optional (RFC 5246 §7.4.1.2: absent when nothing follows). */
    if (rd_ok(&m) && !rd_eof(&m)) {
        struct rd exts = rd_vec16(&m);
        uint32_t seen = 0;
        ok = ok && rd_ok(&m) && rd_eof(&m);
        while (rd_ok(&exts) && !rd_eof(&exts)) {
            uint16_t type = rd_be16(&exts);
            struct rd e = rd_vec16(&exts);
            if (!rd_ok(&exts)) {
                ok = false;
                break;
            }
            if (fp->n_exts < FP_EXTS_MAX)
                fp->exts[fp->n_exts++] = type;
            else
                fp->partial = true;
            text_add_uint(r->client_exts, sizeof r->client_exts, type);
            if (!ch_extension(st, fp, type, &e, &seen))
                ok = false;
        }
    } else if (!rd_ok(&m)) {
        ok = false;
    }
    if (!ok) {
        r->hs_malformed++;
        st->rec.ch_malformed = true;
    }
    if (!first && fp->partial)
        r->fp_partial = true;
    ch_versions(r, fp);
    if (first)
        ch_fingerprints(st);
}

/* ------------------------------------------------------------------------------------ */
/* ServerHello / HelloRetryRequest                                                        */

static void set_cipher(struct tls_session_rec *r, uint32_t code, bool v2)
{
    const struct cipher_info *ci = v2 ? cipher_lookup_v2(code) : cipher_lookup((uint16_t)code);
    r->cipher_set = true;
    r->cipher_code = code;
    if (ci && ci->name)
        snprintf(r->cipher, sizeof r->cipher, "%s", ci->name);
    else
        snprintf(r->cipher, sizeof r->cipher, v2 ? "unknown_0x%06lx" : "unknown_0x%04lx",
                 (unsigned long)code);
}

/* The text names the protocol; a 1.3 draft or experimental code point is named "TLSv1.3"
 * (the record's 8-byte version field has no room for "TLSv1.3-draft23") and version_code
 * keeps the exact value. */
static void set_version(struct tls_session_rec *r, uint16_t v)
{
    const char *n = tls_version_name(v);
    if (!n && tls13_family(v))
        n = "TLSv1.3";
    r->version_code = v;
    snprintf(r->version, sizeof r->version, "%s", n ? n : "");
}

static void set_group(struct tls_session_rec *r, uint16_t g)
{
    r->group = g;
    group_text(g, r->group_name, sizeof r->group_name);
}

static void parse_server_hello(struct tls_state *st, struct bytes body)
{
    struct tls_session_rec *r = &st->rec;
    struct rd m = rd_from(body);
    uint16_t legacy = rd_be16(&m);
    uint8_t random[32];
    bool have_random = rd_copy(&m, random, sizeof random);
    /* TLS 1.3 drafts up to 21 put their version (0x7f00 | n) here and had neither
     * session_id nor compression_method (draft-ietf-tls-tls13-21 §4.1.3); draft 22 restored
     * both as legacy fields and moved the version into supported_versions. */
    bool old_draft = (legacy & 0xff00) == 0x7f00;
    struct rd sid = rd_init(NULL, 0);
    if (!old_draft)
        sid = rd_vec8(&m);
    uint16_t cipher = rd_be16(&m);
    uint8_t comp = old_draft ? 0 : rd_u8(&m);
    if (!rd_ok(&m) || !have_random || rd_left(&sid) > 32) {
        r->hs_malformed++;
        return;
    }
    bool hrr = memcmp(random, hrr_random, sizeof random) == 0;
    if (st->sh_final) {
        /* A second ServerHello in clear is not part of any valid handshake. */
        r->hs_unexpected++;
        return;
    }
    mark_active(st);
    uint16_t exts_codes[FP_EXTS_MAX];
    size_t n_exts = 0;
    uint16_t selected_version = 0;
    bool ok = true;
    if (!hrr) {
        r->server_exts[0] = '\0';
        r->server_ri = r->server_heartbeat = r->server_ticket_ext = false;
        r->server_ems = r->server_etm = r->server_psk = r->server_key_share = false;
    }
    if (!rd_eof(&m)) {
        struct rd exts = rd_vec16(&m);
        ok = rd_ok(&m) && rd_eof(&m);
        while (rd_ok(&exts) && !rd_eof(&exts)) {
            uint16_t type = rd_be16(&exts);
            struct rd e = rd_vec16(&exts);
            if (!rd_ok(&exts)) {
                ok = false;
                break;
            }
            if (n_exts < FP_EXTS_MAX)
                exts_codes[n_exts++] = type;
            if (!hrr)
                text_add_uint(r->server_exts, sizeof r->server_exts, type);
            switch (type) {
            case EXT_SUPPORTED_VERSIONS:
                selected_version = rd_be16(&e);
                break;
            case EXT_KEY_SHARE: /* HRR: selected_group only; ServerHello: a KeyShareEntry */
            case EXT_KEY_SHARE_DRAFT:
                set_group(r, rd_be16(&e));
                if (!hrr)
                    r->server_key_share = true;
                break;
            case EXT_RENEGOTIATION_INFO: if (!hrr) r->server_ri = true; break;
            case EXT_HEARTBEAT: if (!hrr) r->server_heartbeat = true; break;
            case EXT_SESSION_TICKET: if (!hrr) r->server_ticket_ext = true; break;
            case EXT_EXTENDED_MASTER_SECRET: if (!hrr) r->server_ems = true; break;
            case EXT_ENCRYPT_THEN_MAC: if (!hrr) r->server_etm = true; break;
            case EXT_PRE_SHARED_KEY: if (!hrr) r->server_psk = true; break;
            case EXT_ALPN: {
                struct rd list = rd_vec16(&e);
                struct rd name = rd_vec8(&list);
                if (rd_ok(&list) && !hrr)
                    bytes_to_cstr(rd_rest(&name), r->alpn_chosen, sizeof r->alpn_chosen);
                else if (!rd_ok(&list))
                    ok = false;
                break;
            }
            default: break;
            }
            if (!rd_ok(&e))
                ok = false;
        }
    }
    if (!ok)
        r->hs_malformed++;

    uint16_t version = selected_version ? selected_version : legacy;
    set_version(r, version);
    set_cipher(r, cipher, false);
    if (hrr) {
        r->hrr = true;
        return;
    }
    st->sh_final = true;
    r->server_hello_seen = true;
    r->ts_server_usec = st->ts;
    r->server_legacy_version = legacy;
    r->compression_set = !old_draft;
    r->compression = comp;
    size_t sid_len = rd_left(&sid);
    r->server_session_id = sid_len > 0;
    uint8_t sid_bytes[32];
    if (sid_len > 0 && rd_copy(&sid, sid_bytes, sid_len) && sid_len == st->ch_sid_len &&
        memcmp(sid_bytes, st->ch_sid, sid_len) == 0 && !tls13_family(version))
        r->resumed = true; /* RFC 5246 §7.4.1.3: an echoed session id resumes (not in 1.3) */
    if (tls13_family(version) && r->server_psk)
        r->resumed = true;
    if (memcmp(random + 24, downgrd, sizeof downgrd) == 0) {
        if (random[31] == 0x01)
            r->sentinel = TLS_SENTINEL_TLS12;
        else if (random[31] == 0x00)
            r->sentinel = TLS_SENTINEL_TLS11;
    }
    fp_ja3s(legacy, cipher, exts_codes, n_exts, r->ja3s_str, sizeof r->ja3s_str, r->ja3s);
}

/* ------------------------------------------------------------------------------------ */
/* Certificate, ServerKeyExchange                                                         */

/* The name the leaf is judged against: the SNI, else the name the server gave before a
 * STARTTLS (its greeting), else none. */
static const char *expected_name(struct tls_state *st)
{
    struct tls_session_rec *r = &st->rec;
    if (r->sni[0]) {
        snprintf(r->name_checked, sizeof r->name_checked, "%s", r->sni);
        snprintf(r->name_source, sizeof r->name_source, "sni");
    } else if (st->expect_host[0]) {
        snprintf(r->name_checked, sizeof r->name_checked, "%s", st->expect_host);
        snprintf(r->name_source, sizeof r->name_source, "%s", st->expect_source);
    } else {
        r->name_checked[0] = r->name_source[0] = '\0';
    }
    return r->name_checked;
}

/* The server's chain ders[0..n-1] (the first TRUST_CHAIN_MAX; r->chain_sha256 filled):
 * hashed as a whole, handed to the sink (the writer stores each certificate once) and judged
 * against the trust store at packet time. */
static void judge_chain(struct tls_state *st, const struct bytes *ders)
{
    struct tls_session_rec *r = &st->rec;
    if (r->chain_n == 0)
        return;
    trust_chain_hash((const uint8_t (*)[32])r->chain_sha256, r->chain_n, r->chain_hash);
    const struct dis_ctx *ctx = st->ctx;
    if (ctx && ctx->sink && ctx->sink->certificate)
        for (unsigned k = 0; k < r->chain_n; k++)
            ctx->sink->certificate(ctx->sink->ud, r->chain_sha256[k], ders[k], k, st->ts);
    trust_verify(st->trust, st->tcache, ders, r->chain_n, r->chain_hash, (int64_t)(st->ts / 1000000u), &r->trust);
}

static void parse_certificate(struct tls_state *st, int dir, struct bytes body)
{
    struct tls_session_rec *r = &st->rec;
    if (tls13_family(r->version_code)) /* TLS 1.3 Certificate is never in clear */
        return;
    struct rd m = rd_from(body);
    struct rd list = rd_vec24(&m);
    uint32_t n = 0;
    struct bytes last = {NULL, 0};
    struct bytes ders[TRUST_CHAIN_MAX];
    if (dir == 1) {
        r->cert_sizes[0] = '\0';
        r->leaf_parsed = false;
        r->chain_last_self_issued = false;
        r->chain_n = 0;
        r->leaf_spki_set = false;
        memset(&r->leaf, 0, sizeof r->leaf);
        memset(&r->trust, 0, sizeof r->trust);
    }
    while (rd_ok(&list) && !rd_eof(&list)) {
        struct rd cert = rd_vec24(&list);
        if (!rd_ok(&list))
            break;
        n++;
        if (dir == 1) {
            text_add_uint(r->cert_sizes, sizeof r->cert_sizes, rd_left(&cert));
            last = rd_rest(&cert);
            if (n == 1) /* the leaf (RFC 5246 §7.4.2: sender's certificate first) */
                r->leaf_parsed = x509_parse_host(last, st->ts, expected_name(st), &r->leaf) == 0;
            if (n <= TRUST_CHAIN_MAX && last.len > 0 && last.len <= X509_DER_MAX) {
                unsigned k = r->chain_n++;
                ders[k] = last;
                if (n == 1)
                    r->leaf_spki_set = trust_spki_sha256(last, r->leaf_spki);
                if (n == 1 && r->leaf.sha256_hex[0])
                    memcpy(r->chain_sha256[k], r->leaf.sha256, 32);
                else
                    wc_Sha256Hash(last.p, (word32)last.len, r->chain_sha256[k]);
            }
        }
    }
    if (!rd_ok(&m) || !rd_ok(&list) || !rd_eof(&m))
        r->hs_malformed++;
    if (dir == 1) {
        r->cert_count = n;
        if (n == 1) {
            r->chain_last_self_issued = r->leaf_parsed && r->leaf.self_issued;
        } else if (n > 1) {
            struct cert_info ci; /* one more wolfSSL parse, once per handshake */
            r->chain_last_self_issued = x509_parse(last, st->ts, &ci) == 0 && ci.self_issued;
        }
        judge_chain(st, ders);
    } else {
        r->client_cert_count = n;
    }
}

/* Bit length of a big-endian unsigned integer (leading zero bytes ignored). */
static uint16_t int_bits(struct rd v)
{
    while (rd_left(&v) > 0 && rd_peek(&v, 0) == 0)
        rd_skip(&v, 1);
    size_t n = rd_left(&v);
    if (n == 0)
        return 0;
    int top = rd_peek(&v, 0);
    unsigned b = 0;
    while (top > 0) {
        b++;
        top >>= 1;
    }
    size_t bits = (n - 1) * 8 + b;
    return bits > 65535 ? 65535 : (uint16_t)bits;
}

static void parse_server_key_exchange(struct tls_state *st, struct bytes body)
{
    struct tls_session_rec *r = &st->rec;
    if (!r->cipher_set)
        return;
    const struct cipher_info *ci = cipher_lookup((uint16_t)r->cipher_code);
    if (!ci)
        return; /* cannot know the layout of an unknown key exchange */
    struct rd m = rd_from(body);
    switch (ci->kx) {
    case CKX_DHE_PSK:
    case CKX_ECDHE_PSK:
        rd_vec16(&m); /* psk_identity_hint (RFC 4279 §3, RFC 5489 §2) */
        break;
    default: break;
    }
    switch (ci->kx) {
    case CKX_DH: /* DH_anon: ServerDHParams in ServerKeyExchange */
    case CKX_DHE:
    case CKX_DHE_PSK: {
        struct rd p = rd_vec16(&m);
        rd_vec16(&m); /* g */
        rd_vec16(&m); /* Ys */
        if (rd_ok(&m))
            r->dhe_bits = int_bits(p);
        break;
    }
    case CKX_ECDH: /* ECDH_anon */
    case CKX_ECDHE:
    case CKX_ECDHE_PSK: {
        uint8_t curve_type = rd_u8(&m);
        if (curve_type == 3) /* named_curve */
            set_group(r, rd_be16(&m));
        break;
    }
    case CKX_RSA_EXPORT:
    case CKX_RSA: { /* RFC 2246 §7.4.3: temporary RSA key for export */
        struct rd mod = rd_vec16(&m);
        rd_vec16(&m); /* exponent */
        if (rd_ok(&m))
            r->rsa_export_bits = int_bits(mod);
        break;
    }
    default: break;
    }
    if (!rd_ok(&m))
        r->hs_malformed++;
}

/* ------------------------------------------------------------------------------------ */
/* Handshake dispatch and reassembly                                                      */

static void handle_hs(struct tls_state *st, int dir, uint8_t type, struct bytes body)
{
    struct tls_session_rec *r = &st->rec;
    bool client_msg = type == HS_CLIENT_HELLO || type == HS_CLIENT_KEY_EXCHANGE ||
                      type == HS_CERTIFICATE_VERIFY;
    bool server_msg = type == HS_SERVER_HELLO || type == HS_SERVER_KEY_EXCHANGE ||
                      type == HS_CERTIFICATE_REQUEST || type == HS_SERVER_HELLO_DONE ||
                      type == HS_NEW_SESSION_TICKET || type == HS_HELLO_REQUEST ||
                      type == HS_CERTIFICATE_STATUS;
    if ((dir == 0 && server_msg) || (dir == 1 && client_msg)) {
        r->hs_unexpected++;
        return;
    }
    switch (type) {
    case HS_CLIENT_HELLO: parse_client_hello(st, body); break;
    case HS_SERVER_HELLO: parse_server_hello(st, body); break;
    case HS_CERTIFICATE: parse_certificate(st, dir, body); break;
    case HS_SERVER_KEY_EXCHANGE: parse_server_key_exchange(st, body); break;
    case HS_NEW_SESSION_TICKET: r->new_session_ticket = true; break;
    default: break;
    }
    /* after parse_client_hello, which may have started a fresh record */
    if (type < 64)
        st->rec.hs_types[dir] |= (uint64_t)1 << type;
}

/* Room for `need` body bytes (need <= body_len <= TLS_HS_MAX). The buffer grows with the
 * bytes that actually arrived, doubling from 1 KiB but never past the message's announced
 * length: a header announcing 64 KiB followed by a few bytes costs a few bytes, not 64 KiB. */
static bool hs_reserve(struct hs_asm *a, size_t need)
{
    if (need <= a->body_cap)
        return true;
    size_t cap = a->body_cap ? a->body_cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > a->body_len)
        cap = a->body_len;
    uint8_t *p = realloc(a->body, cap);
    if (!p)
        return false;
    a->body = p;
    a->body_cap = cap;
    return true;
}

static void hs_reset(struct hs_asm *a)
{
    a->hdr_len = 0;
    a->body_len = 0;
    a->body_have = 0;
    a->skipping = false;
}

/* A reassembled message was handled: its buffer goes back (messages split across records are
 * few per handshake; a flow waiting for the next flight holds nothing). */
static void hs_release(struct hs_asm *a)
{
    free(a->body);
    a->body = NULL;
    a->body_cap = 0;
}

/* Feeds one handshake record's fragment to the direction's reassembly. */
static void hs_feed(struct tls_state *st, int dir, struct bytes frag)
{
    struct hs_asm *a = &st->d[dir].hs;
    struct rd r = rd_from(frag);
    while (!rd_eof(&r)) {
        if (a->hdr_len == 4) {
            size_t want = a->body_len - a->body_have;
            size_t n = rd_left(&r) < want ? rd_left(&r) : want;
            if (!a->skipping && !hs_reserve(a, a->body_have + n)) {
                st->rec.hs_oversize++; /* unbufferable (out of memory): skipped */
                a->skipping = true;
            }
            if (a->skipping)
                rd_skip(&r, n);
            else
                rd_copy(&r, a->body + a->body_have, n);
            a->body_have += n;
            if (a->body_have == a->body_len) {
                if (!a->skipping) {
                    struct bytes b = {a->body, a->body_len};
                    handle_hs(st, dir, a->hdr[0], b);
                }
                hs_reset(a);
                hs_release(a);
            }
            continue;
        }
        if (a->hdr_len == 0 && rd_left(&r) >= 4) {
            /* Fast path: a whole message inside this fragment is parsed in place. */
            uint32_t len = ((uint32_t)rd_peek(&r, 1) << 16) | ((uint32_t)rd_peek(&r, 2) << 8) |
                           (uint32_t)rd_peek(&r, 3);
            if (len <= TLS_HS_MAX && len <= rd_left(&r) - 4) {
                uint8_t type = rd_u8(&r);
                rd_skip(&r, 3);
                handle_hs(st, dir, type, rd_slice(&r, len));
                continue;
            }
        }
        size_t n = 4 - a->hdr_len;
        if (n > rd_left(&r))
            n = rd_left(&r);
        rd_copy(&r, a->hdr + a->hdr_len, n);
        a->hdr_len += n;
        if (a->hdr_len < 4)
            continue;
        struct rd h = rd_init(a->hdr, 4);
        rd_u8(&h);
        a->body_len = rd_be24(&h);
        a->body_have = 0;
        if (a->body_len > TLS_HS_MAX) {
            st->rec.hs_oversize++;
            a->skipping = true;
        }
        if (a->body_len == 0) {
            struct bytes b = {a->body, 0};
            if (!a->skipping)
                handle_hs(st, dir, a->hdr[0], b);
            hs_reset(a);
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* Alerts, SSL 2.0                                                                        */

static void parse_alerts(struct tls_state *st, int dir, struct bytes frag)
{
    struct tls_session_rec *r = &st->rec;
    struct rd m = rd_from(frag);
    /* Picked up mid-stream (no hello seen), a longer alert record is most likely an
     * encrypted one: a clear alert is 2 bytes (several per record are legal but rare). */
    if (!st->active && frag.len != 2)
        return;
    if (frag.len == 0 || frag.len % 2 != 0) {
        r->hs_malformed++;
        return;
    }
    mark_active(st);
    while (rd_left(&m) >= 2) {
        uint8_t level = rd_u8(&m), desc = rd_u8(&m);
        char t[48];
        if (r->n_alerts < TLS_ALERTS_MAX) {
            struct tls_alert *a = &r->alerts[r->n_alerts++];
            a->ts_usec = st->ts;
            a->from_server = dir == 1;
            a->level = level;
            a->desc = desc;
        }
        r->alerts_total++;
        snprintf(t, sizeof t, "%s:%s:%u", dir ? "server" : "client",
                 level == 1 ? "warning" : level == 2 ? "fatal" : "level?", (unsigned)desc);
        text_add(r->alerts_text, sizeof r->alerts_text, t);
    }
}

static void parse_v2_client_hello(struct tls_state *st, struct rd *m)
{
    struct tls_session_rec *r = &st->rec;
    if (r->client_hello_seen) {
        r->hs_unexpected++;
        return;
    }
    struct fp_hello *fp = &st->ch;
    memset(fp, 0, sizeof *fp);
    ch_clear_offer(r);
    uint16_t ver = rd_be16(m);
    uint16_t cs_len = rd_be16(m);
    uint16_t sid_len = rd_be16(m);
    uint16_t chal_len = rd_be16(m);
    struct rd cs = rd_sub(m, cs_len);
    rd_skip(m, sid_len);
    rd_skip(m, chal_len);
    if (!rd_ok(m) || cs_len % 3 != 0) {
        r->hs_malformed++;
        st->rec.ch_malformed = true;
    }
    mark_active(st);
    r->client_hello_seen = true;
    r->sslv2_client_hello = true;
    r->client_version = ver;
    fp->legacy_version = ver;
    while (rd_left(&cs) >= 3) {
        uint32_t kind = rd_be24(&cs);
        /* A spec with a zero first byte is a TLS suite (RFC 5246 App. E.2). */
        ch_cipher(st, fp, true, kind);
    }
    ch_versions(r, fp);
    ch_fingerprints(st);
}

static void parse_v2_server_hello(struct tls_state *st, struct rd *m)
{
    struct tls_session_rec *r = &st->rec;
    if (st->sh_final) {
        r->hs_unexpected++;
        return;
    }
    uint8_t hit = rd_u8(m);
    rd_u8(m); /* certificate type */
    rd_be16(m); /* server version: 0x0002 */
    uint16_t cert_len = rd_be16(m);
    uint16_t cs_len = rd_be16(m);
    uint16_t cid_len = rd_be16(m);
    struct rd certr = rd_sub(m, cert_len);
    struct bytes cert = rd_rest(&certr);
    struct rd cs = rd_sub(m, cs_len);
    rd_skip(m, cid_len);
    if (!rd_ok(m)) {
        r->hs_malformed++;
        return;
    }
    mark_active(st);
    st->sh_final = true;
    r->server_hello_seen = true;
    r->ts_server_usec = st->ts;
    r->server_legacy_version = 0x0002;
    set_version(r, 0x0002);
    r->resumed = hit != 0;
    st->v2_server_hit = hit != 0;
    r->cert_count = cert_len ? 1 : 0;
    r->cert_sizes[0] = '\0';
    if (cert_len)
        text_add_uint(r->cert_sizes, sizeof r->cert_sizes, cert_len);
    /* The SSLv2 certificate (certificate type 1, X.509): the same facts, chain and key as a
     * TLS leaf, so it counts for DROWN (a key seen over SSLv2 and TLS). */
    r->chain_n = 0;
    r->leaf_parsed = false;
    r->leaf_spki_set = false;
    if (cert.len > 0 && cert.len <= X509_DER_MAX) {
        r->leaf_parsed = x509_parse_host(cert, st->ts, expected_name(st), &r->leaf) == 0;
        r->chain_last_self_issued = r->leaf_parsed && r->leaf.self_issued;
        r->leaf_spki_set = trust_spki_sha256(cert, r->leaf_spki);
        wc_Sha256Hash(cert.p, (word32)cert.len, r->chain_sha256[0]);
        r->chain_n = 1;
        judge_chain(st, &cert);
    }
    r->hs_types[1] |= (uint64_t)1 << V2_SERVER_HELLO;
    /* A SERVER-HELLO listing a single spec leaves the client no choice: that is the session's
     * cipher (a CLIENT-MASTER-KEY, when seen, names the choice and overrides it). On a
     * session-id hit the list is empty and the cached cipher is not visible. */
    if (!hit && cs_len == 3)
        set_cipher(r, rd_be24(&cs), true);
}

/* One SSL 2.0 record (2-byte header form; the 3-byte form only carries padded ciphertext). */
static void v2_record(struct tls_state *st, int dir, struct bytes rec, bool padded)
{
    struct dir_state *d = &st->d[dir];
    struct rd m = rd_from(rec);
    if (padded || d->done) {
        d->done = true;
        return;
    }
    uint8_t type = rd_u8(&m);
    if (dir == 0 && type == V2_CLIENT_HELLO && !st->rec.client_hello_seen) {
        parse_v2_client_hello(st, &m);
    } else if (dir == 1 && type == V2_SERVER_HELLO) {
        parse_v2_server_hello(st, &m);
        d->done = true; /* SERVER-VERIFY and later are encrypted */
        if (st->v2_server_hit)
            st->d[0].done = true; /* no CLIENT-MASTER-KEY on a session-id hit */
    } else if (dir == 0 && type == V2_CLIENT_MASTER_KEY && st->sh_final) {
        uint32_t kind = rd_be24(&m);
        if (rd_ok(&m))
            set_cipher(&st->rec, kind, true);
        else
            st->rec.hs_malformed++;
        st->rec.hs_types[0] |= (uint64_t)1 << V2_CLIENT_MASTER_KEY;
        d->done = true; /* CLIENT-FINISHED and later are encrypted */
    } else if (st->sh_final) {
        d->done = true; /* past the clear part of the SSL 2.0 handshake */
    } else {
        st->rec.hs_unexpected++;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Record layer                                                                           */

static bool is_tls13(const struct tls_state *st)
{
    return tls13_family(st->rec.version_code);
}

/* One heartbeat record: its record length and, in clear, its type and declared payload
 * length (RFC 6520 §4) go to the rules. hdr holds the first bytes of the fragment (up to 3). */
static void hb_event(struct tls_state *st, int dir, bool encrypted, size_t rec_len,
                     struct bytes hdr)
{
    struct tls_hb_event ev = {.ts_usec = st->ts, .from_server = dir == 1,
                              .encrypted = encrypted, .record_len = (uint16_t)rec_len};
    if (!encrypted) {
        struct rd h = rd_from(hdr);
        ev.hb_type = rd_u8(&h);
        ev.payload_len = rd_be16(&h);
        if (!rd_ok(&h))
            return; /* too short to be a HeartbeatMessage: nothing to judge */
    }
    const struct dis_ctx *ctx = st->ctx;
    tls_rules_heartbeat(&st->hb, &ev, &st->rec, ctx->srv_ip, ctx->srv_port, sink_finding,
                        st->ctx);
}

static void hb_record(struct tls_state *st, int dir, bool encrypted, struct bytes frag)
{
    hb_event(st, dir, encrypted, frag.len, frag);
}

/* After the handshake, heartbeat records are watched only on flows that negotiated the
 * extension (TLS <= 1.2; SSLv2 and TLS 1.3 have no heartbeat). */
static bool hb_watching(const struct tls_state *st)
{
    return st->rec.server_heartbeat && st->sh_final && !is_tls13(st) &&
           st->rec.version_code != 0x0002 && st->hb.records < TLS_HB_WATCH_RECORDS;
}

static void tls_record(struct tls_state *st, int dir, uint8_t type, struct bytes frag)
{
    struct dir_state *d = &st->d[dir];
    if (dir == 1 && !d->started)
        st->d[0].v2 = false; /* the server answered in TLS framing */
    switch (type) {
    case CT_CCS:
        hs_reset(&d->hs); /* a message cannot straddle a CCS */
        hs_release(&d->hs);
        if (!st->sh_final || is_tls13(st)) {
            /* RFC 8446 App. D.4 compatibility CCS: carries no state. The client's one after
             * the (real) ServerHello is as good as its first encrypted record. */
            if (dir == 0 && st->sh_final && is_tls13(st))
                d->done = true;
        } else {
            d->ccs = true;
            /* Server CCS right after its hello without ServerHelloDone: abbreviated
             * handshake, i.e. resumption (RFC 5246 §7.3 Figure 2). */
            if (dir == 1 && !(st->rec.hs_types[1] & ((uint64_t)1 << HS_SERVER_HELLO_DONE)))
                st->rec.resumed = true;
        }
        break;
    case CT_ALERT:
        if (d->ccs)
            d->done = true; /* encrypted alert */
        else
            parse_alerts(st, dir, frag);
        break;
    case CT_HANDSHAKE:
        if (d->ccs)
            d->done = true; /* the encrypted Finished */
        else
            hs_feed(st, dir, frag);
        break;
    case CT_APPDATA:
        d->done = true;
        break;
    default: /* heartbeat: judged by its header (Heartbleed); contents ignored */
        hb_record(st, dir, d->ccs, frag);
        if (d->ccs)
            d->done = true;
        break;
    }
    d->started = true;
}

enum rec_result { REC_MORE = 0, REC_OK = 1, REC_ERR = -1 };

static enum rec_result one_record(struct tls_state *st, int dir, struct rd *r, struct dis_ctx *ctx)
{
    struct dir_state *d = &st->d[dir];
    int b0 = rd_peek(r, 0);
    if (b0 < 0)
        return REC_MORE;
    bool v2 = d->v2 || (!d->started && (b0 & 0x80));
    if (v2) {
        int b1 = rd_peek(r, 1);
        if (b1 < 0)
            return REC_MORE;
        bool padded = !(b0 & 0x80);
        size_t hdr = padded ? 3 : 2;
        size_t len = padded ? (((size_t)b0 & 0x3f) << 8) | (size_t)b1
                            : (((size_t)b0 & 0x7f) << 8) | (size_t)b1;
        if (!d->started) {
            /* Only a CLIENT-HELLO (client) or SERVER-HELLO (server) may open a stream. */
            int t = rd_peek(r, 2);
            if (t < 0)
                return REC_MORE;
            if (padded || len < 1 || t != (dir == 0 ? V2_CLIENT_HELLO : V2_SERVER_HELLO)) {
                ctx->err_reason = "tls: not a TLS record or SSL 2.0 hello";
                return REC_ERR;
            }
            d->v2 = true;
            d->started = true;
            label(st, ctx);
        }
        if (!rd_has(r, hdr + len))
            return REC_MORE;
        rd_skip(r, hdr);
        v2_record(st, dir, rd_slice(r, len), padded);
        return REC_OK;
    }
    /* TLSPlaintext header: type(1) version(2) length(2). Validate what is present. */
    if (b0 < CT_CCS || b0 > CT_HEARTBEAT) {
        ctx->err_reason = "tls: bad record content type";
        return REC_ERR;
    }
    int vmaj = rd_peek(r, 1), vmin = rd_peek(r, 2);
    if ((vmaj >= 0 && vmaj != 3) || (vmin >= 0 && vmin > 4)) {
        ctx->err_reason = "tls: bad record version";
        return REC_ERR;
    }
    int lhi = rd_peek(r, 3), llo = rd_peek(r, 4);
    if (lhi < 0 || llo < 0)
        return REC_MORE;
    size_t len = ((size_t)lhi << 8) | (size_t)llo;
    if (len > TLS_RECORD_MAX) {
        ctx->err_reason = "tls: record length over 2^14+2048";
        return REC_ERR;
    }
    if (!rd_has(r, 5 + len))
        return REC_MORE;
    rd_skip(r, 5);
    struct bytes frag = rd_slice(r, len);
    label(st, ctx);
    tls_record(st, dir, (uint8_t)b0, frag);
    return REC_OK;
}

/* A record of a direction whose handshake is over, on a flow that negotiated heartbeat: only
 * its header is read (and a clear heartbeat's 3-byte header), its payload skipped as it
 * arrives, never buffered. REC_ERR: the bytes are no TLS record (stop watching). */
static enum rec_result hb_watch_record(struct tls_state *st, int dir, struct rd *r)
{
    struct dir_state *d = &st->d[dir];
    if (d->hb_skip) {
        size_t n = rd_left(r) < d->hb_skip ? rd_left(r) : d->hb_skip;
        rd_skip(r, n);
        d->hb_skip -= (uint32_t)n;
        return REC_OK;
    }
    int b0 = rd_peek(r, 0), vmaj = rd_peek(r, 1), vmin = rd_peek(r, 2);
    int lhi = rd_peek(r, 3), llo = rd_peek(r, 4);
    if (lhi < 0 || llo < 0)
        return REC_MORE;
    size_t len = ((size_t)lhi << 8) | (size_t)llo;
    if (b0 < CT_CCS || b0 > CT_HEARTBEAT || vmaj != 3 || vmin > 4 || len > TLS_RECORD_MAX)
        return REC_ERR;
    bool clear_hb = b0 == CT_HEARTBEAT && !d->ccs;
    size_t peek = clear_hb ? (len < 3 ? len : 3) : 0;
    if (!rd_has(r, 5 + peek))
        return REC_MORE;
    rd_skip(r, 5);
    st->hb.records++;
    if (b0 == CT_HEARTBEAT) {
        struct rd h = *r;
        hb_event(st, dir, d->ccs, len, rd_slice(&h, peek));
    }
    size_t n = rd_left(r) < len ? rd_left(r) : len;
    rd_skip(r, n);
    d->hb_skip = (uint32_t)(len - n);
    return REC_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Dissector callbacks                                                                    */

static enum dis_probe tls_probe(struct bytes first, int dir)
{
    (void)dir;
    struct rd r = rd_from(first);
    int b0 = rd_peek(&r, 0);
    if (b0 < 0)
        return DIS_PROBE_MAYBE;
    if (b0 & 0x80) {
        /* SSLv2-format ClientHello: 0x80|len_hi len_lo 0x01 version(2) */
        int b1 = rd_peek(&r, 1), t = rd_peek(&r, 2), vh = rd_peek(&r, 3), vl = rd_peek(&r, 4);
        if (b1 >= 0 && ((((b0 & 0x7f) << 8) | b1) < 9))
            return DIS_PROBE_NO;
        if (t >= 0 && t != V2_CLIENT_HELLO)
            return DIS_PROBE_NO;
        if (vh >= 0 && vh != 0x00 && vh != 0x03)
            return DIS_PROBE_NO;
        if (vl < 0)
            return DIS_PROBE_MAYBE;
        unsigned v = ((unsigned)vh << 8) | (unsigned)vl;
        return (v == 0x0002 || (v >= 0x0300 && v <= 0x0303)) ? DIS_PROBE_YES : DIS_PROBE_NO;
    }
    if (b0 != CT_HANDSHAKE)
        return DIS_PROBE_NO;
    int vmaj = rd_peek(&r, 1), vmin = rd_peek(&r, 2);
    if ((vmaj >= 0 && vmaj != 3) || (vmin >= 0 && vmin > 4))
        return DIS_PROBE_NO;
    int lhi = rd_peek(&r, 3), llo = rd_peek(&r, 4), hst = rd_peek(&r, 5);
    if (lhi >= 0 && llo >= 0) {
        size_t len = ((size_t)lhi << 8) | (size_t)llo;
        if (len < 4 || len > TLS_RECORD_MAX)
            return DIS_PROBE_NO;
    }
    if (hst < 0)
        return DIS_PROBE_MAYBE;
    return (hst == HS_CLIENT_HELLO || hst == HS_SERVER_HELLO) ? DIS_PROBE_YES : DIS_PROBE_NO;
}

static void *tls_state_new(const struct dis_cfg *cfg)
{
    struct tls_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->policy = cfg ? cfg->policy : 0;
    snprintf(st->started_by, sizeof st->started_by, "%s",
             cfg && cfg->started_by ? cfg->started_by : "tls");
    if (cfg) {
        st->trust = cfg->trust;
        st->tcache = cfg->tcache;
        if (cfg->expect_host && cfg->expect_host[0]) {
            item_text((struct bytes){(const uint8_t *)cfg->expect_host, strnlen(cfg->expect_host, TLS_SNI_MAX)},
                      st->expect_host, sizeof st->expect_host);
            snprintf(st->expect_source, sizeof st->expect_source, "%s",
                     cfg->expect_host_source ? cfg->expect_host_source : "greeting");
        }
    }
    session_reset(st);
    return st;
}

static void tls_state_free(void *vst)
{
    struct tls_state *st = vst;
    if (!st)
        return;
    free_buffers(st);
    free(st);
}

static size_t tls_mem(const void *vst)
{
    const struct tls_state *st = vst;
    return nz_heap_size(sizeof *st) + nz_heap_size(st->d[0].hs.body_cap) + nz_heap_size(st->d[1].hs.body_cap);
}

static enum dis_status finish(struct tls_state *st, struct dis_ctx *ctx)
{
    emit_session(st, ctx);
    st->finished = true;
    ctx->want[0] = ctx->want[1] = false;
    free_buffers(st);
    return DIS_DONE;
}

static enum dis_status tls_on_data(void *vst, int dir, struct bytes in, size_t *consumed,
                                   struct dis_ctx *ctx)
{
    struct tls_state *st = vst;
    *consumed = 0;
    if (dir != 0 && dir != 1) {
        ctx->err_reason = "tls: bad direction";
        return DIS_ERR;
    }
    st->ts = ctx->ts_usec;
    st->ctx = ctx;
    if (st->finished) {
        *consumed = in.len;
        ctx->want[0] = ctx->want[1] = false;
        return DIS_DONE;
    }
    struct rd r = rd_from(in);
    while (!rd_eof(&r)) {
        if (st->d[dir].done) {
            if (!hb_watching(st)) {
                /* Nothing after the handshake is needed (bulk bypass): the rest of this
                 * delivery is ignored exactly as the bytes the engine will no longer deliver,
                 * so the outcome does not depend on where the stream was cut. */
                if (st->d[0].done && st->d[1].done) {
                    *consumed = in.len;
                    return finish(st, ctx);
                }
                ctx->want[dir] = false;
                *consumed = in.len;
                return DIS_OK;
            }
            enum rec_result hc = hb_watch_record(st, dir, &r);
            if (hc == REC_MORE)
                break;
            *consumed = r.off;
            if (hc == REC_ERR) {
                *consumed = in.len;
                return finish(st, ctx); /* not TLS any more: stop watching, quietly */
            }
            if (!hb_watching(st) && st->d[0].done && st->d[1].done) {
                *consumed = in.len;
                return finish(st, ctx); /* TLS_HB_WATCH_RECORDS read */
            }
            continue;
        }
        enum rec_result rc = one_record(st, dir, &r, ctx);
        if (rc == REC_MORE)
            break;
        if (rc == REC_ERR) {
            emit_session(st, ctx);
            st->finished = true;
            free_buffers(st);
            return DIS_ERR;
        }
        *consumed = r.off;
        if (st->d[0].done && st->d[1].done) {
            if (!hb_watching(st)) {
                *consumed = in.len;
                return finish(st, ctx);
            }
            emit_session(st, ctx);
            free_buffers(st); /* the heartbeat watch needs no handshake buffers */
        }
        if (st->d[dir].done && !hb_watching(st)) {
            ctx->want[dir] = false; /* bulk bypass, as at the top of the loop */
            *consumed = in.len;
            return DIS_OK;
        }
    }
    return DIS_OK;
}

static enum dis_status tls_on_gap(void *vst, int dir, uint64_t len, struct dis_ctx *ctx)
{
    struct tls_state *st = vst;
    (void)dir;
    (void)len;
    st->ts = ctx->ts_usec;
    st->ctx = ctx;
    /* Record boundaries are lost; what was seen is reported as an incomplete handshake. */
    return finish(st, ctx);
}

static void tls_on_close(void *vst, struct dis_ctx *ctx)
{
    struct tls_state *st = vst;
    st->ts = ctx->ts_usec;
    st->ctx = ctx;
    emit_session(st, ctx);
}

const struct dissector tls_dissector = {
    .name = "tls",
    .ports = {443, 465, 993, 995, 8443, 4433, 636, 0},
    .probe = tls_probe,
    .state_new = tls_state_new,
    .state_free = tls_state_free,
    .on_data = tls_on_data,
    .on_gap = tls_on_gap,
    .on_close = tls_on_close,
    .mem = tls_mem,
};
