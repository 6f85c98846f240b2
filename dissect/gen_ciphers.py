#!/usr/bin/env python3
"""gen_ciphers.py: turn dissect/ciphers.tsv into the C table dissect/ciphers.c includes.

Usage: gen_ciphers.py ciphers.tsv out.h      (python3 standard library only)

The TSV is the reviewable source of truth; this script refuses it (exit 1, one message per
problem, each naming the TSV line) unless:
  * the column header is exactly COLUMNS and every row has 11 tab-separated fields;
  * rows sit in a "[tls]" section (codes 0xXXXX) or an "[sslv2]" section (codes 0xXXXXXX);
  * codes are strictly increasing inside each section (sorted, no duplicates) and names
    are unique across the file;
  * every kx/auth/enc/mode/mac/class token names a constant of the matching enum in
    ciphers.h (read from next to this script, so the header stays the only enum list);
  * every field agrees with what the registered name spells out (kx/auth from the part
    before _WITH_, enc/bits/mode/mac from the part after it; TLS 1.3 names carry no
    key exchange) and the class agrees with the precedence rules described in the TSV
    header (classify() below).
Only if all of that holds is out.h written (via a temporary file, so a failed run never
leaves a half-written header behind).
"""

import os
import re
import sys

COLUMNS = ["code", "name", "kx", "auth", "enc", "mode", "mac", "enc_bits", "fs", "export",
           "class"]

# TSV column -> enum prefix in ciphers.h.
ENUM_PREFIX = {"kx": "CKX_", "auth": "CAU_", "enc": "CEN_", "mode": "CMO_", "mac": "CMA_",
               "class": "CCL_"}
ENUM_TAG = {"kx": "cipher_kx", "auth": "cipher_auth", "enc": "cipher_enc",
            "mode": "cipher_mode", "mac": "cipher_mac", "class": "cipher_class"}

AEAD_MODES = {"GCM", "CCM", "CCM8", "POLY1305"}

# Key exchange / authentication spelled before "_WITH_" (after "TLS_", minus any
# _EXPORT/_EXPORT1024 marker). anon suites keep the kx their name says (DH/ECDH): the
# server's key is ephemeral on the wire, but with no authentication an active attacker
# holds it, so they are not counted as forward secret. ECCPWD (RFC 8492) is a
# password-authenticated exchange; ciphers.h has no password auth, so it is PSK here.
KXAUTH = {
    "NULL": ("NULL", "NULL"),
    "RSA": ("RSA", "RSA"),
    "DH_DSS": ("DH", "DSS"),
    "DH_RSA": ("DH", "RSA"),
    "DHE_DSS": ("DHE", "DSS"),
    "DHE_RSA": ("DHE", "RSA"),
    "DH_anon": ("DH", "ANON"),
    "KRB5": ("KRB5", "KRB5"),
    "PSK": ("PSK", "PSK"),
    "DHE_PSK": ("DHE_PSK", "PSK"),
    "PSK_DHE": ("DHE_PSK", "PSK"),      # 0xC0AA/0xC0AB are registered with this word order
    "RSA_PSK": ("RSA_PSK", "RSA"),
    "ECDHE_PSK": ("ECDHE_PSK", "PSK"),
    "ECDH_ECDSA": ("ECDH", "ECDSA"),
    "ECDHE_ECDSA": ("ECDHE", "ECDSA"),
    "ECDH_RSA": ("ECDH", "RSA"),
    "ECDHE_RSA": ("ECDHE", "RSA"),
    "ECDH_anon": ("ECDH", "ANON"),
    "SRP_SHA": ("SRP", "SRP"),
    "SRP_SHA_RSA": ("SRP", "RSA"),
    "SRP_SHA_DSS": ("SRP", "DSS"),
    "ECCPWD": ("ECCPWD", "PSK"),
    "GOSTR341112_256": ("GOST", "GOST"),
}

# Ephemeral key exchanges. SRP is deliberately absent (see the TSV header); ECCPWD derives
# fresh ephemeral scalars per handshake (RFC 8492 §3.4) and is in.
FS_KX = {"DHE", "ECDHE", "DHE_PSK", "ECDHE_PSK", "TLS13", "ECCPWD"}

# Bulk cipher spelled after "_WITH_" (or after "TLS_" for TLS 1.3 names), longest first:
# token -> (enc, key bits, mode, block64, fixed mac or None). The MAC word that follows
# is parsed by MAC_WORDS; AEAD modes take mac AEAD whatever hash word follows (that word
# names the PRF/HKDF hash, not a record MAC).
BULK = [
    ("KUZNYECHIK_CTR_OMAC", ("GOST", 256, "CNT", False, "GOST")),
    ("MAGMA_CTR_OMAC", ("GOST", 256, "CNT", True, "GOST")),
    ("28147_CNT_IMIT", ("GOST", 256, "CNT", True, "GOST")),
    # TLS 1.3 GOST (RFC 9367): MGM is an AEAD mode ciphers.h has no constant for.
    ("KUZNYECHIK_MGM_L", ("GOST", 256, "NONE", False, "AEAD")),
    ("KUZNYECHIK_MGM_S", ("GOST", 256, "NONE", False, "AEAD")),
    ("MAGMA_MGM_L", ("GOST", 256, "NONE", True, "AEAD")),
    ("MAGMA_MGM_S", ("GOST", 256, "NONE", True, "AEAD")),
    ("CHACHA20_POLY1305", ("CHACHA20", 256, "POLY1305", False, None)),
    ("3DES_EDE_CBC", ("3DES", 168, "CBC", True, None)),
    ("IDEA_CBC", ("IDEA", 128, "CBC", True, None)),
    ("DES40_CBC", ("DES40", 40, "CBC", True, None)),
    ("DES_CBC_40", ("DES40", 40, "CBC", True, None)),
    ("DES_CBC", ("DES", 56, "CBC", True, None)),
    ("RC2_CBC_40", ("RC2", 40, "CBC", True, None)),
    ("RC2_CBC_56", ("RC2", 56, "CBC", True, None)),
    ("RC4_128", ("RC4", 128, "STREAM", False, None)),
    ("RC4_40", ("RC4", 40, "STREAM", False, None)),
    ("RC4_56", ("RC4", 56, "STREAM", False, None)),
    ("SEED_CBC", ("SEED", 128, "CBC", False, None)),
    ("SM4_GCM", ("SM4", 128, "GCM", False, None)),
    ("SM4_CCM", ("SM4", 128, "CCM", False, None)),
    ("NULL", ("NULL", 0, "NONE", False, None)),
]
for _alg in ("AES", "CAMELLIA", "ARIA"):
    for _bits in (128, 256):
        for _mode, _mword in (("CCM8", "CCM_8"), ("CBC", "CBC"), ("GCM", "GCM"), ("CCM", "CCM")):
            BULK.append(("%s_%d_%s" % (_alg, _bits, _mword),
                         ("%s%d" % (_alg, _bits), _bits, _mode, False, None)))
BULK.sort(key=lambda kv: -len(kv[0]))

MAC_WORDS = {"": None, "NULL": "NONE", "MD5": "MD5", "SHA": "SHA1", "SHA256": "SHA256",
             "SHA384": "SHA384", "SM3": "SM3"}

# TLS 1.3 integrity-only suites (RFC 9150): no encryption, HMAC record protection.
INTEGRITY_ONLY = {"TLS_SHA256_SHA256": "SHA256", "TLS_SHA384_SHA384": "SHA384"}

# SSLv2 cipher kinds (SSL 2.0 spec, Appendix C): name -> (enc, bits, mode, block64).
# Every kind uses RSA key exchange and an MD5 MAC.
V2_KINDS = {
    "SSL_CK_RC4_128_WITH_MD5": ("RC4", 128, "STREAM", False),
    "SSL_CK_RC4_128_EXPORT40_WITH_MD5": ("RC4", 40, "STREAM", False),
    "SSL_CK_RC2_128_CBC_WITH_MD5": ("RC2", 128, "CBC", True),
    "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5": ("RC2", 40, "CBC", True),
    "SSL_CK_IDEA_128_CBC_WITH_MD5": ("IDEA", 128, "CBC", True),
    "SSL_CK_DES_64_CBC_WITH_MD5": ("DES", 56, "CBC", True),
    "SSL_CK_DES_192_EDE3_CBC_WITH_MD5": ("3DES", 168, "CBC", True),
}


class TsvError(Exception):
    pass


def classify(d, block64):
    """Strength class; the first matching rule wins, i.e. the worst class applies."""
    if d["kx"] == "UNKNOWN":                       # SCSVs only
        return "SIGNALLING"
    if d["enc"] == "NULL":
        return "NULL"
    if d["auth"] == "ANON":
        return "ANON"
    if d["export"]:
        return "EXPORT"
    if d["enc"] in ("DES", "DES40", "RC2", "RC4") or d["mac"] == "MD5":
        return "LOW"
    if block64:                                    # 3DES, IDEA, GOST Magma/28147
        return "MEDIUM_64BIT"
    if d["mac"] != "AEAD":
        return "CBC_OBSOLETE"
    return "STRONG" if d["fs"] else "AEAD_NOFS"


def parse_bulk(spec):
    """'AES_128_GCM_SHA256' -> (enc, bits, mode, mac, block64)."""
    for token, (enc, bits, mode, block64, fixed_mac) in BULK:
        if spec == token or spec.startswith(token + "_"):
            rest = spec[len(token) + 1:]
            if fixed_mac is not None:
                if rest:
                    raise TsvError("unexpected '%s' after %s" % (rest, token))
                return enc, bits, mode, fixed_mac, block64
            if rest not in MAC_WORDS:
                raise TsvError("unknown MAC word '%s'" % rest)
            mac = MAC_WORDS[rest]
            if mode in AEAD_MODES:
                mac = "AEAD"
            elif mac is None:
                raise TsvError("non-AEAD cipher %s without a MAC word" % token)
            return enc, bits, mode, mac, block64
    raise TsvError("cannot parse cipher part '%s'" % spec)


def derive_tls(name):
    """Fields implied by an IANA-style TLS suite name, plus the 64-bit-block flag."""
    d = {"export": "EXPORT" in name}
    if name.endswith("_SCSV"):
        d.update(kx="UNKNOWN", auth="UNKNOWN", enc="UNKNOWN", mode="NONE", mac="NONE",
                 enc_bits=0, fs=False)
        return d, False
    if not name.startswith("TLS_"):
        raise TsvError("TLS suite name must start with TLS_")
    if name in INTEGRITY_ONLY:
        d.update(kx="TLS13", auth="TLS13", enc="NULL", mode="NONE", mac=INTEGRITY_ONLY[name],
                 enc_bits=0, fs=True)
        return d, False
    body = name[4:]
    if "_WITH_" in body:
        left, spec = body.split("_WITH_", 1)
        base = re.sub(r"_EXPORT(1024)?$", "", left)
        if base not in KXAUTH:
            raise TsvError("unknown key exchange/auth part '%s'" % base)
        kx, auth = KXAUTH[base]
        if base != left and kx == "RSA":           # temporary 512/1024-bit RSA key
            kx = "RSA_EXPORT"
    else:                                          # TLS 1.3: TLS_<AEAD>_<HASH>
        kx, auth, spec = "TLS13", "TLS13", body
    enc, bits, mode, mac, block64 = parse_bulk(spec)
    if "_MGM_" in spec:                            # RFC 9367 suites are TLS 1.3 only
        kx, auth = "TLS13", "TLS13"
    d.update(kx=kx, auth=auth, enc=enc, mode=mode, mac=mac, enc_bits=bits)
    d["fs"] = kx in FS_KX and auth != "ANON"
    return d, block64


def derive_v2(name):
    if name not in V2_KINDS:
        raise TsvError("unknown SSLv2 cipher kind name")
    enc, bits, mode, block64 = V2_KINDS[name]
    export = "EXPORT40" in name
    d = {"kx": "RSA_EXPORT" if export else "RSA", "auth": "RSA", "enc": enc, "mode": mode,
         "mac": "MD5", "enc_bits": bits, "fs": False, "export": export}
    return d, block64


def read_enums(header_path):
    """{tsv column: set of token suffixes} from the enum definitions in ciphers.h."""
    try:
        with open(header_path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise SystemExit("gen_ciphers.py: cannot read %s: %s" % (header_path, e))
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    enums = {}
    for col, tag in ENUM_TAG.items():
        m = re.search(r"enum\s+%s\s*\{(.*?)\}" % tag, text, flags=re.S)
        if not m:
            raise SystemExit("gen_ciphers.py: enum %s not found in %s" % (tag, header_path))
        names = re.findall(r"\b(%s[A-Z0-9_]+)\b" % ENUM_PREFIX[col], m.group(1))
        enums[col] = {n[len(ENUM_PREFIX[col]):] for n in names}
    return enums


def show(v):
    return ("yes" if v else "no") if isinstance(v, bool) else str(v)


def parse_bool(s):
    if s == "yes":
        return True
    if s == "no":
        return False
    raise TsvError("expected yes or no, got '%s'" % s)


def load(tsv_path, enums):
    """Returns (tls rows, v2 rows, errors); a row is (lineno, code, fields dict)."""
    errors = []
    sections = {"tls": [], "sslv2": []}
    seen_sections = []
    section = None
    header_seen = False
    names = {}
    last_code = {}
    with open(tsv_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for lineno, line in enumerate(lines, 1):
        where = "%s:%d: " % (tsv_path, lineno)
        if line.strip() == "" or line.startswith("#"):
            continue
        if line.rstrip() != line:
            errors.append(where + "trailing whitespace")
            continue
        if not header_seen:
            if line.split("\t") != COLUMNS:
                errors.append(where + "expected the column header: " + "\\t".join(COLUMNS))
                return [], [], errors
            header_seen = True
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            if m.group(1) not in sections or m.group(1) in seen_sections:
                errors.append(where + "unknown or repeated section %s" % line)
            else:
                section = m.group(1)
                seen_sections.append(section)
            continue
        if section is None:
            errors.append(where + "row before the first [tls]/[sslv2] section")
            continue
        f = line.split("\t")
        if len(f) != len(COLUMNS):
            errors.append(where + "expected %d tab-separated fields, got %d"
                          % (len(COLUMNS), len(f)))
            continue
        row = dict(zip(COLUMNS, f))
        try:
            width = 4 if section == "tls" else 6
            if not re.fullmatch(r"0x[0-9A-F]{%d}" % width, row["code"]):
                raise TsvError("code must be 0x + %d upper-case hex digits in [%s]"
                               % (width, section))
            code = int(row["code"], 16)
            if section in last_code and code <= last_code[section]:
                raise TsvError("code %s is not greater than the previous one (unsorted or "
                               "duplicate)" % row["code"])
            last_code[section] = code
            if not re.fullmatch(r"(TLS|SSL_CK)_[A-Za-z0-9_]+", row["name"]):
                raise TsvError("malformed name '%s'" % row["name"])
            if row["name"] in names:
                raise TsvError("duplicate name (also line %d)" % names[row["name"]])
            names[row["name"]] = lineno
            for col in ENUM_PREFIX:
                if row[col] not in enums[col]:
                    raise TsvError("%s '%s' is not a constant of enum %s (%s...)"
                                   % (col, row[col], ENUM_TAG[col], ENUM_PREFIX[col]))
            if not re.fullmatch(r"0|[1-9][0-9]{0,2}", row["enc_bits"]):
                raise TsvError("enc_bits must be a decimal number")
            got = {"kx": row["kx"], "auth": row["auth"], "enc": row["enc"],
                   "mode": row["mode"], "mac": row["mac"], "enc_bits": int(row["enc_bits"]),
                   "fs": parse_bool(row["fs"]), "export": parse_bool(row["export"]),
                   "class": row["class"]}
            want, block64 = (derive_tls if section == "tls" else derive_v2)(row["name"])
            want["class"] = classify(want, block64)
            for col in ("kx", "auth", "enc", "mode", "mac", "enc_bits", "fs", "export",
                        "class"):
                if got[col] != want[col]:
                    raise TsvError("%s is '%s' but %s implies '%s'"
                                   % (col, show(got[col]), row["name"], show(want[col])))
            sections[section].append((lineno, code, row["name"], got))
        except TsvError as e:
            errors.append(where + str(e))
    if not header_seen:
        errors.append("%s: no column header" % tsv_path)
    for s in sections:
        if s not in seen_sections:
            errors.append("%s: missing section [%s]" % (tsv_path, s))
    return sections["tls"], sections["sslv2"], errors


def c_bool(v):
    return "true" if v else "false"


def c_info(code, name, d):
    return ("{.code = 0x%04X, .name = \"%s\", .kx = CKX_%s, .auth = CAU_%s, .enc = CEN_%s, "
            ".mode = CMO_%s, .mac = CMA_%s, .enc_bits = %d, .fs = %s, .export_ = %s, "
            ".cls = CCL_%s}" % (code, name, d["kx"], d["auth"], d["enc"], d["mode"], d["mac"],
                                d["enc_bits"], c_bool(d["fs"]), c_bool(d["export"]),
                                d["class"]))


def render(tls, v2):
    out = []
    out.append("/* ciphers_table.h: GENERATED by dissect/gen_ciphers.py from dissect/ciphers.tsv."
               " Do not edit;")
    out.append(" * edit the TSV. %d TLS suites sorted by code, %d SSLv2 cipher kinds sorted by"
               " kind." % (len(tls), len(v2)))
    out.append(" * Included only by dissect/ciphers.c. */")
    out.append("#ifndef NZ_CIPHERS_TABLE_H")
    out.append("#define NZ_CIPHERS_TABLE_H")
    out.append("")
    out.append("#include \"dissect/ciphers.h\"")
    out.append("")
    out.append("static const struct cipher_info cipher_table[] = {")
    for _, code, name, d in tls:
        out.append("    " + c_info(code, name, d) + ",")
    out.append("};")
    out.append("")
    out.append("/* SSLv2 CIPHER-KIND values are 3 bytes; info.code is 0 (no TLS code point). */")
    out.append("struct cipher_v2_entry {")
    out.append("    uint32_t kind;           /* 0x000000..0xFFFFFF */")
    out.append("    struct cipher_info info;")
    out.append("};")
    out.append("")
    out.append("static const struct cipher_v2_entry cipher_table_v2[] = {")
    for _, code, name, d in v2:
        out.append("    {.kind = 0x%06X, .info = %s}," % (code, c_info(0, name, d)))
    out.append("};")
    out.append("")
    out.append("#endif")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: gen_ciphers.py ciphers.tsv out.h\n")
        return 2
    tsv_path, out_path = argv[1], argv[2]
    header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ciphers.h")
    enums = read_enums(header)
    try:
        tls, v2, errors = load(tsv_path, enums)
    except OSError as e:
        sys.stderr.write("gen_ciphers.py: cannot read %s: %s\n" % (tsv_path, e))
        return 1
    if not errors and not tls:
        errors.append("%s: [tls] section is empty" % tsv_path)
    if errors:
        for e in errors:
            sys.stderr.write(e + "\n")
        sys.stderr.write("gen_ciphers.py: %d error(s); %s not written\n" % (len(errors), out_path))
        return 1
    text = render(tls, v2)
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
