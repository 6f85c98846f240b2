#!/usr/bin/env bash
# tls.sh - record the TLS test captures (pcaps/tls/*.pcap) from real software on loopback,
# derive the synthetic ones from them (pcaps/gen/tls_synth.py), write the tshark reference
# expectations (pcaps/expected/tls/<name>.tshark.tsv) and pcaps/manifest/tls.tsv.
#
# Usage, from anywhere, as root (port 443, tcpdump on lo):
#   bash pcaps/gen/tls.sh                  everything; pcaps/ changes only if all of it worked
#   bash pcaps/gen/tls.sh 'FUNC [ARGS]'... only these functions (c_tls10 'c_tls12_dhe 1024'
#                                          all_synthetic all_trust ...), copied into pcaps/tls and
#                                          pcaps/expected/tls with their flows.tsv; their rows are
#                                          merged into manifest/tls.tsv (nz_install_partial), the
#                                          other captures stay byte-identical. Synthetic cases
#                                          take their sources from pcaps/tls/.
#   bash pcaps/gen/tls.sh all_trust        only the certificate-chain trust captures
#                                          (tls/trust-*.pcap) and tls/trust/root.pem,
#                                          other-root.pem: they are always recorded together,
#                                          since every run makes a new trust PKI.
#
# Needs (Debian 12 packages, checked by nz_need, never installed here): openssl, gnutls-bin,
# tcpdump, tshark + wireshark-common (capinfos), socat, curl, iproute2 (ss), python3.
# Helpers come from common.sh (spawn/stop by PID, capture start/stop, staging, manifest).
#
# Network: servers listen on 127.0.44.1 (clients connect from 127.0.0.1) and, for one capture,
# on [::1]; each tcpdump filters on that host and port, so other generators running at the
# same time on lo do not leak in. gnutls-serv has no bind-address option and listens on the
# wildcard address of its port for the seconds of its capture; all its traffic is loopback.
# Certificates and keys are regenerated on every run (certs.sh and, for the trust-* captures,
# trust-certs.sh, in the temp dir; the trust root's public certificate is committed as
# pcaps/tls/trust/root.pem, the unrelated root as other-root.pem). Captures are
# not byte-identical between runs (keys, randoms, ports, times), but every column of the
# expectation files is: they only hold versions, suites, names, fingerprints, alerts, flags.
# TLS 1.2 is used wherever a certificate must be visible: TLS 1.3 encrypts the Certificate.
#
# Not producible with the installed software, hence synthetic (tls_synth.py, see the manifest):
# SSL 2.0 and SSL 3.0 (no SSLv2/3 in OpenSSL 3 or GnuTLS 3.7 on Debian 12), export suites,
# NULL chosen without being offered, the downgrade sentinel after a 1.3 offer, a server picking
# TLS 1.0 against a 1.2+ client, TLS compression (OpenSSL built without zlib, none in GnuTLS).

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
nz_init tls
nz_need openssl:openssl gnutls-serv:gnutls-bin gnutls-cli:gnutls-bin tcpdump:tcpdump \
  tshark:tshark capinfos:wireshark-common socat:socat curl:curl ss:iproute2 timeout:coreutils

SYNTH=$NZ_GEN/tls_synth.py
ADDR=127.0.44.1
C=$NZ_TMP/certs
MAX_SIZE=51200
mkdir -p "$NZ_TMP/www" "$NZ_OUT/tls" "$NZ_OUT/expected/tls"
printf 'hello from netzwacht\n' > "$NZ_TMP/www/hello.txt"
cd "$NZ_TMP/www"   # openssl s_server -WWW serves files relative to its working directory

# --- helpers -------------------------------------------------------------------------------

# begin NAME PORT BY SHOWS [LISTEN_ADDR]: start describing one capture; the port must be free
# (on LISTEN_ADDR, default $ADDR; "any" = on every address, for gnutls-serv).
begin() {
  NAME=$1 PORT=$2 BY=$3 SHOWS=$4
  LADDR=${5:-$ADDR}
  FILTER="host $ADDR and tcp port $PORT"
  [ "$LADDR" = "::1" ] && FILTER="ip6 host ::1 and tcp port $PORT"
  LOG=$NZ_TMP/$NAME.client.log
  : > "$LOG"
  nz_log "recording tls/$NAME.pcap (port $PORT)"
  if [ "$LADDR" = any ]; then nz_port_free - "$PORT"; else nz_port_free - "$PORT" "$LADDR"; fi
}

# serve CMD...: start the server, wait until it listens, then start tcpdump.
serve() {
  nz_spawn SRV_PID "$NZ_TMP/$NAME.server.log" "$@"
  if [ "$LADDR" = any ]; then nz_wait_listen - "$PORT" 10; else nz_wait_listen - "$PORT" 10 "$LADDR"; fi
  nz_capture_start CAP_PID - lo "tls/$NAME.pcap" "$FILTER"
  sleep 0.2
}

# Client input: one line, then stdin stays open long enough for the reply (and TLS 1.3
# tickets) before EOF, on which the clients close with close_notify.
line() { printf '%s\n' "${1:-hello netzwacht}"; sleep "${2:-0.6}"; }

ossl() { line | timeout 15 openssl s_client "$@" >>"$LOG" 2>&1 || true; }
gtls() { line "${GTLS_LINE:-hello netzwacht}" | timeout 15 gnutls-cli "$@" >>"$LOG" 2>&1 || true; }

# finish: stop tcpdump and the server, then check and describe the capture.
finish() {
  nz_capture_stop "$CAP_PID" 0.3
  # "|| true": common.sh's nz__reap ends in `wait PID`, whose status is the server's (143
  # for a gnutls-serv stopped by SIGTERM), and that would trip set -e.
  nz_stop "$SRV_PID" || true
  install_capture recorded "$BY: $SHOWS"
}

# install_capture KIND SHOWS: size limit, capinfos, tshark expectation, manifest row.
install_capture() {
  local pcap=$NZ_OUT/tls/$NAME.pcap size n
  capinfos "$pcap" >/dev/null || nz_die "$NAME: capinfos cannot read the capture"
  n=$(capinfos -Mc "$pcap" | awk -F': *' '/Number of packets/ {print $2}')
  [ "$n" -gt 3 ] || nz_die "$NAME: only $n packets (server log: $(tail -3 "$NZ_TMP/$NAME.server.log" 2>/dev/null))"
  size=$(stat -c %s "$pcap")
  [ "$size" -lt "$MAX_SIZE" ] || nz_die "$NAME: $size bytes, over the 50 KB limit"
  "$NZ_PY" "$SYNTH" expect "$pcap" "$NZ_OUT/expected/tls/$NAME.tshark.tsv"
  nz_manifest_add "tls/$NAME.pcap" "$1" "$2"
}

# want ROW COL=VALUE...: self-check on the current capture's expectation (ROW 1-based or *).
want() {
  "$NZ_PY" "$SYNTH" check "$NZ_OUT/expected/tls/$NAME.tshark.tsv" "$@" \
    || nz_die "$NAME: unexpected handshake (client log: $(tail -5 "$LOG" | tr '\n' ' '))"
}

# synth NAME CASE SOURCE SHOWS: derive a synthetic capture from a recorded one (the freshly
# staged one; in a partial run the installed one).
synth() {
  NAME=$1
  local case=$2 src=$NZ_OUT/tls/$3.pcap
  [ -f "$src" ] || src=$NZ_PCAPS/tls/$3.pcap
  [ -f "$src" ] || nz_die "$NAME: source tls/$3.pcap missing (record it first)"
  nz_log "deriving tls/$NAME.pcap from tls/$3.pcap"
  "$NZ_PY" "$SYNTH" "$case" "$src" "$NZ_OUT/tls/$NAME.pcap"
  install_capture synthetic "tls_synth.py $case from tls/$3.pcap: $4"
}

# --- the recorded captures -----------------------------------------------------------------

SEC0='ALL:@SECLEVEL=0'
SNI=(-servername www.netzwacht.test)
CA=(-CAfile "$C/ca.pem")
OS="openssl s_client -> openssl s_server"
GS="gnutls-cli -> gnutls-serv"
LEAF=(-cert "$C/leaf.pem" -key "$C/leaf.key")
GLEAF=(--x509certfile "$C/leaf.pem" --x509keyfile "$C/leaf.key")
GCLI=(--x509cafile "$C/ca.pem" --sni-hostname www.netzwacht.test --verify-hostname www.netzwacht.test)

c_tls13_sni_alpn() {
  begin tls13-sni-alpn 443 "$OS" \
    "TLS 1.3 full handshake, SNI www.netzwacht.test, client ALPN h2,http/1.1; one line echoed"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 "${LEAF[@]}" -alpn http/1.1 -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -alpn h2,http/1.1
  finish
  want 1 version=0x0304 sni=www.netzwacht.test alpn=h2,http/1.1 ciphersuite=0x1302
}

c_tls12_ecdhe_aead() {
  begin tls12-ecdhe-aead 443 "$OS" \
    "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 (0xc02f); client offers TLS 1.3/1.2, server is 1.2-only (so no downgrade sentinel)"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 "${LEAF[@]}" -tls1_2 \
    -cipher ECDHE-RSA-AES128-GCM-SHA256 -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -min_protocol TLSv1.2
  finish
  want 1 version=0x0303 ciphersuite=0xc02f ch_supported_versions=0x0304,0x0303 downgrade=-
}

c_tls10() {
  begin tls10 10443 "$OS" "TLS 1.0 negotiated (both ends -tls1, SECLEVEL=0): ECDHE-RSA-AES256-SHA, CBC"
  serve openssl s_server -accept "$ADDR:10443" -naccept 1 "${LEAF[@]}" -tls1 -cipher "$SEC0" -rev
  ossl -connect "$ADDR:10443" "${SNI[@]}" "${CA[@]}" -tls1 -cipher "$SEC0"
  finish
  want 1 version=0x0301 ch_version=0x0301 ch_supported_versions=-
}

c_tls10_aes128_sha() {
  begin tls10-aes128-sha-static-rsa 10443 "$OS" \
    "TLS 1.0 AES128-SHA (0x002f): static RSA key exchange, CBC, no ServerKeyExchange"
  serve openssl s_server -accept "$ADDR:10443" -naccept 1 "${LEAF[@]}" -tls1 \
    -cipher 'AES128-SHA:@SECLEVEL=0' -rev
  ossl -connect "$ADDR:10443" "${SNI[@]}" "${CA[@]}" -tls1 -cipher "$SEC0"
  finish
  want 1 version=0x0301 ciphersuite=0x002f
}

c_tls11() {
  begin tls11 10443 "$OS" "TLS 1.1 negotiated (both ends -tls1_1, SECLEVEL=0)"
  serve openssl s_server -accept "$ADDR:10443" -naccept 1 "${LEAF[@]}" -tls1_1 -cipher "$SEC0" -rev
  ossl -connect "$ADDR:10443" "${SNI[@]}" "${CA[@]}" -tls1_1 -cipher "$SEC0"
  finish
  want 1 version=0x0302 ch_version=0x0302
}

# OpenSSL 3.0 on Debian 12 has no 3DES or RC4 suite at all; GnuTLS 3.7 still has both.
c_tls12_3des() {
  begin tls12-des-cbc3-sha 20443 "$GS" \
    "TLS 1.2 TLS_RSA_WITH_3DES_EDE_CBC_SHA (0x000a: 64-bit block, no FS); the client offers 3DES within its NORMAL list" any
  serve gnutls-serv -p 20443 --echo "${GLEAF[@]}" \
    --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+3DES-CBC:-KX-ALL:+RSA:-MAC-ALL:+SHA1'
  gtls -p 20443 "${GCLI[@]}" --priority 'NORMAL:+3DES-CBC' "$ADDR"
  finish
  want 1 version=0x0303 ciphersuite=0x000a
}

c_tls12_rc4() {
  begin tls12-rc4 20443 "$GS" \
    "TLS 1.2 TLS_RSA_WITH_RC4_128_SHA (0x0005); the client offers RC4 within its NORMAL list" any
  serve gnutls-serv -p 20443 --echo "${GLEAF[@]}" \
    --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+ARCFOUR-128:-KX-ALL:+RSA:-MAC-ALL:+SHA1'
  gtls -p 20443 "${GCLI[@]}" --priority 'NORMAL:+ARCFOUR-128' "$ADDR"
  finish
  want 1 version=0x0303 ciphersuite=0x0005
}

c_tls12_aes128_sha() {
  begin tls12-aes128-sha-static-rsa 443 "$OS" \
    "TLS 1.2 AES128-SHA (0x002f): static RSA key exchange (no forward secrecy), CBC; client offers TLS 1.3/1.2, server is 1.2-only"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 "${LEAF[@]}" -tls1_2 -cipher AES128-SHA -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -min_protocol TLSv1.2
  finish
  want 1 version=0x0303 ciphersuite=0x002f ch_supported_versions=0x0304,0x0303
}

c_tls12_null() {
  begin tls12-null-sha 443 "$OS" \
    "TLS 1.2 TLS_RSA_WITH_NULL_SHA (0x0002), offered by the client and chosen: application data and close_notify in clear"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 "${LEAF[@]}" -tls1_2 \
    -cipher 'NULL-SHA:@SECLEVEL=0' -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -tls1_2 \
    -cipher 'ECDHE+AESGCM:AES128-SHA:NULL-SHA:@SECLEVEL=0'
  finish
  want 1 version=0x0303 ciphersuite=0x0002
}

c_tls12_dhe() {
  local bits=$1
  begin "tls12-dhe-$bits" 443 "$OS" \
    "TLS 1.2 DHE-RSA-AES128-GCM-SHA256 (0x009e) with a $bits-bit DH group (s_server -dhparam)"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 "${LEAF[@]}" -tls1_2 \
    -cipher 'DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0' -dhparam "$C/dh$bits.pem" -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -tls1_2 -cipher 'DEFAULT:@SECLEVEL=0'
  finish
  want 1 version=0x0303 ciphersuite=0x009e "dh_p_len=$((bits / 8))"
}

c_fallback_scsv() {
  begin tls-fallback-scsv 443 "$OS" \
    "TLS 1.1 ClientHello with TLS_FALLBACK_SCSV (0x5600) to a TLS 1.3-capable server: fatal alert 86 inappropriate_fallback, no ServerHello"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 "${LEAF[@]}" -cipher "$SEC0" -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -tls1_1 -fallback_scsv -cipher "$SEC0"
  finish
  want 1 ch_version=0x0302 version=- alerts=2/86
}

c_port_4433() {
  begin tls-port-4433 4433 "$OS" \
    "ordinary TLS 1.3 handshake on port 4433, without SNI (the client connects to an IP literal)"
  serve openssl s_server -accept "$ADDR:4433" -naccept 1 "${LEAF[@]}" -rev
  ossl -connect "$ADDR:4433" "${CA[@]}"
  finish
  want 1 version=0x0304 sni=-
}

c_port_8443() {
  begin tls-port-8443 8443 "curl -> openssl s_server -WWW" \
    "HTTPS over IPv6 [::1]:8443: curl GET /hello.txt, TLS 1.3, SNI www.netzwacht.test, ALPN h2,http/1.1" ::1
  serve openssl s_server -accept '[::1]:8443' -naccept 1 "${LEAF[@]}" -WWW
  timeout 15 curl -sS --cacert "$C/ca.pem" --resolve 'www.netzwacht.test:8443:[::1]' \
    -o /dev/null https://www.netzwacht.test:8443/hello.txt >>"$LOG" 2>&1 || true
  finish
  want 1 version=0x0304 sni=www.netzwacht.test alpn=h2,http/1.1
}

c_tls13_gnutls() {
  begin tls13-gnutls 9999 "$GS" \
    "TLS 1.3 between GnuTLS client and server on port 9999 (a second client implementation), SNI www.netzwacht.test" any
  serve gnutls-serv -p 9999 --echo "${GLEAF[@]}"
  gtls -p 9999 "${GCLI[@]}" "$ADDR"
  finish
  want 1 version=0x0304 sni=www.netzwacht.test
}

c_tls12_resumption() {
  begin tls12-resumption 443 "$OS" \
    "TLS 1.2 full handshake, then a second connection resuming it by session ID (-sess_out/-sess_in, tickets off)"
  serve openssl s_server -accept "$ADDR:443" -naccept 2 "${LEAF[@]}" -tls1_2 -no_ticket -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -tls1_2 -sess_out "$NZ_TMP/sess12.pem"
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -tls1_2 -sess_in "$NZ_TMP/sess12.pem"
  finish
  want 1 resumed=n
  want 2 resumed=y version=0x0303
}

c_tls12_resumption_ticket() {
  begin tls12-resumption-ticket 443 "$OS" \
    "TLS 1.2 full handshake issuing a session ticket, then a second connection resuming with it (RFC 5077)"
  serve openssl s_server -accept "$ADDR:443" -naccept 2 "${LEAF[@]}" -tls1_2 -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -tls1_2 -sess_out "$NZ_TMP/sess12t.pem"
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -tls1_2 -sess_in "$NZ_TMP/sess12t.pem"
  finish
  want 1 resumed=n
  want 2 resumed=y version=0x0303
}

c_tls13_resumption() {
  begin tls13-resumption 443 "$OS" \
    "TLS 1.3 full handshake, then a PSK resumption with the ticket of the first (-sess_out/-sess_in)"
  serve openssl s_server -accept "$ADDR:443" -naccept 2 "${LEAF[@]}" -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -sess_out "$NZ_TMP/sess13.pem"
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -sess_in "$NZ_TMP/sess13.pem"
  finish
  want 1 resumed=n version=0x0304
  want 2 resumed=y version=0x0304
}

# Certificate captures: the server is limited to TLS 1.2 so the Certificate is in clear; the
# client also offers 1.3 and does not abort on verification errors (no -verify_return_error).
c_cert() {
  local name=$1 cert=$2 port=$3 shows=$4
  shift 4
  begin "$name" "$port" "$OS" "$shows"
  serve openssl s_server -accept "$ADDR:$port" -naccept 1 -cert "$C/$cert.pem" -key "$C/$cert.key" \
    -tls1_2 -cipher "$SEC0" -rev
  ossl -connect "$ADDR:$port" "${SNI[@]}" "${CA[@]}" -verify_hostname www.netzwacht.test
  finish
  want 1 version=0x0303 sni=www.netzwacht.test alerts=- certs=1 "$@"
}

c_certs() {
  c_cert tls-cert-valid leaf 443 \
    "near miss for the certificate captures: TLS 1.2, valid 90-day RSA-2048 SHA-256 leaf www.netzwacht.test issued by the test CA" \
    san=www.netzwacht.test
  c_cert tls-cert-expired expired 443 \
    "TLS 1.2, leaf www.netzwacht.test expired (valid 2020-01-01 .. 2020-04-01, issued by the test CA)"
  c_cert tls-cert-selfsigned selfsigned 443 "TLS 1.2, self-signed leaf www.netzwacht.test (RSA-2048, SHA-256)"
  c_cert tls-cert-rsa1024 rsa1024 8443 "TLS 1.2 on port 8443, leaf www.netzwacht.test with a 1024-bit RSA key"
  c_cert tls-cert-sha1 sha1 443 "TLS 1.2, leaf www.netzwacht.test signed with sha1WithRSAEncryption by the test CA"
  c_cert tls-cert-name-mismatch mismatch 443 \
    "TLS 1.2, SNI www.netzwacht.test but the leaf names only wrong.netzwacht.test (CN and SAN)" \
    san=wrong.netzwacht.test
  c_cert tls12-ecdsa ecdsa 443 \
    "TLS 1.2 ECDHE-ECDSA (0xc02c) with a valid ECDSA P-256 leaf www.netzwacht.test (near miss)" \
    ciphersuite=0xc02c
}

# Validity relative to the capture's own time (the certificates are made at recording time):
# a leaf expiring in 10 days, a 730-day leaf; tls-cert-valid (90 days) is the near miss.
c_certs_validity() {
  c_cert tls-cert-expiring expiring 443 \
    "TLS 1.2, leaf www.netzwacht.test issued by the test CA, valid from the recording for 10 days (expires within 30 days)" \
    san=www.netzwacht.test
  c_cert tls-cert-long-validity long 443 \
    "TLS 1.2, leaf www.netzwacht.test issued by the test CA, valid from the recording for 730 days (over 398)" \
    san=www.netzwacht.test
}

c_alert_unknown_ca() {
  begin tls12-alert-unknown-ca 443 "$OS" \
    "TLS 1.2 client that trusts only an unrelated CA rejects the server chain: fatal alert 48 unknown_ca in clear"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 "${LEAF[@]}" -tls1_2 -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" -CAfile "$C/other-ca.pem" -no-CApath -no-CAstore \
    -verify_return_error
  finish
  want 1 version=0x0303 alerts=2/48
}

c_fragmented() {
  begin tls12-handshake-fragmented 443 "socat OPENSSL (OpenSSL, TCP MSS 536) -> openssl s_server -max_send_frag 512" \
    "TLS 1.2 server flight with a 4-certificate RSA-4096 chain (leaf + 3 intermediates) in 512-byte records; the small MSS spreads it over several TCP segments, records straddle segment boundaries"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 -cert "$C/big-leaf.pem" -key "$C/big-leaf.key" \
    -cert_chain "$C/big-chain.pem" -tls1_2 -max_send_frag 512 -rev
  line | timeout 15 socat -T 5 - \
    "OPENSSL:$ADDR:443,mss=536,cafile=$C/ca.pem,snihost=www.netzwacht.test,commonname=www.netzwacht.test" \
    >>"$LOG" 2>&1 || true
  finish
  want 1 version=0x0303 sni=www.netzwacht.test certs=4
  local segs
  segs=$(nz_tshark -r "$NZ_OUT/tls/$NAME.pcap" -Y 'tcp.srcport == 443 && tcp.len > 0' \
    -T fields -e frame.number | wc -l)
  [ "$segs" -ge 4 ] || nz_die "$NAME: server flight in only $segs segments"
}

c_heartbeat() {
  begin tls12-heartbeat 20443 "gnutls-cli --heartbeat -> gnutls-serv --heartbeat" \
    "TLS 1.2 with the heartbeat extension (15) in both hellos, then one heartbeat request and response (record type 24, encrypted)" any
  serve gnutls-serv -p 20443 --echo --heartbeat "${GLEAF[@]}" --priority 'NORMAL:-VERS-TLS1.3'
  GTLS_LINE='**HEARTBEAT**' gtls -p 20443 --heartbeat "${GCLI[@]}" --priority 'NORMAL:-VERS-TLS1.3' "$ADDR"
  finish
  want 1 version=0x0303
  local hb
  hb=$(nz_tshark -r "$NZ_OUT/tls/$NAME.pcap" -d tcp.port==20443,tls -Y 'tls.record.content_type == 24' \
    -T fields -e frame.number | wc -l)
  [ "$hb" -ge 2 ] || nz_die "$NAME: $hb heartbeat records, want request and response"
}

c_no_reneg_info() {
  begin tls12-no-renegotiation-info 443 "gnutls-cli %DISABLE_SAFE_RENEGOTIATION -> openssl s_server" \
    "TLS 1.2 ClientHello with neither renegotiation_info (0xff01) nor TLS_EMPTY_RENEGOTIATION_INFO_SCSV (0x00ff)"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 "${LEAF[@]}" -tls1_2 -rev
  gtls -p 443 "${GCLI[@]}" --priority 'NORMAL:-VERS-TLS1.3:%DISABLE_SAFE_RENEGOTIATION' "$ADDR"
  finish
  want 1 version=0x0303
  "$NZ_PY" "$SYNTH" check-no-reneg "$NZ_OUT/expected/tls/$NAME.tshark.tsv" \
    || nz_die "$NAME: the client still signals renegotiation_info"
}

c_sentinel_benign() {
  begin tls12-sentinel-benign 443 "$OS" \
    "TLS 1.2-only client, TLS 1.3-capable server: ServerHello random ends in DOWNGRD 01 legitimately (1.3 was never offered)"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 "${LEAF[@]}" -rev
  ossl -connect "$ADDR:443" "${SNI[@]}" "${CA[@]}" -tls1_2
  finish
  want 1 version=0x0303 ch_supported_versions=- downgrade=44:4f:57:4e:47:52:44:01
}

c_tls_to_plaintext() {
  begin tls-client-to-plaintext-server 8080 "openssl s_client -> python3 http.server" \
    "a TLS client talks to a plaintext HTTP server: the server answers the ClientHello with an HTTP 400 in clear, so the TLS stream turns malformed (dissect.malformed)"
  serve "$NZ_PY" -m http.server 8080 --bind "$ADDR"
  ossl -connect "$ADDR:8080" "${SNI[@]}"
  finish
}

all_recorded() {
  c_tls13_sni_alpn
  c_tls12_ecdhe_aead
  c_tls10
  c_tls10_aes128_sha
  c_tls11
  c_tls12_3des
  c_tls12_rc4
  c_tls12_aes128_sha
  c_tls12_null
  c_tls12_dhe 1024
  c_tls12_dhe 2048
  c_fallback_scsv
  c_port_4433
  c_port_8443
  c_tls13_gnutls
  c_tls12_resumption
  c_tls12_resumption_ticket
  c_tls13_resumption
  c_certs
  c_certs_validity
  c_alert_unknown_ca
  c_fragmented
  c_heartbeat
  c_no_reneg_info
  c_sentinel_benign
  c_tls_to_plaintext
}

# --- the synthetic captures ----------------------------------------------------------------

all_synthetic() {
  synth tls-sslv2-hello-synthetic sslv2-hello tls10 \
    "client's ClientHello replaced by an SSLv2-format CLIENT-HELLO (version 0x0002, six SSLv2 cipher kinds, fixed challenge), server's first flight by an SSLv2 SERVER-HELLO carrying the real certificate (kinds 0x010080, 0x0700c0), the client's second flight by a CLIENT-MASTER-KEY choosing 0x010080 (SSL_CK_RC4_128_WITH_MD5); all later data removed"
  synth tls-sslv2-compat-hello-synthetic sslv2-compat-hello tls10 \
    "ClientHello replaced by an SSLv2-format ClientHello announcing TLS 1.0 (0x0301, RFC 5246 E.2) with the real client's suites as 3-byte specs; the real TLS 1.0 server answer follows"
  synth tls-sslv3-synthetic sslv3 tls10 \
    "SSL 3.0 handshake: every record version and the ClientHello/ServerHello versions 0x0301 rewritten to 0x0300, nothing else"
  synth tls-null-cipher-not-offered-synthetic null-not-offered tls12-aes128-sha-static-rsa \
    "ServerHello suite 0x002f rewritten to TLS_RSA_WITH_NULL_SHA 0x0002, which the client did not offer; the client's next flight replaced by the fatal alert 47 illegal_parameter OpenSSL sends then; later data removed"
  synth tls-export-cipher-synthetic export tls10-aes128-sha-static-rsa \
    "TLS 1.0: TLS_RSA_EXPORT_WITH_RC4_40_MD5 (0x0003) prepended to the ClientHello suites, ServerHello suite 0x002f rewritten to 0x0003"
  synth tls-downgrd-sentinel-synthetic downgrd tls12-ecdhe-aead \
    "ClientHello offers TLS 1.3 (supported_versions); the TLS 1.2 ServerHello random rewritten to end in DOWNGRD 01 (44 4F 57 4E 47 52 44 01)"
  synth tls-version-mismatch-synthetic version-mismatch tls12-aes128-sha-static-rsa \
    "client offers only TLS 1.3/1.2 (supported_versions); ServerHello version and every 0x0303 record version rewritten to TLS 1.0 0x0301"
  synth tls12-compression-deflate-synthetic compression tls12-dhe-2048 \
    "ClientHello compression methods [null] -> [DEFLATE, null], ServerHello compression 0 -> 1 DEFLATE (OpenSSL here is built without zlib; GnuTLS 3.7 has no compression)"
  synth tls12-heartbleed-synthetic heartbleed tls12-heartbeat \
    "Heartbleed in clear: before its key exchange the client sends a heartbeat request declaring 16384 payload bytes in a 3-byte record, before its ChangeCipherSpec the server answers with 16384 bytes of fixed 'memory' (records of 16384 + 19 bytes); the real encrypted heartbeat exchange kept (Debian 12's OpenSSL and GnuTLS check the length: no real software here leaks)"
  synth tls12-heartbeat-clear-synthetic heartbeat-clear tls12-heartbeat \
    "a normal heartbeat exchange in clear at the same places: request and response with the same 16-byte payload and 16 bytes of padding (the near miss of the Heartbleed captures)"
  synth tls12-heartbleed-encrypted-synthetic heartbleed-encrypted tls12-heartbeat \
    "reverse Heartbleed, encrypted: the server's heartbeat request (327-byte record) answered by a client record lengthened from 327 to 16384 bytes (its ciphertext and a fixed filler)"
}

# syn_port PCAP: the server port of the capture's first connection (to decode it as TLS).
syn_port() {
  nz_tshark -r "$1" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e tcp.dstport | head -1
}

check_synthetic() {
  local e=$NZ_OUT/expected/tls
  NAME=check
  "$NZ_PY" "$SYNTH" check "$e/tls-sslv2-hello-synthetic.tshark.tsv" 1 ch_version=0x0002 \
    version=0x0002 ciphersuite=0x010080,0x0700c0
  "$NZ_PY" "$SYNTH" check "$e/tls-sslv2-compat-hello-synthetic.tshark.tsv" 1 ch_version=0x0301 \
    version=0x0301
  "$NZ_PY" "$SYNTH" check "$e/tls-sslv3-synthetic.tshark.tsv" 1 ch_version=0x0300 version=0x0300
  "$NZ_PY" "$SYNTH" check "$e/tls-null-cipher-not-offered-synthetic.tshark.tsv" 1 \
    ciphersuite=0x0002 alerts=2/47
  "$NZ_PY" "$SYNTH" check "$e/tls-export-cipher-synthetic.tshark.tsv" 1 ciphersuite=0x0003 \
    version=0x0301
  "$NZ_PY" "$SYNTH" check "$e/tls-downgrd-sentinel-synthetic.tshark.tsv" 1 version=0x0303 \
    ch_supported_versions=0x0304,0x0303 downgrade=44:4f:57:4e:47:52:44:01
  "$NZ_PY" "$SYNTH" check "$e/tls-version-mismatch-synthetic.tshark.tsv" 1 version=0x0301 \
    ch_supported_versions=0x0304,0x0303 ciphersuite=0x002f
  "$NZ_PY" "$SYNTH" check "$e/tls12-compression-deflate-synthetic.tshark.tsv" 1 compression=1
  local got
  local p=$NZ_OUT/tls/tls-sslv2-hello-synthetic.pcap
  got=$(nz_tshark -r "$p" -d "tcp.port==$(syn_port "$p"),tls" \
    -Y 'tls.handshake.type == 2' -T fields -e tls.handshake.cipherspec)
  [ "$got" = 0x010080 ] || nz_die "$NAME: sslv2-hello CLIENT-MASTER-KEY cipher '$got', want 0x010080"
  local f want
  for f in tls12-heartbleed-synthetic:1:16384 tls12-heartbleed-synthetic:2:16384 \
           tls12-heartbeat-clear-synthetic:1:16 tls12-heartbeat-clear-synthetic:2:16; do
    IFS=: read -r f t want <<< "$f"
    "$NZ_PY" "$SYNTH" check "$e/$f.tshark.tsv" 1 version=0x0303
    got=$(nz_tshark -r "$NZ_OUT/tls/$f.pcap" -d tcp.port==20443,tls \
      -Y "tls.heartbeat_message.type == $t" -T fields -e tls.heartbeat_message.payload_length)
    [ "$got" = "$want" ] || nz_die "$NAME: $f heartbeat type $t payload_length '$got', want $want"
  done
  got=$(nz_tshark -r "$NZ_OUT/tls/tls12-heartbleed-encrypted-synthetic.pcap" -d tcp.port==20443,tls \
    -Y 'tls.record.content_type == 24' -T fields -e tcp.srcport -e tls.record.length | tr '\t\n' ': ')
  # server request 327 bytes, then the client's lengthened answer (its port is ephemeral)
  if ! [[ $got =~ ^20443:327\ [0-9]+:16384\ $ ]] || [[ $got == *" 20443:16384 " ]]; then
    nz_die "$NAME: encrypted heartbeat records '$got'"
  fi
}

# --- certificate-chain trust (issue #11) ---------------------------------------------------
# A separate throwaway PKI (trust-certs.sh: "netzwacht trust root" -> "netzwacht trust
# intermediate" -> leaves) whose root is installed as tls/trust/root.pem, so that
# `netzwacht analyze --ca-file pcaps/tls/trust/root.pem` judges these chains; other-root.pem is
# the root of the chain of trust-unknown-root (not in root.pem). Each server is openssl
# s_server limited to TLS 1.2 (Certificate in clear), with an empty verify store
# (-no-CAfile -no-CApath -no-CAstore: no automatic chain building, it sends exactly -cert +
# -cert_chain); each client is openssl s_client with SNI, trusting root.pem and checking the
# name but not aborting on a verification error (no -verify_return_error), so every handshake
# completes; one TCP connection per capture. certchain.py then runs openssl verify on the
# certificates as captured, at the capture's own time, and fails the run unless OpenSSL gives
# the verdict the capture is made for (expected/tls/<name>.pcap.verify.tsv).

T=$NZ_TMP/trust
TRUST_WWW=www.trust.netzwacht.test
TRUST_BY="$OS (trust-certs.sh PKI)"

# trust_cap NAME LEAF CHAIN|- SNI NCERTS SHOWS CA_REL:WANT...: one trust capture.
trust_cap() {
  local name=$1 leaf=$2 chain=$3 sni=$4 ncerts=$5 shows=$6 chainopt=()
  shift 6
  [ "$chain" = - ] || chainopt=(-cert_chain "$T/$chain.pem")
  begin "$name" 443 "$TRUST_BY" "$shows"
  serve openssl s_server -accept "$ADDR:443" -naccept 1 -cert "$T/$leaf.pem" -key "$T/$leaf.key" \
    "${chainopt[@]}" -no-CAfile -no-CApath -no-CAstore -tls1_2 -rev
  ossl -connect "$ADDR:443" -servername "$sni" -CAfile "$T/root.pem" -no-CApath -no-CAstore \
    -verify_hostname "$sni"
  finish
  want 1 version=0x0303 "sni=$sni" alerts=- "certs=$ncerts"
  grep -q '^New, TLSv1.2' "$LOG" || nz_die "$NAME: s_client did not complete a TLS 1.2 handshake"
  "$NZ_PY" "$NZ_GEN/certchain.py" verify "$NZ_OUT/tls/$NAME.pcap" "$sni" \
    "$NZ_OUT/expected/tls/$NAME.pcap.verify.tsv" "$NZ_OUT" "$@" \
    || nz_die "$NAME: the captured chain does not give the verdict it is made for"
}

all_trust() {
  mkdir -p "$NZ_OUT/tls/trust"
  install -m 644 "$T/root.pem" "$NZ_OUT/tls/trust/root.pem"
  install -m 644 "$T/other-root.pem" "$NZ_OUT/tls/trust/other-root.pem"
  local R=tls/trust/root.pem O=tls/trust/other-root.pem
  trust_cap trust-chain-good leaf chain-good "$TRUST_WWW" 2 \
    "TLS 1.2, SNI $TRUST_WWW; the server sends leaf $TRUST_WWW + 'netzwacht trust intermediate' (not the root); chain to tls/trust/root.pem complete and valid, name matches: trusted (openssl verify OK)" \
    "$R:ok"
  trust_cap trust-chain-with-root leaf chain-with-root "$TRUST_WWW" 3 \
    "TLS 1.2, SNI $TRUST_WWW; the server sends leaf + intermediate + the root 'netzwacht trust root' itself (redundant but harmless): trusted with tls/trust/root.pem (openssl verify OK)" \
    "$R:ok"
  trust_cap trust-missing-intermediate leaf - "$TRUST_WWW" 1 \
    "TLS 1.2, SNI $TRUST_WWW; the server sends only the leaf (issued by 'netzwacht trust intermediate', which is neither sent nor in root.pem): untrusted, issuer missing (openssl verify error 20 unable to get local issuer certificate)" \
    "$R:20"
  trust_cap trust-expired-intermediate leaf-expint chain-expired-int "$TRUST_WWW" 2 \
    "TLS 1.2, SNI $TRUST_WWW; leaf valid now (90 days), issued by 'netzwacht trust expired intermediate' whose validity ended (2020-01-01 .. 2021-01-01); the server sends leaf + that intermediate: untrusted, expired intermediate at depth 1 (openssl verify error 10 certificate has expired)" \
    "$R:10"
  trust_cap trust-bad-signature leaf-noaki chain-rekeyed "$TRUST_WWW" 2 \
    "TLS 1.2, SNI $TRUST_WWW; re-keyed intermediate: the server sends the leaf (signed by the original key of 'netzwacht trust intermediate', no authorityKeyIdentifier, so the issuer is found by DN) with an intermediate of the SAME subject DN but a new key (itself validly signed by the root): the leaf's signature does not verify, untrusted (openssl verify error 7 certificate signature failure)" \
    "$R:7"
  trust_cap trust-unknown-root leaf-other chain-other "$TRUST_WWW" 3 \
    "TLS 1.2, SNI $TRUST_WWW; the server sends a complete chain leaf + 'netzwacht other trust intermediate' + 'netzwacht other trust root' (self-signed, not in tls/trust/root.pem): untrusted, unknown root (openssl verify error 19 self-signed certificate in certificate chain); trusted with --ca-file tls/trust/other-root.pem" \
    "$R:19" "$O:ok"
  trust_cap trust-wildcard-match wildcard chain-good "$TRUST_WWW" 2 \
    "TLS 1.2, SNI $TRUST_WWW; leaf CN and SAN *.trust.netzwacht.test + intermediate (good chain): the wildcard covers the SNI, trusted and name match (openssl verify OK)" \
    "$R:ok"
  trust_cap trust-wildcard-mismatch wildcard chain-good a.b.trust.netzwacht.test 2 \
    "TLS 1.2, SNI a.b.trust.netzwacht.test; the same *.trust.netzwacht.test leaf + intermediate (chain trusted), but a wildcard covers one label only: name mismatch (openssl verify error 62 hostname mismatch)" \
    "$R:62"
  trust_cap trust-drown-tls drown chain-good drown.trust.netzwacht.test 2 \
    "TLS 1.2 on port 443, SNI drown.trust.netzwacht.test; leaf with RSA-2048 key K + intermediate, trusted (openssl verify OK); the same key K (same certificate) is served over SSLv2 on port 10443 in trust-drown-sslv2-synthetic: DROWN for this key" \
    "$R:ok"
  synth trust-drown-sslv2-synthetic sslv2-drown trust-drown-tls \
    "DROWN partner of trust-drown-tls (hand-made SSLv2 bytes: no software on Debian 12 speaks SSLv2, OpenSSL 3 and GnuTLS 3.7 dropped it): the recorded connection with its server port moved to 10443, client flight replaced by an SSLv2 CLIENT-HELLO, server flight by an SSLv2 SERVER-HELLO carrying the same certificate (same RSA key K as on 443) and all six SSLv2 cipher kinds incl. the 40-bit export ones, then a CLIENT-MASTER-KEY choosing SSL_CK_RC4_128_EXPORT40_WITH_MD5 (0x020080); later data removed"
  local e=$NZ_OUT/expected/tls got
  "$NZ_PY" "$SYNTH" check "$e/trust-drown-sslv2-synthetic.tshark.tsv" 1 ch_version=0x0002 \
    version=0x0002 || nz_die "trust-drown-sslv2-synthetic: no SSLv2 exchange"
  got=$(nz_tshark -r "$NZ_OUT/tls/trust-drown-sslv2-synthetic.pcap" -d tcp.port==10443,tls \
    -Y 'tls.handshake.type == 2' -T fields -e tls.handshake.cipherspec)
  [ "$got" = 0x020080 ] || nz_die "trust-drown-sslv2-synthetic: CLIENT-MASTER-KEY cipher '$got'"
  # The SSLv2 certificate is the one of the TLS capture (same key K).
  local a b
  a=$(nz_tshark -r "$NZ_OUT/tls/trust-drown-tls.pcap" -d tcp.port==443,tls \
    -Y 'tls.handshake.type == 11' -T fields -e tls.handshake.certificate | cut -d, -f1)
  b=$(nz_tshark -r "$NZ_OUT/tls/trust-drown-sslv2-synthetic.pcap" -d tcp.port==10443,tls \
    -Y 'tls.handshake.type == 4' -T fields -e tls.handshake.certificate)
  if [ -z "$a" ] || [ "$a" != "$b" ]; then
    nz_die "trust-drown-sslv2-synthetic: certificate differs from trust-drown-tls"
  fi
}

# --- main ----------------------------------------------------------------------------------

bash "$NZ_GEN/certs.sh" "$C"
bash "$NZ_GEN/trust-certs.sh" "$T" tls

if [ $# -eq 0 ]; then
  all_recorded
  all_synthetic
  check_synthetic
  all_trust
  # nz_finish removes pcaps/<rel> and pcaps/expected/<rel>.* of the previous manifest; our
  # expectations are named expected/tls/<name>.tshark.tsv, so remove the old ones here.
  if [ -f "$NZ_PCAPS/manifest/tls.tsv" ]; then
    tail -n +2 "$NZ_PCAPS/manifest/tls.tsv" | cut -f1 | while IFS= read -r rel; do
      case $rel in tls/*.pcap) rm -f "$NZ_PCAPS/expected/tls/$(basename "$rel" .pcap).tshark.tsv" ;; esac
    done
  fi
  nz_versions kernel debian openssl gnutls-cli tcpdump tshark curl python3
  nz_finish
  nz_log "size of pcaps/tls: $(du -sh "$NZ_PCAPS/tls" | cut -f1)"
else
  for fn in "$@"; do
    read -r -a cmd <<< "$fn"
    declare -F "${cmd[0]}" >/dev/null || nz_die "no such function: ${cmd[0]}"
    "${cmd[@]}"
  done
  nz_install_partial
fi
