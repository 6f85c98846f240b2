#!/usr/bin/env bash
# spine.sh - captures for the capture/decode/flow/reassembly pipeline ("spine").
#
# Run through pcaps/regen.sh (or directly: bash pcaps/gen/spine.sh) as root on Debian 12.
# Needs the Debian packages: tcpdump tshark wireshark-common (dumpcap) curl python3 iproute2
# nftables ethtool gzip. Installs nothing.
#
# Traffic: curl against pcaps/gen/nzhttpd.py (deterministic python3 http.server) on 127.0.0.1
# and [::1] port 18000 (captured on the host's lo), and inside three network namespaces this
# script creates, client -- router -- server (veth pairs, 198.18.0.0/15 benchmarking addresses,
# RFC 2544 section C.2.2, never routed outside the namespaces; deleted at exit). Payloads are
# text from a seeded PRNG (nz_payload), the server pins its Date header, and curl's source port
# is taken from a fixed range, so the TCP byte streams (expected/*.streams.tsv) normally do not
# change between runs. Timestamps, sequence numbers and (loss-netns) the drop pattern do.
#
# Outputs (pcaps/...): see nz_manifest_add calls below; expectations in pcaps/expected/:
#   <cap>.conv.txt         tshark -q -z conv,tcp          (every capture except bad/)
#   <cap>.streams.tsv      per-flow stream digests        (gen/streams.py)
#   <cap>.app.tsv          where the served file/POST bytes sit in the streams
#   <cap>.tcpanalysis.tsv  tshark tcp.analysis flag counts (loss, reorder-dup, overlap-diff)
#   <cap>.rewrite.tsv      what rewrite.py moved/duplicated/forged
#   bad/<file>.damage.tsv  records before the damage, offset of the damage
. "$(dirname "$0")/common.sh"
nz_init spine
nz_need tcpdump:tcpdump tshark:tshark dumpcap:wireshark-common curl:curl ip:iproute2 \
    ss:iproute2 nft:nftables ethtool:ethtool gzip:gzip python3:python3
nz_versions kernel debian tcpdump tshark dumpcap curl python3 nft iproute2 ethtool

PORT=18000
NS_C=nzpcap-spine-c
NS_R=nzpcap-spine-r
NS_S=nzpcap-spine-s
C_IP=198.18.1.2
S_IP=198.18.2.2
REWRITE=("$NZ_PY" "$NZ_GEN/rewrite.py")

# ---------------------------------------------------------------- payloads
www=$NZ_TMP/www
app=$NZ_TMP/app
mkdir -p "$www" "$app"
chmod 755 "$www"
nz_payload "$www/body-200k.txt" 200000 1
nz_payload "$www/body-20k.txt" 20000 2
nz_payload "$www/body-300k.txt" 300000 3
nz_payload "$app/post-body.txt" 300 4
nz_mtime "$www"/*
"$NZ_PY" -c 'import hashlib,sys; d=open(sys.argv[1],"rb").read()
sys.stdout.write("received %d bytes sha256 %s\n" % (len(d), hashlib.sha256(d).hexdigest()))' \
    "$app/post-body.txt" >"$app/post-response.txt"

CURL=(curl -sS --fail --max-time 60 -o /dev/null)
get() { "${CURL[@]}" --local-port "$1" "$2"; }
post() {
    "${CURL[@]}" --local-port "$1" -H 'Content-Type: text/plain' \
        --data-binary "@$app/post-body.txt" "$2"
}

APP_GET200=(--app "s2c:$www/body-200k.txt:GET /body-200k.txt response body")
APP_GET20=(--app "s2c:$www/body-20k.txt:GET /body-20k.txt response body")
APP_POST=(--app "c2s:$app/post-body.txt:POST /post request body"
          --app "s2c:$app/post-response.txt:POST /post response body")

# expect REL [streams.py --app args...]: conv + streams (+ app when --app given)
expect() {
    local rel=$1
    shift
    nz_expect_conv "$rel"
    if [ $# -gt 0 ]; then
        nz_expect_streams "$rel" "$@" --app-out "$NZ_OUT/expected/$rel.app.tsv"
    else
        nz_expect_streams "$rel"
    fi
}

# ---------------------------------------------------------------- loopback captures
nz_port_free - "$PORT"
nz_spawn SRV "$NZ_TMP/nzhttpd-lo.log" "$NZ_PY" "$NZ_GEN/nzhttpd.py" --root "$www" \
    --bind "127.0.0.1:$PORT" --bind "[::1]:$PORT" --ready "$NZ_TMP/nzhttpd-lo.ready"
nz_wait_log "$NZ_TMP/nzhttpd-lo.ready" '^ready'
nz_log "server on 127.0.0.1/[::1]:$PORT (pid $SRV)"

nz_log "http-get-ipv4.pcap"
nz_capture_start CAP - lo http-get-ipv4.pcap "ip and tcp port $PORT"
get 41000-41099 "http://127.0.0.1:$PORT/body-200k.txt"
post 41100-41199 "http://127.0.0.1:$PORT/post"
nz_capture_stop "$CAP"
expect http-get-ipv4.pcap "${APP_GET200[@]}" "${APP_POST[@]}"
nz_manifest_add http-get-ipv4.pcap recorded "IPv4 loopback (EN10MB, zero MACs, TCP checksums not filled in: loopback checksum offload): curl GET of a 200000-byte text body from nzhttpd.py in segments of up to 64 KB, then a second flow POSTing 300 bytes"

nz_log "http-get-ipv4.pcap.gz"
gzip -n -9 -c "$NZ_OUT/http-get-ipv4.pcap" >"$NZ_OUT/http-get-ipv4.pcap.gz"
expect http-get-ipv4.pcap.gz "${APP_GET200[@]}" "${APP_POST[@]}"
nz_manifest_add http-get-ipv4.pcap.gz recorded "gzip -n -9 of http-get-ipv4.pcap (libpcap/tshark read .gz transparently)"

nz_log "http-get-ipv6.pcap"
nz_capture_start CAP - lo http-get-ipv6.pcap "ip6 and tcp port $PORT"
get 41200-41299 "http://[::1]:$PORT/body-200k.txt"
post 41300-41399 "http://[::1]:$PORT/post"
nz_capture_stop "$CAP"
expect http-get-ipv6.pcap "${APP_GET200[@]}" "${APP_POST[@]}"
nz_manifest_add http-get-ipv6.pcap recorded "same as http-get-ipv4.pcap over [::1] (IPv6 loopback)"

nz_log "any-sll.pcap"
nz_capture_start CAP - any any-sll.pcap "tcp port $PORT" -y LINUX_SLL
get 41400-41499 "http://127.0.0.1:$PORT/body-20k.txt"
nz_capture_stop "$CAP"
expect any-sll.pcap "${APP_GET20[@]}"
nz_manifest_add any-sll.pcap recorded "tcpdump -i any -y LINUX_SLL (linktype 113, 16-byte cooked header): curl GET of a 20000-byte body on 127.0.0.1"

nz_log "any-sll2.pcap"
nz_capture_start CAP - any any-sll2.pcap "tcp port $PORT" -y LINUX_SLL2
get 41500-41599 "http://127.0.0.1:$PORT/body-20k.txt"
nz_capture_stop "$CAP"
expect any-sll2.pcap "${APP_GET20[@]}"
nz_manifest_add any-sll2.pcap recorded "tcpdump -i any -y LINUX_SLL2 (linktype 276, 20-byte cooked header with ifindex): curl GET of a 20000-byte body on 127.0.0.1"

nz_log "http-get.pcapng"
nz_dumpcap_start CAP lo http-get.pcapng "tcp port $PORT"
get 41600-41699 "http://127.0.0.1:$PORT/body-20k.txt"
post 41700-41799 "http://127.0.0.1:$PORT/post"
nz_capture_stop "$CAP"
expect http-get.pcapng "${APP_GET20[@]}" "${APP_POST[@]}"
nz_manifest_add http-get.pcapng recorded "pcapng written by dumpcap -i lo (SHB, IDB, EPBs): curl GET of a 20000-byte body and a 300-byte POST on 127.0.0.1"

nz_log "snaplen-96.pcap"
nz_capture_start CAP - lo snaplen-96.pcap "tcp port $PORT" -s 96
get 41800-41899 "http://127.0.0.1:$PORT/body-20k.txt"
nz_capture_stop "$CAP"
expect snaplen-96.pcap
nz_manifest_add snaplen-96.pcap recorded "tcpdump -s 96 of a curl GET of a 20000-byte body: every data packet has caplen 96 < len; the reassembled streams have gaps (streams.tsv is tshark's view of the captured bytes only)"

nz_log "http-get-nsec.pcap"
nz_capture_start CAP - lo http-get-nsec.pcap "tcp port $PORT" --time-stamp-precision=nano
get 41900-41999 "http://127.0.0.1:$PORT/body-20k.txt"
nz_capture_stop "$CAP"
expect http-get-nsec.pcap "${APP_GET20[@]}"
nz_manifest_add http-get-nsec.pcap recorded "tcpdump --time-stamp-precision=nano: nanosecond pcap (magic 0xa1b23c4d), curl GET of a 20000-byte body on 127.0.0.1"

nz_stop "$SRV"

# ---------------------------------------------------------------- namespaces
# client (nzc0 198.18.1.2) -- (nzr0 198.18.1.1) router (nzr1 198.18.2.1) -- (nzs0 198.18.2.2) server
nz_log "namespaces $NS_C -- $NS_R -- $NS_S"
for ns in "$NS_C" "$NS_R" "$NS_S"; do
    nz_netns_add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add nzc0 netns "$NS_C" type veth peer name nzr0 netns "$NS_R"
ip link add nzs0 netns "$NS_S" type veth peer name nzr1 netns "$NS_R"
setup_if() { # ns dev mac addr/len
    ip -n "$1" link set "$2" address "$3" mtu 1500
    # no segmentation/checksum offload: the captures show real 1500-byte frames with checksums
    ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 \
        || ip netns exec "$1" ethtool -K "$2" tx off tso off gso off
    ip -n "$1" addr add "$4" dev "$2"
    ip -n "$1" link set "$2" up
}
setup_if "$NS_C" nzc0 02:6e:7a:00:01:02 "$C_IP/24"
setup_if "$NS_R" nzr0 02:6e:7a:00:01:01 198.18.1.1/24
setup_if "$NS_R" nzr1 02:6e:7a:00:02:01 198.18.2.1/24
setup_if "$NS_S" nzs0 02:6e:7a:00:02:02 "$S_IP/24"
ip -n "$NS_C" route add default via 198.18.1.1
ip -n "$NS_S" route add default via 198.18.2.1
ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1

nz_spawn SRV "$NZ_TMP/nzhttpd-ns.log" ip netns exec "$NS_S" "$NZ_PY" "$NZ_GEN/nzhttpd.py" \
    --root "$www" --bind "$S_IP:80" --ready "$NZ_TMP/nzhttpd-ns.ready"
nz_wait_log "$NZ_TMP/nzhttpd-ns.ready" '^ready'
nz_wait_listen "$NS_S" 80

nz_log "http-get-netns.pcap"
nz_capture_start CAP "$NS_C" nzc0 http-get-netns.pcap "tcp port 80"
ip netns exec "$NS_C" "${CURL[@]}" --local-port 42000-42099 "http://$S_IP/body-20k.txt"
nz_capture_stop "$CAP"
expect http-get-netns.pcap "${APP_GET20[@]}"
nz_manifest_add http-get-netns.pcap recorded "client-side veth capture through a namespace router (Ethernet with fixed MACs, MTU 1500, offloads off so frames are real 1514-byte segments with valid checksums, TTL 63 from the server): curl GET of a 20000-byte body; base of every *-rewritten and bad/ file"

nz_log "loss-netns-{server,client}-side.pcap"
ip netns exec "$NS_R" nft -f - <<'EOF'
table inet nzpcap_loss {
    chain lossy {
        type filter hook forward priority 0; policy accept;
        meta l4proto tcp numgen random mod 100 < 5 counter drop
    }
}
EOF
loss_ok=
for attempt in 1 2 3 4 5; do
    nz_capture_start CAPS "$NS_S" nzs0 loss-netns-server-side.pcap "tcp port 80"
    nz_capture_start CAPC "$NS_C" nzc0 loss-netns-client-side.pcap "tcp port 80"
    ip netns exec "$NS_C" "${CURL[@]}" --max-time 120 --local-port 42100-42199 \
        "http://$S_IP/body-300k.txt"
    sleep 2   # let retransmitted FINs/ACKs finish
    nz_capture_stop "$CAPS" 0
    nz_capture_stop "$CAPC" 0
    n_srv=$(nz_tshark -r "$NZ_OUT/loss-netns-server-side.pcap" -Y tcp.analysis.retransmission -T fields -e frame.number | wc -l)
    n_ooo=$(nz_tshark -r "$NZ_OUT/loss-netns-client-side.pcap" -Y 'tcp.analysis.out_of_order or tcp.analysis.retransmission' -T fields -e frame.number | wc -l)
    n_lost=$(nz_tshark -r "$NZ_OUT/loss-netns-client-side.pcap" -Y tcp.analysis.lost_segment -T fields -e frame.number | wc -l)
    nz_log "attempt $attempt: server-side retransmissions $n_srv, client-side retrans/out-of-order $n_ooo, client-side lost-segment marks $n_lost"
    if [ "$n_srv" -gt 0 ] && [ "$n_ooo" -gt 0 ] && [ "$n_lost" -gt 0 ]; then
        loss_ok=1
        break
    fi
done
[ -n "$loss_ok" ] || nz_die "5 downloads without the expected loss pattern"
ip netns exec "$NS_R" nft list table inet nzpcap_loss | grep -o 'counter packets [0-9]*' \
    | sed 's/^/[spine] router dropped: /' >&2 || true
APP_GET300=(--app "s2c:$www/body-300k.txt:GET /body-300k.txt response body")
for side in server client; do
    expect "loss-netns-$side-side.pcap" "${APP_GET300[@]}"
    nz_expect_tcpanalysis "loss-netns-$side-side.pcap"
done
if ! cmp -s <(grep -v '^#' "$NZ_OUT/expected/loss-netns-server-side.pcap.streams.tsv") \
            <(grep -v '^#' "$NZ_OUT/expected/loss-netns-client-side.pcap.streams.tsv"); then
    nz_die "tshark reassembled different streams on the two sides of the lossy router"
fi
nz_manifest_add loss-netns-server-side.pcap recorded "300000-byte curl download through a namespace router dropping ~5% of forwarded TCP at random (nftables numgen), captured on the server's veth: every data segment once plus its retransmissions; client ACKs/SACKs with holes"
nz_manifest_add loss-netns-client-side.pcap recorded "the same download captured on the client's veth at the same time: segments missing until their retransmission arrives (out of order / previous segment not captured), duplicate ACKs with SACK blocks"

nz_stop "$SRV"

# ---------------------------------------------------------------- rewritten from http-get-netns.pcap
base=$NZ_OUT/http-get-netns.pcap
rw() { # name subcommand [args...]
    local rel=$1
    shift
    "${REWRITE[@]}" "$1" "$base" "$NZ_OUT/$rel" "${@:2}"
}

nz_log "rewritten captures"
rw http-vlan-rewritten.pcap vlan --vid 100
expect http-vlan-rewritten.pcap "${APP_GET20[@]}"
nz_manifest_add http-vlan-rewritten.pcap rewritten "http-get-netns.pcap with one IEEE 802.1Q tag (VID 100) inserted in every frame; no 802.1Q module in the recording kernel"

rw http-qinq-rewritten.pcap qinq --outer 200 --inner 100
expect http-qinq-rewritten.pcap "${APP_GET20[@]}"
nz_manifest_add http-qinq-rewritten.pcap rewritten "http-get-netns.pcap with an 802.1ad service tag (0x88a8, VID 200) then an 802.1Q tag (VID 100) in every frame"

rw http-reorder-dup-rewritten.pcap reorder-dup --swap-every 4 --dup-every 5 \
    --log "$NZ_OUT/expected/http-reorder-dup-rewritten.pcap.rewrite.tsv"
expect http-reorder-dup-rewritten.pcap "${APP_GET20[@]}"
nz_expect_tcpanalysis http-reorder-dup-rewritten.pcap
nz_manifest_add http-reorder-dup-rewritten.pcap rewritten "http-get-netns.pcap with data segments k%4==1 swapped with their successor and segments k%5==3 duplicated (exact copies); the stream bytes are unchanged; rewrite.tsv lists the frames; no netem in the recording kernel"

rw http-overlap-diff-rewritten.pcap overlap-diff \
    --log "$NZ_OUT/expected/http-overlap-diff-rewritten.pcap.rewrite.tsv"
expect http-overlap-diff-rewritten.pcap
nz_expect_tcpanalysis http-overlap-diff-rewritten.pcap
nz_manifest_add http-overlap-diff-rewritten.pcap rewritten "http-get-netns.pcap where a forged copy (payload 'OVERLAP-FORGED-...') of the middle server data segment and then the genuine one both arrive before the preceding segment: same sequence range queued twice with different bytes (IDS-evasion signal); rewrite.tsv names the frames"

rw http-dltraw-rewritten.pcap relink --to raw
expect http-dltraw-rewritten.pcap "${APP_GET20[@]}"
nz_manifest_add http-dltraw-rewritten.pcap rewritten "http-get-netns.pcap as LINKTYPE_RAW (101): Ethernet header stripped, packets start with the IPv4 header"

rw http-null-rewritten.pcap relink --to null
expect http-null-rewritten.pcap "${APP_GET20[@]}"
nz_manifest_add http-null-rewritten.pcap rewritten "http-get-netns.pcap as LINKTYPE_NULL (0): 4-byte AF_INET (2) in little-endian host order before each IPv4 packet"

rw http-loop-rewritten.pcap relink --to loop
expect http-loop-rewritten.pcap "${APP_GET20[@]}"
nz_manifest_add http-loop-rewritten.pcap rewritten "http-get-netns.pcap as LINKTYPE_LOOP (108): 4-byte AF_INET (2) in big-endian order before each IPv4 packet"

rw http-ipv4dlt-rewritten.pcap relink --to ipv4
expect http-ipv4dlt-rewritten.pcap "${APP_GET20[@]}"
nz_manifest_add http-ipv4dlt-rewritten.pcap rewritten "http-get-netns.pcap as LINKTYPE_IPV4 (228): raw IPv4 packets"

# ---------------------------------------------------------------- damaged inputs
nz_log "damaged inputs in bad/"
mkdir -p "$NZ_OUT/bad" "$NZ_OUT/expected/bad"
bad() { # file kind record(0-based) description
    "${REWRITE[@]}" damage "$base" "$NZ_OUT/bad/$1" --kind "$2" --record "$3" --keep 12 \
        --log "$NZ_OUT/expected/bad/$1.damage.tsv"
    nz_manifest_add "bad/$1" damaged "$4"
}
# all made from the first 12 records of http-get-netns.pcap (handshake, GET, first data)
bad truncated-global-header.pcap trunc-global-header 0 "first 10 bytes of http-get-netns.pcap: the 24-byte global header is cut"
bad truncated-record-data.pcap trunc-record-data 3 "3 complete records, then the 4th record's header (the GET request) and only half of its data: the file ends mid-record"
bad truncated-record-header.pcap trunc-record-header 3 "3 complete records, then 8 of the 16 bytes of the 4th record's header"
bad bad-magic.pcap bad-magic 0 "first 12 records of http-get-netns.pcap with magic 0x1a2b3c4d instead of 0xa1b2c3d4"
bad linktype-ieee802-11.pcap linktype-80211 0 "first 12 records of http-get-netns.pcap with the link type patched to LINKTYPE_IEEE802_11 (105), which the decoder does not support"
bad caplen-gt-snaplen.pcap caplen-gt-snaplen 7 "12 records, snaplen 96 in the header, every record cut to 96 bytes except the 8th (a full 1514-byte data frame): caplen > snaplen with the data present"
bad caplen-absurd.pcap caplen-absurd 3 "the 4th record's caplen patched to 0x7fffffff; the file ends long before that"
bad empty.pcap empty 0 "zero-length file"
nz_tshark -r "$base" >"$NZ_OUT/bad/not-a-capture.pcap"
printf '# damage\trecords_before_damage\tdamage_offset\tfile_size\tnote\nnot-a-capture\t0\t0\t%d\ttshark text summary of http-get-netns.pcap\n' \
    "$(stat -c %s "$NZ_OUT/bad/not-a-capture.pcap")" >"$NZ_OUT/expected/bad/not-a-capture.pcap.damage.tsv"
nz_manifest_add bad/not-a-capture.pcap damaged "a text file with a .pcap name: tshark's one-line-per-packet summary of http-get-netns.pcap"

nz_finish
