#!/usr/bin/env bash
# trust-certs.sh — throwaway PKI for the certificate-chain trust captures (issue #11):
# pcaps/tls/trust-*.pcap (gen/tls.sh) and mail/smtp-starttls-greeting-*.pcap (gen/mail.sh).
# Separate from certs.sh ("netzwacht test CA"): its own roots and intermediates, with DNs that
# no other capture uses, so that a trust store holding only this root judges exactly these chains.
#
# Usage: bash pcaps/gen/trust-certs.sh OUTDIR tls|mail
#
# Every generator makes its own set on every run (keys are random) and commits the public root
# next to its captures (tls: pcaps/tls/trust/root.pem + other-root.pem; mail:
# pcaps/mail/trust/root.pem), so re-running one generator never breaks the other one's chains.
# The two sets have different DNs (a trust store may hold both roots at once).
#
# Set "tls" writes into OUTDIR (all RSA-2048, SHA-256):
#   root.pem root.key         O=netzwacht trust test, CN=netzwacht trust root (self-signed, 10 years)
#   int.pem int.key           CN=netzwacht trust intermediate, by root, CA pathlen 0, 5 years
#   leaf.pem leaf.key         www.trust.netzwacht.test (CN + SAN), by int, 90 days from now
#   int-expired.pem .key      CN=netzwacht trust expired intermediate, by root, valid
#                             2020-01-01 .. 2021-01-01 (ended in the past)
#   leaf-expint.pem .key      www.trust.netzwacht.test, by int-expired, 90 days from now
#   int-rekeyed.pem .key      the SAME subject DN as int (CN=netzwacht trust intermediate), a new
#                             key, by root: a re-keyed intermediate
#   leaf-noaki.pem .key       www.trust.netzwacht.test, by int (the original key), WITHOUT an
#                             authorityKeyIdentifier: a verifier finds its issuer by DN only, so
#                             sent together with int-rekeyed its signature fails to verify
#                             (with an AKI, a verifier would report a missing issuer instead)
#   other-root.pem .key       O=netzwacht other trust test, CN=netzwacht other trust root (not in
#                             root.pem)
#   other-int.pem .key        CN=netzwacht other trust intermediate, by other-root
#   leaf-other.pem .key       www.trust.netzwacht.test, by other-int
#   wildcard.pem .key         *.trust.netzwacht.test (CN + SAN), by int
#   drown.pem drown.key       drown.trust.netzwacht.test, by int: the key K of the DROWN pair
#   chain-*.pem               what each server sends after its leaf (see tls.sh c_trust)
# Set "mail":
#   root.pem root.key         O=netzwacht trust test, CN=netzwacht trust mail root
#   int.pem int.key           CN=netzwacht trust mail intermediate, by root
#   mail.pem mail.key         mail.trust.netzwacht.test (CN + SAN), by int, 90 days
#   mx-other.pem .key         mx.other.netzwacht.test (CN + SAN), by int, 90 days
#   mail-chain.pem            mail.pem + int.pem; mx-other-chain.pem: mx-other.pem + int.pem
#                             (Postfix smtpd_tls_cert_file: leaf first, then the intermediate)
# Needs: openssl (>= 3.0). Installs nothing, touches nothing outside OUTDIR.
set -euo pipefail

out=${1:?usage: trust-certs.sh OUTDIR tls|mail}
set_=${2:?usage: trust-certs.sh OUTDIR tls|mail}
case $set_ in tls|mail) ;; *) echo "trust-certs.sh: unknown set '$set_'" >&2; exit 2;; esac
mkdir -p "$out"
cd "$out"

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
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied

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
basicConstraints       = critical, CA:TRUE, pathlen:0
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

[ ext_leaf_noaki ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = none
subjectAltName         = DNS:$ENV::NW_SAN
EOF

rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# sign NAME SUBJECT ISSUER EXT [extra openssl-ca args...]: new key NAME.key, certificate
# NAME.pem with SUBJECT ("/O=.../CN=..."); the SAN (leaves) is the CN.
sign() {
  local name=$1 subj=$2 issuer=$3 ext=$4
  shift 4
  rsa_key "$name.key"
  NW_SAN=${subj##*CN=} openssl req -new -config ca.cnf -key "$name.key" -subj "$subj" \
    -out "$name.csr"
  NW_SAN=${subj##*CN=} openssl ca -batch -notext -config ca.cnf -cert "$issuer.pem" \
    -keyfile "$issuer.key" -extfile ca.cnf -extensions "$ext" -in "$name.csr" -out "$name.pem" \
    "$@" 2>ca.err || { cat ca.err >&2; exit 1; }
  rm -f "$name.csr"
}

# root NAME SUBJECT: self-signed root, 10 years.
root() {
  rsa_key "$1.key"
  NW_SAN=unused openssl req -x509 -new -config ca.cnf -key "$1.key" -sha256 -days 3650 \
    -subj "$2" -extensions ext_root -out "$1.pem"
}

O=/O=netzwacht\ trust\ test
if [ "$set_" = tls ]; then
  root root "$O/CN=netzwacht trust root"
  sign int "$O/CN=netzwacht trust intermediate" root ext_int -days 1825
  sign leaf "$O/CN=www.trust.netzwacht.test" int ext_leaf

  sign int-expired "$O/CN=netzwacht trust expired intermediate" root ext_int \
    -startdate 20200101000000Z -enddate 20210101000000Z
  sign leaf-expint "$O/CN=www.trust.netzwacht.test" int-expired ext_leaf

  sign int-rekeyed "$O/CN=netzwacht trust intermediate" root ext_int -days 1825
  sign leaf-noaki "$O/CN=www.trust.netzwacht.test" int ext_leaf_noaki

  root other-root "/O=netzwacht other trust test/CN=netzwacht other trust root"
  sign other-int "/O=netzwacht other trust test/CN=netzwacht other trust intermediate" \
    other-root ext_int -days 1825
  sign leaf-other "/O=netzwacht other trust test/CN=www.trust.netzwacht.test" other-int ext_leaf

  sign wildcard "$O/CN=*.trust.netzwacht.test" int ext_leaf
  sign drown "$O/CN=drown.trust.netzwacht.test" int ext_leaf

  cat int.pem > chain-good.pem
  cat int.pem root.pem > chain-with-root.pem
  cat int-expired.pem > chain-expired-int.pem
  cat int-rekeyed.pem > chain-rekeyed.pem
  cat other-int.pem other-root.pem > chain-other.pem
else
  root root "$O/CN=netzwacht trust mail root"
  sign int "$O/CN=netzwacht trust mail intermediate" root ext_int -days 1825
  sign mail "$O/CN=mail.trust.netzwacht.test" int ext_leaf
  sign mx-other "$O/CN=mx.other.netzwacht.test" int ext_leaf
  cat mail.pem int.pem > mail-chain.pem
  cat mx-other.pem int.pem > mx-other-chain.pem
fi

# Self-check: the keys differ where they must, the DN is the same where it must be.
spki() { openssl x509 -in "$1" -noout -pubkey | openssl sha256 | awk '{print $NF}'; }
if [ "$set_" = tls ]; then
  [ "$(openssl x509 -in int.pem -noout -subject)" = "$(openssl x509 -in int-rekeyed.pem -noout -subject)" ] \
    || { echo "trust-certs.sh: int-rekeyed has another DN" >&2; exit 1; }
  [ "$(spki int.pem)" != "$(spki int-rekeyed.pem)" ] \
    || { echo "trust-certs.sh: int-rekeyed has the same key" >&2; exit 1; }
fi
chmod 644 ./*.pem
chmod 600 ./*.key
rm -rf ca-db ca.err
echo "trust-certs.sh: wrote the $set_ trust PKI to $out" >&2
