/* tls_rules.c — TLS verdicts: turns one struct tls_session_rec into findings.
 *
 * Bases (see doc/REFERENCE.md): §3a protocol versions, §3b cipher families and the
 * offer-vs-choice rule ("grade the server's choice with the table; grade a client merely
 * offering a bad suite one level lower"), §3c DH/compression, §4 S8–S11 downgrade signals;
 * Mozilla Server Side TLS 6.0 (intermediate: TLS 1.2/1.3 only, dh_param_size 2048);
 * testssl.sh severity families; RFC 5746 (secure renegotiation), RFC 7507 (FALLBACK_SCSV,
 * alert 86), RFC 8446 §4.1.3 (downgrade sentinel), RFC 6520 (heartbeat), RFC 7457 §2.6
 * (CRIME), RFC 7568 / CVE-2014-3566 (SSLv3, POODLE), RFC 6176 (SSLv2), RFC 8996 (TLS 1.0/1.1).
 * Certificate verdicts (§3c; the leaf as decoded by x509.c): validity judged at the ServerHello
 * packet time, never the wall clock (RFC 5280 §4.1.2.5; Zeek expiring-certs; expiring within
 * 30 days; over 398 days of validity for a CA-issued leaf from 2020-09-01 on, CA/B Forum BR
 * §6.3.2), self-signed =
 * a chain of one self-issued certificate (Zeek validate-certs; no trust store is consulted),
 * key size (Zeek weak-keys, Mozilla rsa_key_size 2048 / ecdh 256), MD5/SHA-1 signatures
 * (Mozilla 6.0 accepts no SHA-1), SNI vs SAN/CN (RFC 6125 §6.4, CN only without SANs).
 *
 * The negotiated version and suite are judged from the ServerHello only; the client's offer is
 * judged separately and one level lower. Unknown suites are reported as unknown, never as
 * safe. Each finding carries JSON evidence (codes and names, class, the offer where it
 * matters) and a one-line summary naming the server. */
#include <stdio.h>
#include <string.h>

#include "dissect/ciphers.h"
#include "core/json.h"
#include "dissect/tls.h"

typedef void (*emit_fn)(void *ud, const struct finding *f);

struct ctx {
    const struct tls_session_rec *r;
    int policy;
    char where[TLS_SNI_MAX + 64]; /* "sni (ip:port)" for summaries */
    emit_fn emit;
    void *ud;
    size_t count;
    struct finding f;  /* the finding being built */
    struct json j;
};

static enum nz_severity lower(enum nz_severity s) { return s > NZ_SEV_INFO ? s - 1 : NZ_SEV_INFO; }
static enum nz_severity maxsev(enum nz_severity a, enum nz_severity b) { return a > b ? a : b; }

static uint64_t ts_server(const struct tls_session_rec *r)
{
    return r->ts_server_usec ? r->ts_server_usec : r->ts_usec;
}

/* TLS 1.3 or one of its draft (0x7fNN) / Facebook experimental (0xfbNN) code points. */
static bool tls13_family(uint16_t v)
{
    return v == 0x0304 || (v & 0xff00) == 0x7f00 || (v & 0xff00) == 0xfb00;
}

static const char *vname(uint16_t v, char *buf, size_t cap)
{
    const char *n = tls_version_name(v);
    if (n)
        return n;
    snprintf(buf, cap, "0x%04x", (unsigned)v);
    return buf;
}

static void begin(struct ctx *c, enum finding_kind k, enum nz_severity sev, uint64_t ts)
{
    finding_init(&c->f, k, ts);
    c->f.severity = sev;
    json_init(&c->j, c->f.evidence, sizeof c->f.evidence);
    json_str(&c->j, "sni", c->r->sni[0] ? c->r->sni : NULL);
}

static void end(struct ctx *c)
{
    json_str(&c->j, "started_by", c->r->started_by);
    json_finish(&c->j);
    c->emit(c->ud, &c->f);
    c->count++;
}

static void ev_version(struct ctx *c, const char *key_name, const char *key_code, uint16_t v)
{
    char t[8];
    json_str(&c->j, key_name, vname(v, t, sizeof t));
    json_uint(&c->j, key_code, v);
}

static void ev_client_versions(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->client_hello_seen)
        return;
    ev_version(c, "client_max_version", "client_max_version_code", r->client_max_version);
    json_str(&c->j, "client_versions", r->client_versions);
}

static const struct cipher_info *lookup(uint32_t code)
{
    return code > 0xffff ? cipher_lookup_v2(code) : cipher_lookup((uint16_t)code);
}

static void ev_cipher(struct ctx *c, uint32_t code, const struct cipher_info *ci)
{
    char hex[16];
    snprintf(hex, sizeof hex, code > 0xffff ? "0x%06lx" : "0x%04lx", (unsigned long)code);
    json_str(&c->j, "cipher", ci ? ci->name : c->r->cipher);
    json_str(&c->j, "cipher_code", hex);
    if (!ci) {
        json_str(&c->j, "class", "unknown");
        return;
    }
    json_str(&c->j, "class", cipher_class_name(ci->cls));
    json_str(&c->j, "kx", cipher_kx_name(ci->kx));
    json_str(&c->j, "auth", cipher_auth_name(ci->auth));
    json_str(&c->j, "enc", cipher_enc_name(ci->enc));
    json_str(&c->j, "mode", cipher_mode_name(ci->mode));
    json_str(&c->j, "mac", cipher_mac_name(ci->mac));
    json_uint(&c->j, "enc_bits", ci->enc_bits);
    json_bool(&c->j, "forward_secrecy", ci->fs);
}

/* --- tls.obsolete_version ------------------------------------------------------------ */

/* Severity of negotiating v; INFO means "not obsolete". doc/REFERENCE.md §3a. */
static enum nz_severity version_sev(uint16_t v, int policy)
{
    switch (v) {
    case 0x0002: return NZ_SEV_CRITICAL;                      /* RFC 6176, DROWN */
    case 0x0300: return NZ_SEV_HIGH;                          /* RFC 7568, POODLE */
    case 0x0301:
    case 0x0302: return policy == 1 ? NZ_SEV_MEDIUM : NZ_SEV_LOW; /* RFC 8996 */
    default: return NZ_SEV_INFO;
    }
}

static void rule_obsolete_version(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    char t[8];
    if (r->server_hello_seen && r->version_code) {
        enum nz_severity s = version_sev(r->version_code, c->policy);
        if (s > NZ_SEV_INFO) {
            begin(c, FK_TLS_OBSOLETE_VERSION, s, ts_server(r));
            json_str(&c->j, "side", "negotiated");
            ev_version(c, "version", "version_code", r->version_code);
            ev_client_versions(c);
            json_str(&c->j, "policy", c->policy == 1 ? "intermediate" : "default");
            finding_summary(&c->f, "%s negotiated with %s", vname(r->version_code, t, sizeof t),
                            c->where);
            end(c);
            return;
        }
    }
    if (!r->client_hello_seen || !r->client_max_version)
        return;
    enum nz_severity s = version_sev(r->client_max_version, c->policy);
    if (s == NZ_SEV_INFO)
        return;
    /* Only the client's ceiling is judged: a client offering 1.2 and 1.0 is fine. */
    begin(c, FK_TLS_OBSOLETE_VERSION, lower(s), r->ts_usec);
    json_str(&c->j, "side", "client_offer");
    ev_client_versions(c);
    if (r->server_hello_seen)
        ev_version(c, "version", "version_code", r->version_code);
    json_str(&c->j, "policy", c->policy == 1 ? "intermediate" : "default");
    finding_summary(&c->f, "client offers at most %s to %s",
                    vname(r->client_max_version, t, sizeof t), c->where);
    end(c);
}

/* --- tls.weak_cipher ----------------------------------------------------------------- */

static enum nz_severity class_sev(enum cipher_class cls)
{
    switch (cls) {
    case CCL_NULL:
    case CCL_ANON:
    case CCL_EXPORT: return NZ_SEV_CRITICAL;
    case CCL_LOW: return NZ_SEV_HIGH;
    case CCL_MEDIUM_64BIT: return NZ_SEV_MEDIUM;
    case CCL_CBC_OBSOLETE: return NZ_SEV_LOW;
    default: return NZ_SEV_INFO; /* AEAD_NOFS (see no_forward_secrecy), STRONG */
    }
}

static void rule_weak_cipher(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->server_hello_seen || !r->cipher_set)
        return;
    const struct cipher_info *ci = lookup(r->cipher_code);
    enum nz_severity s;
    const char *why;
    if (!ci || ci->cls == CCL_SIGNALLING) {
        s = NZ_SEV_MEDIUM;
        why = "unknown cipher suite (cannot be judged)";
    } else {
        s = class_sev(ci->cls);
        why = cipher_class_name(ci->cls);
    }
    bool cbc = ci && ci->mode == CMO_CBC;
    bool poodle = cbc && r->version_code == 0x0300;
    bool beast = cbc && r->version_code == 0x0301;
    bool sweet32 = ci && ci->cls == CCL_MEDIUM_64BIT;
    if (poodle)
        s = maxsev(s, NZ_SEV_HIGH); /* CVE-2014-3566 */
    if (s == NZ_SEV_INFO)
        return;
    begin(c, FK_TLS_WEAK_CIPHER, s, ts_server(r));
    ev_cipher(c, r->cipher_code, ci);
    ev_version(c, "version", "version_code", r->version_code);
    json_arr_begin(&c->j, "attacks");
    if (poodle)
        json_str(&c->j, NULL, "POODLE");
    if (beast)
        json_str(&c->j, NULL, "BEAST");
    if (sweet32)
        json_str(&c->j, NULL, "SWEET32");
    if (ci && ci->cls == CCL_CBC_OBSOLETE)
        json_str(&c->j, NULL, "Lucky13");
    if (ci && ci->export_)
        json_str(&c->j, NULL, "FREAK/Logjam");
    if (ci && ci->enc == CEN_RC4)
        json_str(&c->j, NULL, "RC4 biases (RFC 7465)");
    json_arr_end(&c->j);
    finding_summary(&c->f, "%s negotiated with %s: %s%s", r->cipher, c->where, why,
                    poodle ? " under SSLv3 (POODLE)" : "");
    end(c);
}

/* --- tls.client_offers_weak ---------------------------------------------------------- */

#define OFFER_NAMES_MAX 24 /* suites named in the evidence per group */

static void rule_client_offers_weak(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->client_hello_seen)
        return;
    size_t n_bad = 0, n_low = 0;
    for (size_t i = 0; i < r->n_ciphers_offered; i++) {
        const struct cipher_info *ci = lookup(r->ciphers_offered[i]);
        if (!ci)
            continue;
        if (ci->cls == CCL_NULL || ci->cls == CCL_ANON || ci->cls == CCL_EXPORT)
            n_bad++;
        else if (ci->cls == CCL_LOW)
            n_low++;
    }
    if (n_bad == 0 && n_low == 0)
        return;
    /* One level below the choice: NULL/anon/EXPORT critical → offered low (the passive
     * observer cannot tell whether the server would accept them); RC4/DES high → info. */
    begin(c, FK_TLS_CLIENT_OFFERS_WEAK, n_bad ? NZ_SEV_LOW : NZ_SEV_INFO, r->ts_usec);
    json_uint(&c->j, "offered_total", r->n_ciphers_offered);
    json_uint(&c->j, "null_anon_export_count", n_bad);
    json_uint(&c->j, "rc4_des_md5_count", n_low);
    for (int pass = 0; pass < 2; pass++) {
        json_arr_begin(&c->j, pass == 0 ? "null_anon_export" : "rc4_des_md5");
        size_t named = 0;
        for (size_t i = 0; i < r->n_ciphers_offered && named < OFFER_NAMES_MAX; i++) {
            const struct cipher_info *ci = lookup(r->ciphers_offered[i]);
            if (!ci)
                continue;
            bool bad = ci->cls == CCL_NULL || ci->cls == CCL_ANON || ci->cls == CCL_EXPORT;
            if ((pass == 0 && bad) || (pass == 1 && ci->cls == CCL_LOW)) {
                json_str(&c->j, NULL, ci->name);
                named++;
            }
        }
        json_arr_end(&c->j);
    }
    if (r->cipher_set && r->server_hello_seen)
        json_str(&c->j, "chosen", r->cipher);
    finding_summary(&c->f, "client offers %zu NULL/anon/EXPORT and %zu RC4/DES/MD5 suites to %s",
                    n_bad, n_low, c->where);
    end(c);
}

/* --- tls.no_forward_secrecy ---------------------------------------------------------- */

static void rule_no_forward_secrecy(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->server_hello_seen || !r->cipher_set)
        return;
    const struct cipher_info *ci = lookup(r->cipher_code);
    bool tls13 = tls13_family(r->version_code);
    bool psk_ke = tls13 && r->server_psk && !r->server_key_share;
    bool static_kx = ci && !tls13 && !ci->fs && ci->auth != CAU_ANON &&
                     ci->kx != CKX_NULL && ci->kx != CKX_UNKNOWN && ci->kx != CKX_TLS13;
    if (!psk_ke && !static_kx)
        return;
    begin(c, FK_TLS_NO_FORWARD_SECRECY, NZ_SEV_LOW, ts_server(r));
    ev_cipher(c, r->cipher_code, ci);
    ev_version(c, "version", "version_code", r->version_code);
    json_str(&c->j, "key_exchange", psk_ke ? "psk_ke" : cipher_kx_name(ci->kx));
    if (psk_ke)
        finding_summary(&c->f, "TLS 1.3 PSK-only resumption (psk_ke, no (EC)DHE) with %s",
                        c->where);
    else
        finding_summary(&c->f, "static %s key exchange (%s) with %s", cipher_kx_name(ci->kx),
                        r->cipher, c->where);
    end(c);
}

/* --- tls.weak_dh --------------------------------------------------------------------- */

static void rule_weak_dh(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->dhe_bits || r->dhe_bits >= 2048)
        return;
    begin(c, FK_TLS_WEAK_DH, r->dhe_bits < 1024 ? NZ_SEV_HIGH : NZ_SEV_MEDIUM, ts_server(r));
    json_uint(&c->j, "dh_bits", r->dhe_bits);
    json_uint(&c->j, "minimum_bits", 2048);
    if (r->cipher_set)
        ev_cipher(c, r->cipher_code, lookup(r->cipher_code));
    finding_summary(&c->f, "%u-bit DH group from %s%s", (unsigned)r->dhe_bits, c->where,
                    r->dhe_bits < 1024 ? " (Logjam)" : "");
    end(c);
}

/* --- tls.compression ----------------------------------------------------------------- */

static const char *comp_name(uint8_t m)
{
    switch (m) {
    case 0: return "null";
    case 1: return "DEFLATE";
    case 64: return "LZS";
    default: return "unknown";
    }
}

static void rule_compression(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->server_hello_seen || !r->compression_set || r->compression == 0)
        return;
    begin(c, FK_TLS_COMPRESSION, NZ_SEV_MEDIUM, ts_server(r));
    json_uint(&c->j, "compression", r->compression);
    json_str(&c->j, "compression_name", comp_name(r->compression));
    json_arr_begin(&c->j, "offered");
    for (size_t i = 0; i < r->n_comp_offered; i++)
        json_uint(&c->j, NULL, r->comp_offered[i]);
    json_arr_end(&c->j);
    ev_version(c, "version", "version_code", r->version_code);
    finding_summary(&c->f, "TLS compression %s negotiated with %s (CRIME)",
                    comp_name(r->compression), c->where);
    end(c);
}

/* --- tls.insecure_renegotiation ------------------------------------------------------ */

static void rule_insecure_renegotiation(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    /* RFC 5746 covers SSLv3 .. TLS 1.2; SSLv2 and TLS 1.3 have no renegotiation. */
    if (!r->server_hello_seen || !r->client_hello_seen || r->version_code < 0x0300 ||
        r->version_code > 0x0303)
        return;
    bool client_ok = r->client_ri || r->reneg_scsv;
    if (client_ok && r->server_ri)
        return;
    begin(c, FK_TLS_INSECURE_RENEGOTIATION, client_ok ? NZ_SEV_MEDIUM : NZ_SEV_LOW, ts_server(r));
    json_str(&c->j, "side", client_ok ? "server" : "client");
    json_bool(&c->j, "client_renegotiation_info", r->client_ri);
    json_bool(&c->j, "client_scsv", r->reneg_scsv);
    json_bool(&c->j, "server_renegotiation_info", r->server_ri);
    ev_version(c, "version", "version_code", r->version_code);
    if (client_ok)
        finding_summary(&c->f, "%s does not confirm RFC 5746 secure renegotiation", c->where);
    else
        finding_summary(&c->f, "client sent neither renegotiation_info nor the SCSV to %s",
                        c->where);
    end(c);
}

/* --- tls.heartbeat ------------------------------------------------------------------- */

static void rule_heartbeat(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->server_hello_seen || !r->server_heartbeat)
        return;
    begin(c, FK_TLS_HEARTBEAT, NZ_SEV_INFO, ts_server(r));
    json_bool(&c->j, "client_offered", r->client_heartbeat);
    ev_version(c, "version", "version_code", r->version_code);
    finding_summary(&c->f, "heartbeat extension negotiated with %s", c->where);
    end(c);
}

/* --- downgrade signals --------------------------------------------------------------- */

static void rule_fallback_scsv(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->client_hello_seen || !r->fallback_scsv)
        return;
    begin(c, FK_TLS_FALLBACK_SCSV, NZ_SEV_MEDIUM, r->ts_usec);
    json_str(&c->j, "scsv", "0x5600");
    ev_client_versions(c);
    if (r->server_hello_seen)
        ev_version(c, "version", "version_code", r->version_code);
    finding_summary(&c->f, "client retried %s with TLS_FALLBACK_SCSV (downgrade dance)", c->where);
    end(c);
}

static void rule_inappropriate_fallback(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    for (size_t i = 0; i < r->n_alerts; i++) {
        const struct tls_alert *a = &r->alerts[i];
        if (!a->from_server || a->desc != 86)
            continue;
        begin(c, FK_TLS_INAPPROPRIATE_FALLBACK, NZ_SEV_HIGH, a->ts_usec);
        json_uint(&c->j, "alert", a->desc);
        json_uint(&c->j, "level", a->level);
        json_bool(&c->j, "fallback_scsv", r->fallback_scsv);
        ev_client_versions(c);
        finding_summary(&c->f, "%s rejected a fallback ClientHello with alert 86 "
                        "inappropriate_fallback", c->where);
        end(c);
        return;
    }
}

static bool offered_version(const struct tls_session_rec *r, uint16_t v)
{
    for (size_t i = 0; i < r->n_versions_offered; i++)
        if (r->versions_offered[i] == v)
            return true;
    return false;
}

static void rule_downgrade_sentinel(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->server_hello_seen || !r->client_hello_seen || r->sentinel == TLS_SENTINEL_NONE ||
        r->version_code >= 0x0304)
        return;
    /* RFC 8446 §4.1.3: ...01 must not reach a TLS 1.3 client; ...00 must not reach a
     * TLS 1.2 (or 1.3) client when <= 1.1 was negotiated. */
    bool hit = r->sentinel == TLS_SENTINEL_TLS12 ? offered_version(r, 0x0304)
                                                 : r->client_max_version >= 0x0303;
    if (!hit)
        return;
    begin(c, FK_TLS_DOWNGRADE_SENTINEL, NZ_SEV_HIGH, ts_server(r));
    json_str(&c->j, "sentinel", r->sentinel == TLS_SENTINEL_TLS12 ? "444f574e47524401"
                                                                  : "444f574e47524400");
    ev_version(c, "version", "version_code", r->version_code);
    ev_client_versions(c);
    finding_summary(&c->f, "%s sent the DOWNGRD sentinel to a client offering %s: the hello was "
                    "rewritten in the path", c->where, r->client_versions);
    end(c);
}

static bool offered_cipher(const struct tls_session_rec *r, uint32_t code)
{
    for (size_t i = 0; i < r->n_ciphers_offered; i++)
        if (r->ciphers_offered[i] == code)
            return true;
    return false;
}

static void rule_offer_choice_mismatch(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->server_hello_seen || !r->client_hello_seen || r->fp_partial || r->ch_malformed)
        return;
    bool bad_cipher = r->cipher_set && !offered_cipher(r, r->cipher_code);
    bool bad_version;
    if (r->version_code == 0x0002)
        bad_version = !r->sslv2_client_hello;
    else if (r->n_versions_offered > 0)
        bad_version = !offered_version(r, r->version_code);
    else
        bad_version = r->version_code > r->client_version;
    bool bad_comp = false;
    if (r->compression_set && !r->sslv2_client_hello) {
        bad_comp = true;
        for (size_t i = 0; i < r->n_comp_offered; i++)
            if (r->comp_offered[i] == r->compression)
                bad_comp = false;
    }
    if (!bad_cipher && !bad_version && !bad_comp)
        return;
    begin(c, FK_TLS_OFFER_CHOICE_MISMATCH, NZ_SEV_CRITICAL, ts_server(r));
    json_arr_begin(&c->j, "not_offered");
    if (bad_version)
        json_str(&c->j, NULL, "version");
    if (bad_cipher)
        json_str(&c->j, NULL, "cipher");
    if (bad_comp)
        json_str(&c->j, NULL, "compression");
    json_arr_end(&c->j);
    ev_version(c, "version", "version_code", r->version_code);
    ev_client_versions(c);
    if (r->cipher_set)
        ev_cipher(c, r->cipher_code, lookup(r->cipher_code));
    json_uint(&c->j, "ciphers_offered", r->n_ciphers_offered);
    if (bad_comp)
        json_uint(&c->j, "compression", r->compression);
    char t[8];
    finding_summary(&c->f, "%s chose %s%s%s%s the client did not offer", c->where,
                    bad_version ? vname(r->version_code, t, sizeof t) : "",
                    bad_version && (bad_cipher || bad_comp) ? " / " : "",
                    bad_cipher ? r->cipher : "",
                    bad_comp ? (bad_cipher ? " / compression" : "compression") : "");
    end(c);
}

/* --- certificate verdicts (doc/REFERENCE.md §3c) ------------------------------------------ */

/* Evidence common to the certificate findings: the leaf's facts. */
static void ev_cert(struct ctx *c)
{
    const struct cert_info *ci = &c->r->leaf;
    char t[32];
    json_str(&c->j, "subject_cn", ci->subject_cn);
    json_str(&c->j, "issuer_cn", ci->issuer_cn);
    json_bool(&c->j, "self_issued", ci->self_issued);
    if (ci->dates_valid) {
        json_str(&c->j, "not_before", x509_iso_time(ci->not_before, t, sizeof t));
        json_str(&c->j, "not_after", x509_iso_time(ci->not_after, t, sizeof t));
    }
    json_str(&c->j, "key_type", x509_key_type_name(ci->key_type));
    json_uint(&c->j, "key_bits", ci->key_bits);
    json_str(&c->j, "signature_algorithm", ci->sig_alg);
    json_str(&c->j, "san_dns", ci->san_dns);
    json_uint(&c->j, "cert_count", c->r->cert_count);
    json_str(&c->j, "sha256", ci->sha256_hex);
}

/* Capture time the certificate is judged at: the ServerHello (else ClientHello) packet. */
static int64_t cert_now(const struct tls_session_rec *r)
{
    return (int64_t)(ts_server(r) / 1000000u);
}

static void rule_cert_expired(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    const struct cert_info *ci = &r->leaf;
    if (!r->leaf_parsed || !ci->dates_valid || !ts_server(r))
        return;
    int64_t now = cert_now(r);
    const char *state = ci->not_after < now ? "expired" : ci->not_before > now ? "not_yet_valid"
                                                                                 : NULL;
    if (!state)
        return;
    char t[32], when[32];
    begin(c, FK_TLS_CERT_EXPIRED, NZ_SEV_HIGH, ts_server(r));
    json_str(&c->j, "state", state);
    json_str(&c->j, "capture_time", x509_iso_time(now, t, sizeof t));
    ev_cert(c);
    x509_iso_time(state[0] == 'e' ? ci->not_after : ci->not_before, when, sizeof when);
    finding_summary(&c->f, "certificate of %s %s %s", c->where,
                    state[0] == 'e' ? "expired" : "not valid before", when);
    end(c);
}

/* tls.cert_expiring: doc/REFERENCE.md §3c "expires within 30 days" (Zeek expiring-certs). */
#define CERT_EXPIRING_SECS (30 * 86400LL)

static void rule_cert_expiring(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    const struct cert_info *ci = &r->leaf;
    if (!r->leaf_parsed || !ci->dates_valid || !ts_server(r))
        return;
    int64_t now = cert_now(r);
    if (ci->not_after < now || ci->not_before > now || ci->not_after - now > CERT_EXPIRING_SECS)
        return; /* expired / not yet valid are tls.cert_expired */
    char t[32];
    int64_t left = ci->not_after - now;
    begin(c, FK_TLS_CERT_EXPIRING, NZ_SEV_LOW, ts_server(r));
    json_str(&c->j, "capture_time", x509_iso_time(now, t, sizeof t));
    json_uint(&c->j, "seconds_left", (uint64_t)left);
    json_uint(&c->j, "days_left", (uint64_t)((left + 86399) / 86400)); /* rounded up */
    json_uint(&c->j, "window_days", CERT_EXPIRING_SECS / 86400);
    ev_cert(c);
    finding_summary(&c->f, "certificate of %s expires in %lld days (%s)", c->where,
                    (long long)((left + 86399) / 86400), x509_iso_time(ci->not_after, t, sizeof t));
    end(c);
}

/* tls.cert_long_validity: the CA/Browser Forum Baseline Requirements (§6.3.2, ballot SC31)
 * cap a subscriber certificate issued on or after 2020-09-01 at 398 days; REFERENCE.md §3c's
 * 366 days is Mozilla's own configuration target. The BR limit is what a publicly trusted CA
 * must obey, so a longer leaf says "not from a public CA, or a CA breaking the rules".
 * Self-issued leaves are left to tls.cert_self_signed (no CA rules apply to them), and
 * certificates issued before the date are not judged (825 and 39 months applied then). */
#define CERT_BR_SINCE 1598918400LL  /* 2020-09-01T00:00:00Z */
#define CERT_BR_MAX_SECS (398 * 86400LL)

static void rule_cert_long_validity(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    const struct cert_info *ci = &r->leaf;
    if (!r->leaf_parsed || !ci->dates_valid || ci->self_issued ||
        ci->not_before < CERT_BR_SINCE || ci->not_after - ci->not_before <= CERT_BR_MAX_SECS)
        return;
    int64_t life = ci->not_after - ci->not_before + 86399; /* whole days, rounded up */
    begin(c, FK_TLS_CERT_LONG_VALIDITY, NZ_SEV_LOW, ts_server(r));
    json_uint(&c->j, "validity_days", (uint64_t)(life / 86400));
    json_uint(&c->j, "maximum_days", CERT_BR_MAX_SECS / 86400);
    json_str(&c->j, "basis", "CA/Browser Forum BR 6.3.2 (issued on or after 2020-09-01)");
    ev_cert(c);
    finding_summary(&c->f, "certificate of %s is valid for %lld days (over 398)", c->where,
                    (long long)(life / 86400));
    end(c);
}

static void rule_cert_self_signed(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    if (!r->leaf_parsed || !r->leaf.self_issued || r->cert_count != 1)
        return;
    if (r->trust.status == TRUST_TRUSTED) /* the administrator trusts it (--ca-file) */
        return;
    begin(c, FK_TLS_CERT_SELF_SIGNED, NZ_SEV_MEDIUM, ts_server(r));
    json_bool(&c->j, "signature_checked", r->leaf.self_sig_checked);
    json_bool(&c->j, "signature_verifies", r->leaf.self_sig_ok);
    ev_cert(c);
    finding_summary(&c->f, "self-signed certificate \"%s\" from %s", r->leaf.subject_cn,
                    c->where);
    end(c);
}

static void rule_cert_weak_key(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    const struct cert_info *ci = &r->leaf;
    if (!r->leaf_parsed || !ci->key_bits)
        return;
    enum nz_severity s = NZ_SEV_INFO;
    unsigned min = 0;
    if (ci->key_type == X509_KEY_RSA || ci->key_type == X509_KEY_DSA) {
        min = 2048;
        s = ci->key_bits < 1024 ? NZ_SEV_HIGH : ci->key_bits < 2048 ? NZ_SEV_MEDIUM : NZ_SEV_INFO;
    } else if (ci->key_type == X509_KEY_EC) {
        min = 256;
        s = ci->key_bits < 256 ? NZ_SEV_MEDIUM : NZ_SEV_INFO;
    }
    if (s == NZ_SEV_INFO)
        return;
    begin(c, FK_TLS_CERT_WEAK_KEY, s, ts_server(r));
    json_uint(&c->j, "minimum_bits", min);
    ev_cert(c);
    finding_summary(&c->f, "%u-bit %s certificate key from %s", (unsigned)ci->key_bits,
                    x509_key_type_name(ci->key_type), c->where);
    end(c);
}

static void rule_cert_weak_signature(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    const struct cert_info *ci = &r->leaf;
    if (!r->leaf_parsed)
        return;
    enum nz_severity s;
    switch (ci->sig_hash) {
    case X509_HASH_MD2:
    case X509_HASH_MD5: s = NZ_SEV_HIGH; break;
    case X509_HASH_SHA1: s = NZ_SEV_MEDIUM; break;
    default: return;
    }
    begin(c, FK_TLS_CERT_WEAK_SIGNATURE, s, ts_server(r));
    ev_cert(c);
    finding_summary(&c->f, "certificate of %s signed with %s", c->where, ci->sig_alg);
    end(c);
}

static void rule_cert_name_mismatch(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    const struct cert_info *ci = &r->leaf;
    /* The name expected: the SNI, else (after STARTTLS) the name the server gave itself in its
     * greeting (tls.c expected_name). */
    const char *name = r->name_checked[0] ? r->name_checked : r->sni;
    if (!r->leaf_parsed || !name[0])
        return;
    bool by_san = ci->n_san_dns > 0;
    if (by_san ? x509_list_matches(ci->san_dns, name) : x509_name_matches(ci->subject_cn, name))
        return;
    /* some SANs were not kept in san_dns: the parser judged the name against all of them */
    if (by_san && ci->san_truncated && (!ci->host_checked || ci->host_match))
        return;
    const char *src = r->name_source[0] ? r->name_source : "sni";
    begin(c, FK_TLS_CERT_NAME_MISMATCH, NZ_SEV_MEDIUM, ts_server(r));
    json_str(&c->j, "name_checked", name);
    json_str(&c->j, "name_source", src);
    json_str(&c->j, "matched_against", by_san ? "san_dns" : "subject_cn");
    json_uint(&c->j, "san_dns_count", ci->n_san_dns);
    json_bool(&c->j, "san_dns_complete", !ci->san_truncated);
    ev_cert(c);
    if (strcmp(src, "sni") == 0)
        finding_summary(&c->f, "SNI not among the certificate names (%s) of %s",
                        by_san ? ci->san_dns : ci->subject_cn, c->where);
    else
        finding_summary(&c->f, "the server's own name %s (its %s) is not among the certificate names (%s) of %s",
                        name, src, by_san ? ci->san_dns : ci->subject_cn, c->where);
    end(c);
}

/* tls.cert_untrusted: the chain does not verify to the trust store at packet time (trust.c).
 * A self-signed leaf alone is tls.cert_self_signed and an expired or not yet valid leaf
 * tls.cert_expired: they are not said twice. */
static void rule_cert_untrusted(struct ctx *c)
{
    const struct tls_session_rec *r = c->r;
    const struct trust_result *t = &r->trust;
    if (!r->chain_n || t->status != TRUST_UNTRUSTED || t->reason == TR_SELF_SIGNED ||
        t->reason == TR_LEAF_EXPIRED || t->reason == TR_LEAF_NOT_YET_VALID)
        return;
    begin(c, FK_TLS_CERT_UNTRUSTED, NZ_SEV_MEDIUM, ts_server(r));
    json_str(&c->j, "reason", trust_reason_name(t->reason));
    json_str(&c->j, "detail", t->detail);
    json_uint(&c->j, "chain_length", r->chain_n);
    json_uint(&c->j, "path_length", t->path_len);
    if (t->anchor_cn[0])
        json_str(&c->j, "anchor_cn", t->anchor_cn);
    ev_cert(c);
    finding_summary(&c->f, "certificate chain of %s does not verify (%s): %s", c->where,
                    trust_reason_name(t->reason), t->detail);
    end(c);
}

/* "sni (ip:port)", "ip:port", "sni" or "server" for summaries. */
static void set_where(struct ctx *c, const char *srv_ip, uint16_t srv_port)
{
    const struct tls_session_rec *r = c->r;
    if (r->sni[0] && srv_ip)
        snprintf(c->where, sizeof c->where, "%s (%s:%u)", r->sni, srv_ip, (unsigned)srv_port);
    else if (srv_ip)
        snprintf(c->where, sizeof c->where, "%s:%u", srv_ip, (unsigned)srv_port);
    else if (r->sni[0])
        snprintf(c->where, sizeof c->where, "%s", r->sni);
    else
        snprintf(c->where, sizeof c->where, "server");
}

/* --- tls.heartbleed_attempt / tls.heartbleed_leak ------------------------------------ */

/* RFC 6520 §4: a HeartbeatMessage is type(1) payload_length(2) payload padding(>= 16), and
 * one whose payload_length is too large for its record (3 + payload_length + 16 > length) MUST
 * be discarded silently. A vulnerable OpenSSL (1.0.1 - 1.0.1f, CVE-2014-0160) answers it
 * instead, copying payload_length bytes from wherever the record ended: up to 64 KiB of its
 * memory. In clear the lie is visible (attempt: the request's payload_length exceeds what the
 * record can carry, length - 19, Zeek's rule too) and so is a response payload longer than any
 * request could carry (leak: a server obeying §4 never sends one); encrypted, only record
 * lengths are: a record answering the other side's request (the next heartbeat from this side
 * after it) longer than that side's largest request record by TLS_HB_LEAK_MARGIN is the leak
 * (Zeek's heartbleed script compares the same lengths). A normal exchange (equal payloads)
 * yields nothing. */
static void ev_heartbeat(struct ctx *c, const struct tls_hb_event *ev)
{
    json_str(&c->j, "direction", ev->from_server ? "server" : "client");
    json_bool(&c->j, "encrypted", ev->encrypted);
    json_uint(&c->j, "record_length", ev->record_len);
    if (!ev->encrypted) {
        json_uint(&c->j, "heartbeat_type", ev->hb_type);
        json_uint(&c->j, "payload_length", ev->payload_len);
    }
    ev_version(c, "version", "version_code", c->r->version_code);
}

size_t tls_rules_heartbeat(struct tls_hb_state *hs, const struct tls_hb_event *ev,
                           const struct tls_session_rec *r, const char *srv_ip,
                           uint16_t srv_port, void (*emit)(void *ud, const struct finding *f),
                           void *ud)
{
    if (!hs || !ev || !r || !emit)
        return 0;
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.emit = emit;
    c.ud = ud;
    set_where(&c, srv_ip, srv_port);
    int me = ev->from_server ? 1 : 0, peer = 1 - me;
    bool request = ev->hb_type == 1, response = ev->hb_type == 2;
    if (ev->encrypted) {
        response = hs->enc_pending[peer];
        request = !response;
        hs->enc_pending[peer] = false;
        hs->enc_pending[me] = request;
    }
    if (request) {
        /* what a request of this length can carry: type, length and 16 bytes of padding */
        uint16_t carried = ev->record_len >= 19 ? (uint16_t)(ev->record_len - 19) : 0;
        if (!ev->encrypted && ev->payload_len > carried && !hs->attempt_reported) {
            hs->attempt_reported = true;
            begin(&c, FK_TLS_HEARTBLEED_ATTEMPT, NZ_SEV_HIGH, ev->ts_usec);
            ev_heartbeat(&c, ev);
            json_uint(&c.j, "payload_carried", carried);
            finding_summary(&c.f, "heartbeat request from the %s to %s declares %u payload bytes "
                            "in a %u-byte record (Heartbleed probe)",
                            me ? "server" : "client", c.where, (unsigned)ev->payload_len,
                            (unsigned)ev->record_len);
            end(&c);
        }
        if (!ev->encrypted) {
            uint16_t honest = ev->payload_len < carried ? ev->payload_len : carried;
            if (!hs->req_clear[me] || honest > hs->req_carried_max[me])
                hs->req_carried_max[me] = honest;
            hs->req_clear[me] = true;
        }
        if (!hs->req_seen[me] || ev->record_len > hs->req_len_max[me])
            hs->req_len_max[me] = ev->record_len;
        hs->req_seen[me] = true;
    } else if (response && hs->req_seen[peer] && !hs->leak_reported) {
        bool leak;
        if (!ev->encrypted && hs->req_clear[peer])
            leak = ev->payload_len > hs->req_carried_max[peer];
        else
            leak = (uint32_t)ev->record_len > (uint32_t)hs->req_len_max[peer] + TLS_HB_LEAK_MARGIN;
        if (leak) {
            hs->leak_reported = true;
            begin(&c, FK_TLS_HEARTBLEED_LEAK, NZ_SEV_CRITICAL, ev->ts_usec);
            ev_heartbeat(&c, ev);
            json_uint(&c.j, "request_record_length_max", hs->req_len_max[peer]);
            if (hs->req_clear[peer])
                json_uint(&c.j, "request_payload_carried_max", hs->req_carried_max[peer]);
            finding_summary(&c.f, "heartbeat response from the %s of %s (%u-byte record%s) "
                            "larger than any request: memory leaked (Heartbleed)",
                            me ? "server" : "client", c.where, (unsigned)ev->record_len,
                            ev->encrypted ? ", encrypted" : "");
            end(&c);
        }
    }
    return c.count;
}

size_t tls_rules_eval(const struct tls_session_rec *r, int policy, const char *srv_ip,
                      uint16_t srv_port, void (*emit)(void *ud, const struct finding *f),
                      void *ud)
{
    if (!r || !emit)
        return 0;
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.policy = policy;
    c.emit = emit;
    c.ud = ud;
    set_where(&c, srv_ip, srv_port);

    rule_obsolete_version(&c);
    rule_weak_cipher(&c);
    rule_client_offers_weak(&c);
    rule_no_forward_secrecy(&c);
    rule_weak_dh(&c);
    rule_compression(&c);
    rule_insecure_renegotiation(&c);
    rule_heartbeat(&c);
    rule_fallback_scsv(&c);
    rule_inappropriate_fallback(&c);
    rule_downgrade_sentinel(&c);
    rule_offer_choice_mismatch(&c);
    rule_cert_expired(&c);
    rule_cert_expiring(&c);
    rule_cert_long_validity(&c);
    rule_cert_self_signed(&c);
    rule_cert_weak_key(&c);
    rule_cert_weak_signature(&c);
    rule_cert_name_mismatch(&c);
    rule_cert_untrusted(&c);
    return c.count;
}
