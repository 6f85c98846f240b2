#!/usr/bin/env bash
# certs.sh — throwaway test PKI for the TLS captures (pcaps/gen/tls.sh).
#
# Usage: bash pcaps/gen/certs.sh OUTDIR
#
# Writes into OUTDIR (created if missing; existing files are overwritten):
#   ca.pem ca.key                 test root CA "netzwacht test CA", RSA-2048, SHA-256, 10 years
#   other-ca.pem other-ca.key     an unrelated CA (P-256) used as the only trust anchor when a
#                                 client must reject our chain (alert 48 unknown_ca)
#   leaf.pem leaf.key             www.netzwacht.test, RSA-2048, SHA-256, 90 days, signed by ca
#   expired.pem expired.key       www.netzwacht.test, valid 2020-01-01 .. 2020-04-01 (expired), by ca
#   selfsigned.pem selfsigned.key www.netzwacht.test, self-signed, RSA-2048, SHA-256, 90 days
#   rsa1024.pem rsa1024.key       www.netzwacht.test, RSA-1024 key, SHA-256, by ca
#   sha1.pem sha1.key             www.netzwacht.test, RSA-2048, signed with SHA-1 by ca
#   mismatch.pem mismatch.key     wrong.netzwacht.test (CN and SAN), RSA-2048, SHA-256, by ca
#   ecdsa.pem ecdsa.key           www.netzwacht.test, ECDSA P-256, SHA-256, by ca
#   expiring.pem expiring.key     www.netzwacht.test, RSA-2048, SHA-256, valid from now for 10
#                                 days (expires within 30 days of the capture), by ca
#   long.pem long.key             www.netzwacht.test, RSA-2048, SHA-256, valid from now for 730
#                                 days (over the 398 days of the CA/B Forum BR), by ca
#   big-leaf.pem big-leaf.key     www.netzwacht.test, RSA-4096, issued by big-int3
#   big-chain.pem                 big-int3 + big-int2 + big-int1 (RSA-4096 each; int1 issued by ca)
#                                 -> server sends 4 certificates of 4096-bit keys
#   dh1024.pem                    freshly generated 1024-bit DH group (weak, for DHE-1024)
#   dh2048.pem                    RFC 7919 ffdhe2048 group (near miss for DHE-1024)
#
# Every leaf except "expired", "expiring" and "long" is valid from now for 90 days (under the 366-day lifetime limit,
# so each certificate capture shows exactly one defect). Keys and serials are random on every
# run; nothing in pcaps/expected depends on them.
# Needs: openssl (>= 3.0). Installs nothing, touches nothing outside OUTDIR.
set -euo pipefail

out=${1:?usage: certs.sh OUTDIR}
mkdir -p "$out"
cd "$out"

# openssl ca bookkeeping: a fresh database per run.
rm -rf ca-db && mkdir -p ca-db/new
: > ca-db/index.txt
cat > ca.cnf <<'EOF'
[ ca ]
default_ca = tca

[ tca ]
dir             = ./ca-db
database        = $dir/index.txt
new_certs_dir   = $dir/new
rand_serial     = yes
default_md      = sha256
default_days    = 90
policy          = pol_any
unique_subject  = no
copy_extensions = none
email_in_dn     = no

[ pol_any ]
commonName             = supplied
organizationName       = optional
organizationalUnitName = optional

[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = placeholder

[ ext_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ ext_int ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ ext_leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = DNS:$ENV::NW_SAN

[ ext_self ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
subjectAltName         = DNS:$ENV::NW_SAN
EOF

rsa_key() { openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$1" 2>/dev/null; }
ec_key()  { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# sign NAME CN ISSUER EXT [extra openssl-ca args...]: CSR from NAME.key, certificate NAME.pem.
sign() {
  local name=$1 cn=$2 issuer=$3 ext=$4
  shift 4
  NW_SAN=$cn openssl req -new -config ca.cnf -key "$name.key" -subj "/O=netzwacht test/CN=$cn" \
    -out "$name.csr"
  NW_SAN=$cn openssl ca -batch -notext -config ca.cnf -cert "$issuer.pem" -keyfile "$issuer.key" \
    -extfile ca.cnf -extensions "$ext" -in "$name.csr" -out "$name.pem" "$@" 2>/dev/null
  rm -f "$name.csr"
}

# Root CA, self-signed.
rsa_key ca.key 2048
NW_SAN=unused openssl req -x509 -new -config ca.cnf -key ca.key -sha256 -days 3650 \
  -subj "/O=netzwacht test/CN=netzwacht test CA" -extensions ext_root -out ca.pem

# Unrelated CA (only used as a wrong trust anchor).
ec_key other-ca.key
NW_SAN=unused openssl req -x509 -new -config ca.cnf -key other-ca.key -sha256 -days 3650 \
  -subj "/O=somebody else/CN=unrelated test CA" -extensions ext_root -out other-ca.pem

rsa_key leaf.key 2048
sign leaf www.netzwacht.test ca ext_leaf

rsa_key expired.key 2048
sign expired www.netzwacht.test ca ext_leaf -startdate 20200101000000Z -enddate 20200401000000Z

rsa_key selfsigned.key 2048
NW_SAN=www.netzwacht.test openssl req -x509 -new -config ca.cnf -key selfsigned.key -sha256 \
  -days 90 -subj "/O=netzwacht test/CN=www.netzwacht.test" -extensions ext_self -out selfsigned.pem

rsa_key rsa1024.key 1024
sign rsa1024 www.netzwacht.test ca ext_leaf

rsa_key sha1.key 2048
sign sha1 www.netzwacht.test ca ext_leaf -md sha1

rsa_key mismatch.key 2048
sign mismatch wrong.netzwacht.test ca ext_leaf

ec_key ecdsa.key
sign ecdsa www.netzwacht.test ca ext_leaf

rsa_key expiring.key 2048
sign expiring www.netzwacht.test ca ext_leaf -days 10

rsa_key long.key 2048
sign long www.netzwacht.test ca ext_leaf -days 730

# Long chain of 4096-bit keys: ca -> big-int1 -> big-int2 -> big-int3 -> big-leaf.
rsa_key big-int1.key 4096
sign big-int1 "netzwacht test intermediate 1" ca ext_int -days 1825
rsa_key big-int2.key 4096
sign big-int2 "netzwacht test intermediate 2" big-int1 ext_int -days 1825
rsa_key big-int3.key 4096
sign big-int3 "netzwacht test intermediate 3" big-int2 ext_int -days 1825
rsa_key big-leaf.key 4096
sign big-leaf www.netzwacht.test big-int3 ext_leaf
cat big-int3.pem big-int2.pem big-int1.pem > big-chain.pem

# DH groups for DHE-RSA: a weak 1024-bit one and the RFC 7919 2048-bit group.
openssl dhparam -out dh1024.pem 1024 2>/dev/null
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out dh2048.pem 2>/dev/null

rm -rf ca-db
echo "certs.sh: wrote test PKI to $out" >&2
