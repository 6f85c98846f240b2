#!/usr/bin/env bash
# mail.sh - record the SMTP / IMAP / POP3 captures (pcaps/mail/*.pcap) from real software and
# write tshark's view of each (pcaps/expected/mail/<capture>.tshark.txt) and the manifest
# (pcaps/manifest/mail.tsv).
#
# Usage (as root, Debian 12, from anywhere):  bash pcaps/gen/mail.sh   (or pcaps/regen.sh mail)
#   bash pcaps/gen/mail.sh trust   only the certificate-chain trust captures
#                                  (mail/smtp-starttls-greeting-*.pcap and mail/trust/root.pem,
#                                  see trust_captures); installed with nz_install_partial, the
#                                  other captures and their expectations stay byte-identical.
# Needs the Debian packages (checked, never installed here):
#   postfix swaks libnet-ssleay-perl libio-socket-inet6-perl dovecot-core dovecot-imapd
#   dovecot-pop3d tcpdump tshark wireshark-common openssl python3 iproute2 coreutils
# (install postfix with debconf "No configuration"; this script never uses /etc/postfix or
# /etc/dovecot and never starts, stops or reconfigures a system mail service.)
#
# Where the traffic runs: a network namespace this script creates (nzpcap-mail; only its "lo"
# exists, deleted at exit), so the real mail ports 25/587/143/110 are used without touching the
# host, and nothing can leave the machine. Addresses: 127.0.0.1 and ::1 (servers), 127.0.0.2
# (mail_relay.py's listening side) and 127.0.0.3 (the relay's source address towards Postfix
# or Dovecot).
#
# Servers (started here, tracked by PID, stopped by PID, also on error):
#   Postfix 3.7 - "master -c DIR -s" with a config directory generated from gen/mail/main.cf and
#     gen/mail/master.cf in the temp dir, own queue/data dirs, loopback only, no relayhost,
#     default_transport=error, local mail discarded. Ports: 25 (smtpd), 587 (submission, SASL
#     AUTH via dovecot, allowed without TLS: smtpd_tls_auth_only=no), 2525 (smtpd). STARTTLS
#     with a throwaway certificate; per capture group the instance is restarted with changes
#     made by "postconf -c DIR -e" (pf_restart below).
#   Dovecot 2.3 - "dovecot -F -c FILE" from gen/mail/dovecot.conf: IMAP 143, POP3 110, user
#     alice / hunter2 (passwd-file), plaintext LOGIN/USER allowed, Maildir seeded with one
#     message; its auth service is Postfix's SASL backend. For the last IMAP/POP3 groups it is
#     restarted with settings appended to that file (dv_restart below): "ssl = no" plus
#     "imap_capability = +STARTTLS" (IMAP keeps advertising STARTTLS but answers it "BAD TLS
#     support isn't enabled."; POP3 has no such setting, so STLS is not in CAPA and is answered
#     "-ERR TLS support isn't enabled."), then "ssl = no" alone (no STARTTLS/STLS at all).
# Clients: swaks, openssl s_client -starttls smtp|imap|pop3, python3 imaplib/poplib (also as
# opportunistic clients: upgrade when advertised, fall back to a cleartext login when the
# upgrade is refused or not offered), gen/mail_inject.py (raw socket, --proto smtp|imap|pop3:
# a command pipelined after STARTTLS/STLS, plaintext after the acceptance, close after it) and
# gen/mail_relay.py (rewriting relay, --proto smtp|imap|pop3: STARTTLS/STLS capability and
# command masking; SMTP injection after the 220). Certificates: a throwaway CA and an RSA-2048
# leaf "mail.netzwacht.test" made with openssl in the temp dir on every run.
#
# Expectations, per capture <c> (file name with ".pcap", the common.sh convention, so that
# nz_finish replaces them together with the capture; tshark is the independent reference):
#   expected/mail/<c>.tshark.txt  sections "## streams", "## smtp" | "## imap" | "## pop",
#                                 "## tls client hello", "## tls server hello", "## tls alerts",
#                                 "## tcp resets and closes" (tab-separated -T fields output; the
#                                 line after each "##" header names the fields; "# note:" lines
#                                 flag tshark quirks)
#   expected/mail/<c>.relay.tsv   the relay captures: what mail_relay.py changed
#   expected/mail/<c>.verify.tsv  the trust captures: openssl verify of the certificates the
#                                 server sent (gen/certchain.py)
# Timestamps, ports, queue ids, TLS randoms and IMAP UIDVALIDITY change between runs; the
# expectation files are regenerated together with the captures.
. "$(dirname "$0")/common.sh"
nz_init mail
ONLY=${1:-}
case $ONLY in ''|trust) ;; *) nz_die "usage: mail.sh [trust]" ;; esac
nz_need tcpdump:tcpdump tshark:tshark capinfos:wireshark-common openssl:openssl \
    python3:python3 ip:iproute2 ss:iproute2 timeout:coreutils postconf:postfix swaks:swaks \
    dovecot:dovecot-core doveconf:dovecot-core
need_file() {
    [ -e "$1" ] || nz_die "missing $1; install it with: apt-get install -y --no-install-recommends $2"
}
need_file /usr/lib/postfix/sbin/master postfix
need_file /usr/lib/postfix/sbin/smtpd postfix
need_file /usr/lib/dovecot/imap dovecot-imapd
need_file /usr/lib/dovecot/pop3 dovecot-pop3d
perl -MNet::SSLeay -e 1 2>/dev/null \
    || nz_die "swaks needs Net::SSLeay for TLS: apt-get install -y --no-install-recommends libnet-ssleay-perl"
perl -MIO::Socket::INET6 -e 1 2>/dev/null \
    || nz_die "swaks needs IO::Socket::INET6 for ::1: apt-get install -y --no-install-recommends libio-socket-inet6-perl"
for u in postfix dovecot dovenull nobody; do
    id "$u" >/dev/null 2>&1 || nz_die "user $u missing (created by the postfix/dovecot packages)"
done

NS=nzpcap-mail
RUN=$NZ_TMP/run
CERTS=$RUN/certs
PFCONF=$RUN/postfix/conf
TPL=$NZ_GEN/mail
RELAY=("$NZ_PY" "$NZ_GEN/mail_relay.py")
INJECT=("$NZ_PY" "$NZ_GEN/mail_inject.py")
MAX_CAPTURE=51200          # bytes; the brief's limit per capture (< 50 KB)
MAX_CAPTURE_MBOX=20480     # bytes; the IMAP/POP3 STARTTLS misuse captures (brief: < 20 KB)
MAX_TOTAL=1048576          # bytes; pcaps/mail as a whole
mkdir -p "$RUN" "$CERTS" "$PFCONF" "$RUN/postfix/queue" "$RUN/logs"
chmod 755 "$RUN" "$CERTS" "$RUN/postfix" "$RUN/postfix/queue"

# ---------------------------------------------------------------- certificates
# Throwaway CA + leaf for mail.netzwacht.test (RSA-2048, SHA-256, 30 days), a DH group for
# dovecot (RFC 7919 ffdhe2048) and a file that is not a certificate (the 454 capture).
make_certs() {
    (
        cd "$CERTS"
        openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout ca.key -out ca.pem \
            -subj "/O=netzwacht test/CN=netzwacht mail test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -sha256 -keyout mail.key -out mail.csr \
            -subj "/O=netzwacht test/CN=mail.netzwacht.test" 2>/dev/null
        printf '%s\n' "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" "subjectAltName=DNS:mail.netzwacht.test" >leaf.ext
        openssl x509 -req -in mail.csr -CA ca.pem -CAkey ca.key -set_serial 0x4e5a4d41494c01 \
            -days 30 -sha256 -extfile leaf.ext -out mail.pem 2>/dev/null
        openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out dh.pem 2>/dev/null
        echo "this is not a PEM certificate (netzwacht 454 capture)" >broken.pem
        rm -f mail.csr leaf.ext
        chmod 644 ./*.pem
        chmod 600 ./*.key
    )
    [ -s "$CERTS/mail.pem" ] || nz_die "certificate generation failed"
}

fill_template() {   # fill_template SRC DST: replace @RUN@ and @CERTS@
    sed -e "s|@RUN@|$RUN|g" -e "s|@CERTS@|$CERTS|g" "$1" >"$2"
}

# stop_quiet: nz_stop reaps with "wait PID", whose status is 143 for a process that SIGTERM
# killed (Postfix's master does not catch it); under set -e that would end this script, so every
# nz_stop here is called as "nz_stop PID SECS || true" (errexit is off inside that call).

# ---------------------------------------------------------------- dovecot
DV_PID=
dovecot_start() {
    fill_template "$TPL/dovecot.conf" "$RUN/dovecot.conf"
    printf 'alice:{PLAIN}hunter2::::::\n' >"$RUN/dovecot-users"
    chgrp dovecot "$RUN/dovecot-users"
    chmod 640 "$RUN/dovecot-users"
    local md=$RUN/mailboxes/alice/Maildir
    mkdir -p "$md/new" "$md/cur" "$md/tmp"
    printf '%s\r\n' "Date: Tue, 01 Jun 2021 12:00:00 +0000" "From: bob@netzwacht.test" \
        "To: alice@netzwacht.test" "Subject: netzwacht test message" \
        "Message-ID: <seed-1@netzwacht.test>" "" \
        "Hello alice, this is the only message in this mailbox." \
        >"$md/new/1622548800.M1P1.mail.netzwacht.test"
    touch -d '2021-06-01 12:00:00 UTC' "$md/new/1622548800.M1P1.mail.netzwacht.test"
    chown -R nobody:nogroup "$RUN/mailboxes"
    doveconf -c "$RUN/dovecot.conf" -n >/dev/null 2>"$RUN/logs/doveconf.err" || {
        cat "$RUN/logs/doveconf.err" >&2
        nz_die "dovecot rejects its configuration"
    }
    nz_spawn DV_PID "$RUN/logs/dovecot.out" ip netns exec "$NS" dovecot -F -c "$RUN/dovecot.conf"
    nz_wait_listen "$NS" 143
    nz_wait_listen "$NS" 110
    nz_wait_log "$RUN/dovecot.log" 'starting up'
}
dv_stop() {
    [ -n "$DV_PID" ] || return 0
    nz_stop "$DV_PID" 10 || true   # see stop_quiet
    DV_PID=
    local i
    for ((i = 0; i < 100; i++)); do
        nz__listening "$NS" 143 || nz__listening "$NS" 110 || return 0
        sleep 0.1
    done
    nz_die "dovecot children still hold the IMAP/POP3 ports after dovecot stopped"
}
# dv_restart ['KEY = VALUE' ...]: restart the instance with dovecot.conf = template + those
# lines appended (a later setting overrides the template's). The log of the previous instance
# is kept as dovecot.log.N.
DV_GEN=0
dv_restart() {
    dv_stop
    DV_GEN=$((DV_GEN + 1))
    [ ! -e "$RUN/dovecot.log" ] || mv "$RUN/dovecot.log" "$RUN/dovecot.log.$DV_GEN"
    fill_template "$TPL/dovecot.conf" "$RUN/dovecot.conf"
    if [ $# -gt 0 ]; then
        printf '\n# appended by mail.sh dv_restart\n' >>"$RUN/dovecot.conf"
        printf '%s\n' "$@" >>"$RUN/dovecot.conf"
    fi
    doveconf -c "$RUN/dovecot.conf" -n >/dev/null 2>"$RUN/logs/doveconf.err" || {
        cat "$RUN/logs/doveconf.err" >&2
        nz_die "dovecot rejects its configuration (with: $*)"
    }
    nz_spawn DV_PID "$RUN/logs/dovecot-$DV_GEN.out" \
        ip netns exec "$NS" dovecot -F -c "$RUN/dovecot.conf"
    nz_wait_listen "$NS" 143
    nz_wait_listen "$NS" 110
    nz_wait_log "$RUN/dovecot.log" 'starting up'
    nz_log "dovecot running${*:+ with: $*}"
}

# ---------------------------------------------------------------- postfix
PF_PID=
# pf_config [KEY=VALUE ...]: fresh main.cf/master.cf from the templates, then the changes.
pf_config() {
    fill_template "$TPL/main.cf" "$PFCONF/main.cf"
    cp "$TPL/master.cf" "$PFCONF/master.cf"
    if [ $# -gt 0 ]; then
        postconf -c "$PFCONF" -e "$@"
    fi
    postfix -c "$PFCONF" check 2>"$RUN/logs/postfix-check.err" || {
        cat "$RUN/logs/postfix-check.err" "$RUN/postfix/postfix.log" >&2 2>/dev/null
        nz_die "postfix check failed"
    }
}
pf_start() {
    # "master -s": stays in the foreground (its PID is the one we stop), becomes a session
    # leader so that SIGTERM takes its children with it, keeps stdout for the log.
    nz_spawn PF_PID "$RUN/logs/postfix-master.out" \
        ip netns exec "$NS" /usr/lib/postfix/sbin/master -c "$PFCONF" -s
    local p
    for p in 25 587 2525; do nz_wait_listen "$NS" "$p"; done
}
pf_stop() {
    [ -n "$PF_PID" ] || return 0
    nz_stop "$PF_PID" 10 || true   # see stop_quiet
    PF_PID=
    local i
    for ((i = 0; i < 100; i++)); do
        nz__listening "$NS" 25 || nz__listening "$NS" 587 || nz__listening "$NS" 2525 || return 0
        sleep 0.1
    done
    nz_die "postfix children still hold the SMTP ports after master stopped"
}
# pf_restart [KEY=VALUE ...]: restart the instance with main.cf = template + changes.
pf_restart() {
    pf_stop
    pf_config "$@"
    pf_start
    nz_log "postfix running${*:+ with $*}"
}

# ---------------------------------------------------------------- captures
CAP_PID=
CAP_REL=
CAP_LOG=
# cap_begin NAME FILTER: start tcpdump on the namespace's lo writing mail/NAME.
cap_begin() {
    CAP_REL=mail/$1
    CAP_LOG=$RUN/logs/$1.log
    : >"$CAP_LOG"
    nz_log "recording $CAP_REL"
    nz_capture_start CAP_PID "$NS" lo "$CAP_REL" "$2"
    sleep 0.2
}
# cap_end [MAX]: stop the capture; it must be smaller than MAX bytes (default MAX_CAPTURE).
cap_end() {
    local max=${1:-$MAX_CAPTURE}
    nz_capture_stop "$CAP_PID" 0.7
    CAP_PID=
    local size
    size=$(stat -c %s "$NZ_OUT/$CAP_REL")
    [ "$size" -lt "$max" ] || nz_die "$CAP_REL is $size bytes (limit $max)"
    capinfos -c "$NZ_OUT/$CAP_REL" >/dev/null || nz_die "capinfos cannot read $CAP_REL"
}
# log_has REGEX [FILE]: the client transcript (default) shows what the capture is meant to show.
log_has() {
    grep -Eq -- "$1" "${2:-$CAP_LOG}" && return 0
    nz_log "--- ${2:-$CAP_LOG}:"
    cat "${2:-$CAP_LOG}" >&2
    nz_die "$CAP_REL: expected /$1/ in ${2:-the client transcript}"
}
log_lacks() {
    grep -Eq -- "$1" "${2:-$CAP_LOG}" || return 0
    cat "${2:-$CAP_LOG}" >&2
    nz_die "$CAP_REL: unexpected /$1/ in ${2:-the client transcript}"
}

# The message every SMTP client sends: fixed headers (no wall-clock Date), one line that
# starts with a dot (swaks and s_client input send it dot-stuffed as "..").
message() {   # message NAME -> file name on stdout
    local f=$RUN/msg-$1.txt
    printf '%s\n' "Date: Tue, 01 Jun 2021 12:00:00 +0000" "From: alice@netzwacht.test" \
        "To: bob@netzwacht.test" "Subject: netzwacht capture $1" \
        "Message-ID: <$1@client.netzwacht.test>" "" \
        "Short test message for the netzwacht mail captures." \
        ".this line starts with a dot and travels dot-stuffed" "Bye." >"$f"
    printf '%s' "$f"
}

# swaks_run NAME SERVER PORT [SWAKS ARGS...]: one swaks session, transcript in $CAP_LOG.
# Returns swaks' exit status (some captures expect a failure).
swaks_run() {
    local name=$1 server=$2 port=$3 rc=0
    shift 3
    nz_ns "$NS" timeout 30 swaks --server "$server" --port "$port" \
        --from alice@netzwacht.test --to bob@netzwacht.test --helo client.netzwacht.test \
        --data "@$(message "$name")" "$@" >>"$CAP_LOG" 2>&1 || rc=$?
    [ "$rc" -ne 124 ] || nz_die "$CAP_REL: swaks timed out"
    return "$rc"
}

# sclient_smtp NAME PORT [S_CLIENT ARGS...]: openssl s_client -starttls smtp, then a paced
# SMTP dialogue inside TLS (EHLO again as RFC 3207 section 4.2 requires, MAIL, RCPT, DATA, QUIT).
sclient_smtp() {
    local name=$1 port=$2 msg
    shift 2
    msg=$(message "$name")
    {
        sleep 1
        printf 'EHLO client.netzwacht.test\n'; sleep 0.3
        printf 'MAIL FROM:<alice@netzwacht.test>\n'; sleep 0.3
        printf 'RCPT TO:<bob@netzwacht.test>\n'; sleep 0.3
        printf 'DATA\n'; sleep 0.3
        sed 's/^\./../' "$msg"; printf '.\n'; sleep 0.3
        printf 'QUIT\n'; sleep 1
    } | nz_ns "$NS" timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$port" \
        -name client.netzwacht.test -servername mail.netzwacht.test -crlf -nocommands -quiet \
        "$@" >>"$CAP_LOG" 2>&1 || true
}

# relay_start MODE [PORT [PROTO]]: mail_relay.py on 127.0.0.2:PORT -> 127.0.0.1:PORT from
# 127.0.0.3, one connection; PORT 25 and PROTO smtp unless given (imap 143, pop3 110).
RELAY_PID=
relay_start() {
    local port=${2:-25} proto=${3:-smtp}
    rm -f "$RUN/relay.ready"
    nz_spawn RELAY_PID "$RUN/logs/relay-$proto-$1.log" ip netns exec "$NS" "${RELAY[@]}" \
        --listen "127.0.0.2:$port" --connect "127.0.0.1:$port" --source 127.0.0.3 \
        --proto "$proto" --mode "$1" --ready "$RUN/relay.ready" --log-tsv "$RUN/relay.tsv"
    nz_wait_log "$RUN/relay.ready" '^ready'
}
relay_stop() {
    nz_stop "$RELAY_PID" 5 || true   # see stop_quiet
    RELAY_PID=
}

# ---------------------------------------------------------------- expectations
TSHARK_VER=$(tshark -v 2>/dev/null | head -1)
# tfields FILE FILTER FIELD...: one tab-separated line per matching frame, header line first.
tfields() {
    local file=$1 filter=$2 f args=()
    shift 2
    for f in "$@"; do args+=(-e "$f"); done
    printf '%s\n' "$(IFS=$'\t'; echo "$*")"
    nz_tshark -r "$file" "${DECODE[@]}" -Y "$filter" -T fields -E separator=/t \
        -E occurrence=a -E aggregator='|' "${args[@]}"
}
DECODE=()
NOTE=()
# expect PROTO REL [TSHARK DECODE-AS ARGS...]: expected/REL.tshark.txt for PROTO smtp|imap|pop.
# Lines in the array NOTE (if set) are written as "# note:" comments (tshark quirks).
expect() {
    local proto=$1 rel=$2 file=$NZ_OUT/$2 out=$NZ_OUT/expected/$2.tshark.txt n
    shift 2
    DECODE=("$@")
    mkdir -p "$(dirname "$out")"
    {
        printf '# %s\n' "$TSHARK_VER"
        printf '# view of %s by: tshark -n -r FILE %s-Y FILTER -T fields -E separator=/t -E occurrence=a -E aggregator="|" -e FIELD...\n' \
            "$rel" "${*:+$* }"
        printf '# (pcaps/gen/mail.sh; regenerated with the capture: ports, times, queue ids change)\n'
        for n in "${NOTE[@]}"; do printf '# note: %s\n' "$n"; done
        printf '## streams (filter: SYN without ACK)\n'
        tfields "$file" 'tcp.flags.syn == 1 && tcp.flags.ack == 0' \
            tcp.stream ip.src ipv6.src tcp.srcport ip.dst ipv6.dst tcp.dstport
        case $proto in
        smtp)
            printf '## smtp (filter: smtp)\n'
            tfields "$file" smtp frame.number tcp.stream tcp.srcport smtp.command_line \
                smtp.response.code smtp.rsp.parameter smtp.auth.username _ws.col.Info
            ;;
        imap)
            printf '## imap (filter: imap)\n'
            tfields "$file" imap frame.number tcp.stream tcp.srcport imap.request_tag \
                imap.request.command imap.request.username imap.response_tag \
                imap.response.status _ws.col.Info
            ;;
        pop)
            printf '## pop (filter: pop)\n'
            tfields "$file" pop frame.number tcp.stream tcp.srcport pop.request.command \
                pop.request.parameter pop.response.indicator pop.response.description
            ;;
        esac
        printf '## tls client hello (filter: tls.handshake.type == 1)\n'
        tfields "$file" 'tls.handshake.type == 1' frame.number tcp.stream \
            tls.record.version tls.handshake.version tls.handshake.extensions.supported_version \
            tls.handshake.extensions_server_name
        printf '## tls server hello (filter: tls.handshake.type == 2)\n'
        tfields "$file" 'tls.handshake.type == 2' frame.number tcp.stream \
            tls.handshake.version tls.handshake.extensions.supported_version \
            tls.handshake.ciphersuite
        printf '## tls alerts (filter: tls.alert_message; encrypted alerts have empty level and description)\n'
        tfields "$file" 'tls.alert_message' frame.number tcp.stream \
            tls.alert_message.level tls.alert_message.desc
        printf '## tcp resets and closes (filter: tcp.flags.reset == 1 || tcp.flags.fin == 1)\n'
        tfields "$file" 'tcp.flags.reset == 1 || tcp.flags.fin == 1' frame.number tcp.stream \
            tcp.srcport tcp.flags
    } >"$out"
    DECODE=()
    NOTE=()
}
# relay_expect REL: copy what the relay changed next to the capture's expectations.
relay_expect() {
    mkdir -p "$(dirname "$NZ_OUT/expected/$1")"
    {
        printf '# mail_relay.py changes while recording %s: connection, direction, before, after (python repr)\n' "$1"
        cat "$RUN/relay.tsv"
    } >"$NZ_OUT/expected/$1.relay.tsv"
}

# ---------------------------------------------------------------- certificate-chain trust
# Issue #11: an MTA-to-MTA style STARTTLS session where the client sends no SNI, so the only
# name to check the certificate against is the server's own: the 220 greeting / EHLO reply
# (Postfix myhostname). Certificates from trust-certs.sh (set "mail": "netzwacht trust mail
# root" -> "netzwacht trust mail intermediate" -> leaf); Postfix sends leaf + intermediate
# (smtpd_tls_cert_file holds both); the root's public certificate is installed as
# mail/trust/root.pem (`netzwacht analyze --ca-file pcaps/mail/trust/root.pem`). Client: swaks
# --tls --tls-protocol tlsv1_2 (TLS 1.2: the Certificate is in clear); swaks sets SNI only with
# --tls-sni and does not verify the certificate, so the handshake completes either way.
# certchain.py checks the captured chain with openssl verify against the greeting name.
TRUST=$RUN/trust
TRUST_HOST=mail.trust.netzwacht.test

# trust_smtp NAME CERT WANT SHOWS: Postfix (myhostname $TRUST_HOST) with the leaf CERT from the
# mail trust PKI, one swaks session on port 25; WANT: openssl verify result against the greeting
# name (ok or an X509_V_ERR number).
trust_smtp() {
    local name=$1 cert=$2 want=$3 shows=$4 n
    pf_restart "myhostname=$TRUST_HOST" "smtpd_tls_cert_file=$TRUST/$cert-chain.pem" \
        "smtpd_tls_key_file=$TRUST/$cert.key"
    cap_begin "$name.pcap" 'tcp port 25'
    swaks_run "$name" 127.0.0.1 25 --tls --tls-protocol tlsv1_2 || nz_die "swaks failed ($name)"
    cap_end
    log_has "^<-  220 $TRUST_HOST ESMTP"
    log_has "^<-  250-$TRUST_HOST\$"
    log_has '^<~  250[- ]'"$TRUST_HOST"'$'
    log_has '=== TLS started with cipher TLSv1\.2'
    log_has 'queued as'
    n=$(nz_tshark -r "$NZ_OUT/$CAP_REL" -Y 'tls.handshake.type == 1' -T fields -e frame.number | wc -l)
    [ "$n" = 1 ] || nz_die "$CAP_REL: $n ClientHellos, want 1"
    n=$(nz_tshark -r "$NZ_OUT/$CAP_REL" -Y 'tls.handshake.type == 1 && tls.handshake.extensions_server_name' \
        -T fields -e frame.number | wc -l)
    [ "$n" = 0 ] || nz_die "$CAP_REL: the ClientHello carries SNI"
    n=$(nz_tshark -r "$NZ_OUT/$CAP_REL" -Y 'tls.handshake.type == 11' -T fields \
        -e tls.handshake.certificate_length | tr ',' '\n' | wc -l)
    [ "$n" = 2 ] || nz_die "$CAP_REL: the server sent $n certificates, want 2 (leaf + intermediate)"
    "$NZ_PY" "$NZ_GEN/certchain.py" verify "$NZ_OUT/$CAP_REL" "$TRUST_HOST" \
        "$NZ_OUT/expected/$CAP_REL.verify.tsv" "$NZ_OUT" "mail/trust/root.pem:$want" \
        || nz_die "$CAP_REL: the captured chain does not give the verdict it is made for"
    expect smtp "$CAP_REL"
    nz_manifest_add "$CAP_REL" recorded "$shows"
}

trust_captures() {
    bash "$NZ_GEN/trust-certs.sh" "$TRUST" mail
    mkdir -p "$NZ_OUT/mail/trust"
    install -m 644 "$TRUST/root.pem" "$NZ_OUT/mail/trust/root.pem"
    trust_smtp smtp-starttls-greeting-match mail ok \
        "issue #11 name check without SNI: Postfix with myhostname $TRUST_HOST (220 greeting and EHLO reply name it); swaks --tls (no SNI in the ClientHello), TLS 1.2; the server sends leaf CN/SAN $TRUST_HOST + 'netzwacht trust mail intermediate'; chain trusted with mail/trust/root.pem and the leaf matches the greeting name (openssl verify OK); a full message inside TLS"
    trust_smtp smtp-starttls-greeting-mismatch mx-other 62 \
        "issue #11 name check without SNI: greeting and EHLO reply name $TRUST_HOST, but the certificate (CN/SAN mx.other.netzwacht.test + 'netzwacht trust mail intermediate', chain trusted with mail/trust/root.pem) is for another name; no SNI, TLS 1.2: name mismatch against the greeting (openssl verify error 62 hostname mismatch); a full message inside TLS"
    pf_stop
}

# ---------------------------------------------------------------- set-up
nz_netns_add "$NS"
make_certs
if [ "$ONLY" = trust ]; then
    trust_captures
    nz_install_partial
    exit 0
fi
dovecot_start
pf_restart   # the base configuration: STARTTLS offered on 25, 587, 2525; AUTH on 587

# ================================================================ SMTP, base configuration
cap_begin smtp-starttls-tls13.pcap 'tcp port 25'
swaks_run smtp-starttls-tls13 127.0.0.1 25 --tls --tls-protocol tlsv1_3 \
    || nz_die "swaks failed (smtp-starttls-tls13)"
cap_end
log_has '=== TLS started with cipher TLSv1.3'
log_has 'queued as'
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "Postfix on port 25 offers STARTTLS; swaks --tls: EHLO, STARTTLS, 220, TLS 1.3 handshake, then EHLO/MAIL/RCPT/DATA/QUIT encrypted; a clean STARTTLS session (near miss for every smtp.* verdict)"

cap_begin smtp-starttls-tls12.pcap 'tcp port 25'
sclient_smtp smtp-starttls-tls12 25 -tls1_2
cap_end
log_has '^250 2\.0\.0 Ok: queued as'
log_has 'TLSv1\.2 with cipher' "$RUN/postfix/postfix.log"
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "openssl s_client -starttls smtp -tls1_2 against Postfix on port 25: STARTTLS, 220, TLS 1.2 handshake (ECDHE-RSA AES-GCM), then a full message sent inside TLS; clean"

cap_begin smtp-starttls-ipv6.pcap 'tcp port 25'
swaks_run smtp-starttls-ipv6 ::1 25 --tls || nz_die "swaks failed (smtp-starttls-ipv6)"
cap_end
log_has '=== TLS started with cipher TLSv1.3'
log_has 'queued as'
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "IPv6 [::1] port 25: swaks --tls, STARTTLS then TLS 1.3, full message inside TLS; clean"

cap_begin smtp-starttls-not-used.pcap 'tcp port 25'
swaks_run smtp-starttls-not-used 127.0.0.1 25 || nz_die "swaks failed (smtp-starttls-not-used)"
cap_end
log_has '^<-  250-STARTTLS'
log_lacks '^ -> STARTTLS'
log_has 'queued as'
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "Postfix advertises 250-STARTTLS; swaks without --tls never sends STARTTLS and sends MAIL/RCPT/DATA (a full message) in plaintext on port 25"

cap_begin smtp-port-2525.pcap 'tcp port 2525'
swaks_run smtp-port-2525 127.0.0.1 2525 || nz_die "swaks failed (smtp-port-2525)"
cap_end
log_has 'queued as'
log_lacks '^ -> STARTTLS'
expect smtp "$CAP_REL" -d tcp.port==2525,smtp
nz_manifest_add "$CAP_REL" recorded "plaintext SMTP session on the non-standard port 2525 (Postfix smtpd, STARTTLS advertised but not used by swaks): greeting, EHLO, MAIL, RCPT, DATA, QUIT; detection by content, not port"

cap_begin smtp-port-2525-starttls.pcap 'tcp port 2525'
swaks_run smtp-port-2525-starttls 127.0.0.1 2525 --tls || nz_die "swaks failed (smtp-port-2525-starttls)"
cap_end
log_has '=== TLS started with cipher TLSv1.3'
log_has 'queued as'
expect smtp "$CAP_REL" -d tcp.port==2525,smtp
nz_manifest_add "$CAP_REL" recorded "STARTTLS on port 2525: swaks --tls against Postfix smtpd, TLS 1.3 after the 220, message inside TLS; clean; the SMTP-to-TLS handoff away from port 25"

cap_begin smtp-auth-plain-clear.pcap 'tcp port 587'
swaks_run smtp-auth-plain-clear 127.0.0.1 587 --auth PLAIN --auth-user alice \
    --auth-password hunter2 || nz_die "swaks failed (smtp-auth-plain-clear)"
cap_end
log_has '^ -> AUTH PLAIN '
log_has '^<-  235 '
log_has 'queued as'
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "submission port 587 (Postfix + dovecot SASL, smtpd_tls_auth_only=no, STARTTLS advertised): swaks AUTH PLAIN with initial response for alice/hunter2 in cleartext, 235, then a message sent in plaintext"

cap_begin smtp-auth-login-clear.pcap 'tcp port 587'
swaks_run smtp-auth-login-clear 127.0.0.1 587 --auth LOGIN --auth-user alice \
    --auth-password hunter2 || nz_die "swaks failed (smtp-auth-login-clear)"
cap_end
log_has '^ -> AUTH LOGIN'
log_has '^<-  334 '
log_has '^<-  235 '
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "submission port 587: swaks AUTH LOGIN in cleartext (334 Username:/Password: prompts, base64 alice and hunter2 on separate lines), 235, then a message sent in plaintext"

cap_begin smtp-auth-plain-tls.pcap 'tcp port 587'
swaks_run smtp-auth-plain-tls 127.0.0.1 587 --tls --auth PLAIN --auth-user alice \
    --auth-password hunter2 || nz_die "swaks failed (smtp-auth-plain-tls)"
cap_end
log_has '=== TLS started'
log_has '^ ~> AUTH PLAIN '
log_has '^<~  235 '
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "submission port 587: STARTTLS first, then AUTH PLAIN and the message inside TLS 1.3; near miss for plaintext_auth (no credentials visible)"

cap_begin smtp-starttls-injection.pcap 'tcp port 25'
nz_ns "$NS" "${INJECT[@]}" --connect 127.0.0.1:25 --mode inject >>"$CAP_LOG" 2>&1 \
    || nz_die "mail_inject.py failed (inject)"
cap_end
log_has "^C: b'STARTTLS\\\\r\\\\nRSET\\\\r\\\\n'"
log_has "^S: b'220 "
log_has '^S\(before TLS\): nothing'
log_has '^TLS: TLSv1\.3'
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "client-side STARTTLS command injection (CVE-2011-0411 shape): mail_inject.py sends 'EHLO x', then 'STARTTLS\\r\\nRSET\\r\\n' in one send()/one segment; Postfix answers only 220 (it discards the pipelined RSET), then TLS 1.3, EHLO and QUIT inside TLS"

cap_begin smtp-starttls-failed.pcap 'tcp port 25'
nz_ns "$NS" "${INJECT[@]}" --connect 127.0.0.1:25 --mode fail-plain >>"$CAP_LOG" 2>&1 \
    || nz_die "mail_inject.py failed (fail-plain)"
cap_end
log_has "^S: b'220 2\.0\.0 Ready to start TLS"
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "STARTTLS answered 220, then the client (mail_inject.py) sends 'EHLO x' in plaintext instead of a ClientHello; Postfix's TLS accept fails (wrong version number) and it drops the connection"

cap_begin smtp-starttls-failed-close.pcap 'tcp port 25'
nz_ns "$NS" "${INJECT[@]}" --connect 127.0.0.1:25 --mode fail-close >>"$CAP_LOG" 2>&1 \
    || nz_die "mail_inject.py failed (fail-close)"
cap_end
log_has "^S: b'220 2\.0\.0 Ready to start TLS"
log_has '^C: <close without TLS handshake>'
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "STARTTLS answered 220, then the client (mail_inject.py) closes the connection (FIN) without any TLS handshake"

# ---------------------------------------------------------------- through mail_relay.py
# relay_capture NAME MODE SWAKS-TLS-OPTION EXTRA-LEG-NAME: record the leg the brief names and,
# when EXTRA-LEG-NAME is not "-", the other leg of the same session at the same time.
# Client leg: client <-> 127.0.0.2:25 (relay). Server leg: 127.0.0.3 (relay) <-> 127.0.0.1:25.
LEG_CLIENT='tcp port 25 and host 127.0.0.2'
LEG_SERVER='tcp port 25 and host 127.0.0.3'
relay_capture() {
    local name=$1 mode=$2 tlsopt=$3 leg=$4 other=$5 other_pid='' filter ofilter rc=0
    case $leg in
        client) filter=$LEG_CLIENT ofilter=$LEG_SERVER ;;
        server) filter=$LEG_SERVER ofilter=$LEG_CLIENT ;;
    esac
    relay_start "$mode"
    cap_begin "$name" "$filter"
    if [ "$other" != - ]; then
        nz_capture_start other_pid "$NS" lo "mail/$other" "$ofilter"
    fi
    swaks_run "${name%.pcap}" 127.0.0.2 25 "$tlsopt" || rc=$?
    printf '=== swaks exit status %s\n' "$rc" >>"$CAP_LOG"
    cap_end
    if [ -n "$other_pid" ]; then
        nz_capture_stop "$other_pid" 0.1
    fi
    relay_stop
    relay_expect "$CAP_REL"
    if [ "$mode" = strip-command ] && [ "$leg" = server ]; then
        NOTE=("tshark 4.0 does not know the command line 'XXXXXXXX' the relay sent instead of STARTTLS: it shows that frame as 'DATA fragment, 10 bytes' with no smtp.command_line (the bytes are XXXXXXXX\\r\\n, see the .relay.tsv)")
    fi
    expect smtp "$CAP_REL"
    if [ "$other" != - ]; then
        relay_expect "mail/$other"
        expect smtp "mail/$other"
    fi
}

relay_capture smtp-stripped-capability-rewritten-by-relay.pcap strip-capability --tls-optional \
    client smtp-stripped-capability-server-leg.pcap
log_has '^<-  250-XXXXXXXA'
log_has 'Host did not advertise STARTTLS'
log_has 'queued as'
nz_manifest_add "$CAP_REL" rewritten "client leg of swaks --tls-optional through mail_relay.py, which masks Postfix's '250-STARTTLS' as '250-XXXXXXXA' (Cisco PIX/ASA ESMTP inspection artefact): the client sees no STARTTLS and sends the message in plaintext"
nz_manifest_add mail/smtp-stripped-capability-server-leg.pcap rewritten "server leg of the same session (relay 127.0.0.3 to Postfix): the server's genuine 250-STARTTLS, then the client's plaintext MAIL/RCPT/DATA; the masking is not visible on this side"

relay_capture smtp-stripped-capability-rewritten-by-relay-client-insists.pcap strip-capability \
    --tls client -
log_has '^<-  250-XXXXXXXA'
log_has 'Host did not advertise STARTTLS'
log_lacks 'queued as'
log_has '^ -> QUIT'
nz_manifest_add "$CAP_REL" rewritten "client leg, capability masked to 250-XXXXXXXA by mail_relay.py, but the client insists on TLS (swaks --tls): it sends QUIT after the EHLO reply; no mail moves"

relay_capture smtp-stripped-command-rewritten-by-relay.pcap strip-command --tls-optional \
    server smtp-stripped-command-client-leg.pcap
log_has '^ -> STARTTLS'
log_has '^<\*\* 50[02] 5\.5\.2 Error: command not recognized'
log_has 'queued as'
nz_manifest_add "$CAP_REL" rewritten "server leg of swaks --tls-optional through mail_relay.py, which rewrites the client's 'STARTTLS' to 'XXXXXXXX': Postfix answers '500 5.5.2 Error: command not recognized', the client falls back and sends the message in plaintext"
nz_manifest_add mail/smtp-stripped-command-client-leg.pcap rewritten "client leg of the same session: the client's genuine STARTTLS answered by '500 5.5.2 Error: command not recognized' (the rewrite is not visible on this side), then the message in plaintext"

relay_capture smtp-stripped-command-rewritten-by-relay-client-insists.pcap strip-command --tls \
    server -
log_has '^<\*\* 50[02] 5\.5\.2 Error: command not recognized'
log_lacks 'queued as'
nz_manifest_add "$CAP_REL" rewritten "server leg, client STARTTLS rewritten to XXXXXXXX by mail_relay.py and answered 500 5.5.2 by Postfix; the client insists on TLS (swaks --tls) and sends QUIT; no mail moves"

relay_capture smtp-starttls-injection-server.pcap inject-after-220 --tls client -
log_has '^<-  220 2\.0\.0 Ready to start TLS'
log_has '=== TLS started'
log_has '^<~  250 injected'
nz_manifest_add "$CAP_REL" rewritten "server-side STARTTLS injection, client leg: mail_relay.py appends '250 injected\\r\\n' to Postfix's '220 2.0.0 Ready to start TLS' in the same segment, before the ClientHello; swaks --tls keeps the plaintext line and takes it as the reply to its first EHLO inside TLS 1.3: every later reply is off by one, it quits after DATA and no message is sent"

# ---------------------------------------------------------------- history pair, part 1
cap_begin smtp-history-1-offered.pcap 'tcp port 25'
swaks_run smtp-history-1-offered 127.0.0.1 25 --tls || nz_die "swaks failed (smtp-history-1-offered)"
cap_end
log_has '^<-  250-STARTTLS'
log_has '=== TLS started'
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "history pair 1/2: Postfix mail.netzwacht.test at 127.0.0.1:25 advertises STARTTLS and the client (swaks --tls) uses it; analyze before smtp-history-2-not-offered.pcap"

# ================================================================ STARTTLS not offered
pf_restart smtpd_tls_security_level=none

cap_begin smtp-history-2-not-offered.pcap 'tcp port 25'
swaks_run smtp-history-2-not-offered 127.0.0.1 25 --tls-optional \
    || nz_die "swaks failed (smtp-history-2-not-offered)"
cap_end
log_lacks '250-STARTTLS'
log_has 'Host did not advertise STARTTLS'
log_has 'queued as'
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "history pair 2/2: the same server (127.0.0.1:25, same banner) reconfigured with smtpd_tls_security_level=none no longer advertises STARTTLS; the opportunistic client (swaks --tls-optional) sends the message in plaintext"

cap_begin smtp-no-starttls.pcap 'tcp port 25'
swaks_run smtp-no-starttls 127.0.0.1 25 || nz_die "swaks failed (smtp-no-starttls)"
cap_end
log_lacks '250-STARTTLS'
log_has 'queued as'
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "Postfix with smtpd_tls_security_level=none: the EHLO reply has no STARTTLS; a full message is sent in plaintext (swaks without TLS)"

# ================================================================ STARTTLS refused (454)
# A certificate file without PEM data: Postfix still advertises STARTTLS (level may) but its
# TLS initialisation fails, so it answers "454 4.7.0 TLS not available due to local problem".
pf_restart "smtpd_tls_cert_file=$CERTS/broken.pem" "smtpd_tls_key_file=$CERTS/broken.pem"

cap_begin smtp-starttls-454.pcap 'tcp port 25'
swaks_run smtp-starttls-454 127.0.0.1 25 --tls-optional || nz_die "swaks failed (smtp-starttls-454)"
cap_end
log_has '^<-  250-STARTTLS'
log_has '^<\*\* 454 4\.7\.0 TLS not available due to local problem'
log_has 'queued as'
log_has 'disabling TLS support' "$RUN/postfix/postfix.log"
expect smtp "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "Postfix advertises STARTTLS but its certificate file is unusable: STARTTLS is answered '454 4.7.0 TLS not available due to local problem'; the client (swaks --tls-optional) falls back and sends the message in plaintext"

pf_stop

# ================================================================ IMAP and POP3 (dovecot)
cap_begin imap-starttls.pcap 'tcp port 143'
{
    sleep 1
    printf 'a1 LOGIN alice hunter2\n'; sleep 0.4
    printf 'a2 EXAMINE INBOX\n'; sleep 0.4
    printf 'a3 FETCH 1 BODY.PEEK[]\n'; sleep 0.4
    printf 'a4 LOGOUT\n'; sleep 1
} | nz_ns "$NS" timeout 20 openssl s_client -starttls imap -connect 127.0.0.1:143 \
    -servername mail.netzwacht.test -crlf -nocommands -quiet >>"$CAP_LOG" 2>&1 || true
cap_end
log_has '^a1 OK'
log_has '^a4 OK Logout completed'
expect imap "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot IMAP on 143: openssl s_client -starttls imap (CAPABILITY, STARTTLS, OK), TLS 1.3, then LOGIN/EXAMINE/FETCH/LOGOUT inside TLS; clean"

cap_begin imap-login-clear.pcap 'tcp port 143'
nz_ns "$NS" "$NZ_PY" - 127.0.0.1 143 login >>"$CAP_LOG" 2>&1 <<'EOF' || nz_die "imaplib client failed"
import imaplib, random, sys
random.seed(1)                      # imaplib draws its tag prefix from random
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
print("capabilities:", m.capabilities)
if sys.argv[3] == "login":
    print(m.login("alice", "hunter2"))
else:
    print(m.authenticate("PLAIN", lambda _: b"\0alice\0hunter2"))
print(m.select("INBOX", readonly=True))
print(m.fetch("1", "(BODY.PEEK[])")[0])
print(m.logout())
EOF
cap_end
log_has "'STARTTLS'"
log_has "Logged in"
expect imap "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot IMAP on 143 advertises STARTTLS; python imaplib sends 'LOGIN alice hunter2' in cleartext, then EXAMINE, FETCH, LOGOUT in plaintext"

cap_begin imap-authenticate-plain-clear.pcap 'tcp port 143'
nz_ns "$NS" "$NZ_PY" - 127.0.0.1 143 authenticate >>"$CAP_LOG" 2>&1 <<'EOF' || nz_die "imaplib client failed"
import imaplib, random, sys
random.seed(2)
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
print(m.authenticate("PLAIN", lambda _: b"\0alice\0hunter2"))
print(m.select("INBOX", readonly=True))
print(m.logout())
EOF
cap_end
log_has "Logged in"
expect imap "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot IMAP on 143: python imaplib 'AUTHENTICATE PLAIN', '+' continuation, base64 of alice/hunter2 in cleartext, OK, EXAMINE, LOGOUT"

cap_begin pop3-stls.pcap 'tcp port 110'
{
    sleep 1
    printf 'USER alice\n'; sleep 0.4
    printf 'PASS hunter2\n'; sleep 0.4
    printf 'STAT\n'; sleep 0.4
    printf 'RETR 1\n'; sleep 0.4
    printf 'QUIT\n'; sleep 1
} | nz_ns "$NS" timeout 20 openssl s_client -starttls pop3 -connect 127.0.0.1:110 \
    -servername mail.netzwacht.test -crlf -nocommands -quiet >>"$CAP_LOG" 2>&1 || true
cap_end
log_has '^\+OK Logged in'
log_has '^\+OK Logging out'
expect pop "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot POP3 on 110: openssl s_client -starttls pop3 (STLS, +OK), TLS 1.3, then USER/PASS/STAT/RETR/QUIT inside TLS; clean"

cap_begin pop3-user-pass-clear.pcap 'tcp port 110'
nz_ns "$NS" "$NZ_PY" - 127.0.0.1 110 >>"$CAP_LOG" 2>&1 <<'EOF' || nz_die "poplib client failed"
import poplib, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]))
print(p.getwelcome())
print(p.capa())
print(p.user("alice"))
print(p.pass_("hunter2"))
print(p.stat())
print(p.retr(1)[0])
print(p.quit())
EOF
cap_end
log_has "'STLS'"
log_has "Logged in"
expect pop "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot POP3 on 110 advertises STLS in CAPA; python poplib sends USER alice / PASS hunter2 in cleartext, then STAT, RETR 1, QUIT in plaintext"

# ================================================================ IMAP and POP3 STARTTLS misuse
# The clients below are opportunistic, like swaks --tls-optional: they ask for the upgrade when
# it is advertised (pop3_session try-anyway: always), and when it is refused or not offered
# they log in in cleartext (LOGIN / USER+PASS) and read the one message.

# imap_session HOST PORT SEED: python imaplib; transcript in $CAP_LOG. imaplib draws its tag
# prefix from random (seeded: the tags are the same on every run); starttls() refuses on its
# own (no command sent) when STARTTLS is not in the capability list.
imap_session() {
    nz_ns "$NS" timeout 30 "$NZ_PY" - "$@" >>"$CAP_LOG" 2>&1 <<'EOF' \
        || nz_die "$CAP_REL: imaplib client failed"
import imaplib, random, ssl, sys
random.seed(int(sys.argv[3]))
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
print("greeting:", m.welcome)
print("capabilities:", m.capabilities)
if "STARTTLS" in m.capabilities:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE        # throwaway certificate
    try:
        print("starttls:", m.starttls(ssl_context=ctx))
    except imaplib.IMAP4.error as e:
        print("starttls refused:", e)
        print("falling back to a cleartext login")
else:
    print("no STARTTLS advertised: cleartext login")
print(m.login("alice", "hunter2"))
print(m.select("INBOX", readonly=True))
print(m.fetch("1", "(BODY.PEEK[])")[0])
print(m.logout())
EOF
}

# pop3_session HOST PORT POLICY: python poplib; POLICY opportunistic (STLS only if CAPA lists
# it; poplib's stls() asks CAPA once more before sending STLS) or try-anyway (STLS even when
# CAPA does not list it, as openssl s_client -starttls pop3 does; sent with poplib's internal
# _shortcmd, since stls() refuses on its own). Transcript in $CAP_LOG.
pop3_session() {
    nz_ns "$NS" timeout 30 "$NZ_PY" - "$@" >>"$CAP_LOG" 2>&1 <<'EOF' \
        || nz_die "$CAP_REL: poplib client failed"
import poplib, ssl, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]))
print("greeting:", p.getwelcome())
caps = p.capa()
print("capa:", caps)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE            # throwaway certificate
try:
    if "STLS" in caps:
        print("stls:", p.stls(context=ctx))
    elif sys.argv[3] == "try-anyway":
        print("no STLS in CAPA, trying anyway")
        print("stls:", p._shortcmd("STLS"))
    else:
        print("no STLS advertised: cleartext login")
except poplib.error_proto as e:
    print("stls refused:", e)
    print("falling back to a cleartext login")
print(p.user("alice"))
print(p.pass_("hunter2"))
print(p.stat())
print(p.retr(1)[0])
print(p.quit())
EOF
}

# relay_mbox NAME PROTO MODE LEG SEED: one imap|pop3 session of the opportunistic client through
# mail_relay.py --proto PROTO --mode MODE, recording LEG: client (client <-> 127.0.0.2, the
# relay) or server (127.0.0.3, the relay, <-> 127.0.0.1, Dovecot).
relay_mbox() {
    local name=$1 proto=$2 mode=$3 leg=$4 seed=$5 port host
    case $proto in imap) port=143 ;; pop3) port=110 ;; esac
    case $leg in client) host=127.0.0.2 ;; server) host=127.0.0.3 ;; esac
    relay_start "$mode" "$port" "$proto"
    cap_begin "$name" "tcp port $port and host $host"
    case $proto in
        imap) imap_session 127.0.0.2 "$port" "$seed" ;;
        pop3) pop3_session 127.0.0.2 "$port" opportunistic ;;
    esac
    cap_end "$MAX_CAPTURE_MBOX"
    relay_stop
    relay_expect "$CAP_REL"
}

# inject_mbox NAME PROTO MODE: mail_inject.py --proto PROTO --mode MODE against Dovecot.
inject_mbox() {
    local port
    case $2 in imap) port=143 ;; pop3) port=110 ;; esac
    cap_begin "$1" "tcp port $port"
    nz_ns "$NS" timeout 30 "${INJECT[@]}" --connect "127.0.0.1:$port" --proto "$2" --mode "$3" \
        >>"$CAP_LOG" 2>&1 || nz_die "mail_inject.py failed ($2 $3)"
    cap_end "$MAX_CAPTURE_MBOX"
}

# mbox_plain NAME PROTO POLICY|SEED: the opportunistic client directly against Dovecot.
mbox_plain() {
    case $2 in
        imap) cap_begin "$1" 'tcp port 143'; imap_session 127.0.0.1 143 "$3" ;;
        pop3) cap_begin "$1" 'tcp port 110'; pop3_session 127.0.0.1 110 "$3" ;;
    esac
    cap_end "$MAX_CAPTURE_MBOX"
}

# ---------------------------------------------------------------- IMAP, dovecot ssl = yes
relay_mbox imap-stripped-capability-rewritten-by-relay.pcap imap strip-capability client 11
log_has '^greeting: .*XXXXXXXX'
log_has '^no STARTTLS advertised'
log_has 'Logged in'
log_has 'XXXXXXXX' "$RUN/relay.tsv"
expect imap "$CAP_REL"
nz_manifest_add "$CAP_REL" rewritten "client leg of an opportunistic python imaplib client through mail_relay.py, which masks STARTTLS as XXXXXXXX in dovecot's greeting [CAPABILITY ...] and in the CAPABILITY response: the client sees no STARTTLS and sends LOGIN alice in cleartext, then EXAMINE, FETCH, LOGOUT"

relay_mbox imap-stripped-command-rewritten-by-relay.pcap imap strip-command server 12
log_has '^capabilities: .*STARTTLS'
log_has '^starttls refused: .*BAD'
log_has 'Logged in'
expect imap "$CAP_REL"
nz_manifest_add "$CAP_REL" rewritten "server leg of an opportunistic python imaplib client through mail_relay.py, which rewrites the client's '<tag> STARTTLS' to '<tag> XXXXXXXX': dovecot answers it with a tagged BAD (unknown command), the client falls back to LOGIN alice in cleartext, EXAMINE, FETCH, LOGOUT"

inject_mbox imap-starttls-failed.pcap imap fail-plain
log_has "^S: b'a OK Begin TLS negotiation now"
log_has "^C: b'b CAPABILITY\\\\r\\\\n'"
expect imap "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot answers 'a STARTTLS' with 'a OK Begin TLS negotiation now.', then the client (mail_inject.py --proto imap) sends 'b CAPABILITY' in plaintext instead of a ClientHello; dovecot's TLS accept fails and it closes the connection"

inject_mbox imap-starttls-injection.pcap imap inject
log_has "^C: b'a STARTTLS\\\\r\\\\nb CAPABILITY\\\\r\\\\n'"
log_has "^S: b'a OK Begin TLS negotiation now"
log_has '^S\(before TLS\): <EOF>'
log_lacks "^S: b'b "
expect imap "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "client-side STARTTLS command injection against dovecot IMAP: mail_inject.py --proto imap sends 'a STARTTLS\\r\\nb CAPABILITY\\r\\n' in one send()/one segment; dovecot answers only 'a OK Begin TLS negotiation now.', never answers the pipelined command, and closes the connection at once (the buffered plaintext is read as the start of the TLS handshake: SSL_accept() fails); no TLS handshake"

# ---------------------------------------------------------------- POP3, dovecot ssl = yes
relay_mbox pop3-stripped-capability-rewritten-by-relay.pcap pop3 strip-capability client -
log_has "^capa: .*'XXXX'"
log_has '^no STLS advertised'
log_has 'Logged in'
log_has 'XXXX' "$RUN/relay.tsv"
expect pop "$CAP_REL"
nz_manifest_add "$CAP_REL" rewritten "client leg of an opportunistic python poplib client through mail_relay.py, which masks the CAPA line STLS as XXXX: the client sees no STLS and sends USER alice / PASS in cleartext, then STAT, RETR 1, QUIT"

relay_mbox pop3-stripped-command-rewritten-by-relay.pcap pop3 strip-command server -
log_has "^capa: .*'STLS'"
log_has '^stls refused: '
log_has 'Logged in'
expect pop "$CAP_REL"
nz_manifest_add "$CAP_REL" rewritten "server leg of an opportunistic python poplib client through mail_relay.py, which rewrites the client's STLS to XXXX: dovecot answers -ERR (unknown command), the client falls back to USER alice / PASS in cleartext, STAT, RETR 1, QUIT"

inject_mbox pop3-stls-failed.pcap pop3 fail-plain
log_has "^S: b'\\+OK Begin TLS negotiation now"
log_has "^C: b'CAPA\\\\r\\\\n'"
expect pop "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot answers STLS with '+OK Begin TLS negotiation now.', then the client (mail_inject.py --proto pop3) sends CAPA in plaintext instead of a ClientHello; dovecot's TLS accept fails and it closes the connection"

inject_mbox pop3-stls-injection.pcap pop3 inject
log_has "^C: b'STLS\\\\r\\\\nCAPA\\\\r\\\\n'"
log_has "^S: b'\\+OK Begin TLS negotiation now"
log_has '^S\(before TLS\): <EOF>'
NOTE=("the client segment with STLS carries the pipelined CAPA too (bytes STLS\\r\\nCAPA\\r\\n); tshark 4.0's pop dissector shows only the first line of a segment, so CAPA has no row of its own")
expect pop "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "client-side STLS command injection against dovecot POP3: after CAPA, mail_inject.py --proto pop3 sends 'STLS\\r\\nCAPA\\r\\n' in one send()/one segment; dovecot answers only '+OK Begin TLS negotiation now.', never answers the pipelined CAPA, and closes the connection at once (the buffered plaintext is read as the start of the TLS handshake: SSL_accept() fails); no TLS handshake"

# ---------------------------------------------------------------- dovecot ssl = no, STARTTLS still advertised
dv_restart 'ssl = no' 'imap_capability = +STARTTLS'

mbox_plain imap-starttls-refused.pcap imap 13
log_has '^capabilities: .*STARTTLS'
log_has "^starttls refused: .*TLS support isn't enabled"
log_has 'Logged in'
expect imap "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot with ssl = no and imap_capability = +STARTTLS (a misconfiguration: STARTTLS is advertised, TLS is off) answers the opportunistic imaplib client's STARTTLS with 'BAD TLS support isn't enabled.' (dovecot's own refusal, no relay); the client falls back to LOGIN alice in cleartext, EXAMINE, FETCH, LOGOUT"

mbox_plain pop3-stls-refused.pcap pop3 try-anyway
log_lacks "^capa: .*'STLS'"
log_has "^stls refused: .*TLS support isn't enabled"
log_has 'Logged in'
expect pop "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot with ssl = no (CAPA has no STLS; dovecot has no setting that would advertise it): the client (python poplib) sends STLS anyway and dovecot answers '-ERR TLS support isn't enabled.'; the client falls back to USER alice / PASS in cleartext, STAT, RETR 1, QUIT"

# ---------------------------------------------------------------- dovecot ssl = no
dv_restart 'ssl = no'

mbox_plain imap-no-starttls.pcap imap 14
log_lacks '^capabilities: .*STARTTLS'
log_has '^no STARTTLS advertised'
log_has 'Logged in'
expect imap "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot with ssl = no: neither the greeting's [CAPABILITY ...] nor CAPABILITY lists STARTTLS; the opportunistic imaplib client sends LOGIN alice in cleartext, accepted, then EXAMINE, FETCH, LOGOUT"

mbox_plain pop3-no-stls.pcap pop3 opportunistic
log_lacks "^capa: .*'STLS'"
log_has '^no STLS advertised'
log_has 'Logged in'
expect pop "$CAP_REL"
nz_manifest_add "$CAP_REL" recorded "dovecot with ssl = no: CAPA has no STLS; the opportunistic poplib client sends USER alice / PASS in cleartext, accepted, then STAT, RETR 1, QUIT"

# ================================================================ certificate-chain trust
dv_stop
trust_captures

# ---------------------------------------------------------------- done

total=$(du -cb "$NZ_OUT"/mail/*.pcap | tail -1 | cut -f1)
[ "$total" -lt "$MAX_TOTAL" ] || nz_die "pcaps/mail would be $total bytes (limit $MAX_TOTAL)"

nz_versions kernel debian tcpdump tshark openssl python3 swaks dovecot
# Tools nz_versions does not know how to ask: add them the same way (this generator's rows).
{
    head -1 "$NZ_PCAPS/VERSIONS"
    {
        tail -n +2 "$NZ_PCAPS/VERSIONS"
        printf 'mail\tpostfix\t%s (Debian %s)\n' "$(postconf -d -h mail_version)" \
            "$(dpkg-query -W -f='${Version}' postfix)"
        printf 'mail\tdovecot-debian\t%s\n' "$(dpkg-query -W -f='${Version}' dovecot-core)"
        printf 'mail\tlibnet-ssleay-perl\t%s\n' "$(dpkg-query -W -f='${Version}' libnet-ssleay-perl)"
    } | sort -t$'\t' -k1,1 -s
} >"$NZ_TMP/VERSIONS.mail"
cat "$NZ_TMP/VERSIONS.mail" >"$NZ_PCAPS/VERSIONS"

nz_finish
nz_log "capinfos:"
for row in "${NZ_MANIFEST_ROWS[@]}"; do
    rel=${row%%$'\t'*}
    capinfos -c -s -E -T "$NZ_PCAPS/$rel" | tail -n +2 >&2
done
nz_log "pcaps/mail: $(du -cb "$NZ_PCAPS"/mail/*.pcap | tail -1 | cut -f1) bytes in ${#NZ_MANIFEST_ROWS[@]} captures"
