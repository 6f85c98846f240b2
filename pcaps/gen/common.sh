# shellcheck shell=bash
# common.sh - shared helpers for the capture generators pcaps/gen/<name>.sh.
#
# Source it, never run it:   . "$(dirname "$0")/common.sh"; nz_init <name>
#
# Model: a generator writes everything into a private staging tree $NZ_OUT that mirrors pcaps/
# (captures at $NZ_OUT/<rel>, expectations at $NZ_OUT/expected/<rel>.<what>), lists every capture
# with nz_manifest_add, and calls nz_finish at the end. Only nz_finish touches pcaps/: it deletes
# the files the generator's previous manifest (pcaps/manifest/<name>.tsv) listed, together with
# their pcaps/expected/<rel>.* files, then copies the staging tree in and writes the new manifest.
# A generator that fails half-way leaves pcaps/ as it was. <rel> is a path relative to pcaps/,
# e.g. "http-get-ipv4.pcap", "bad/empty.pcap", "http/http-basic-auth.pcap".
#
# Rules every generator follows (project brief): run as root on Debian 12; install nothing (check
# with nz_need); talk only to 127.0.0.0/8, ::1 or namespaces it creates (nz_netns_add deletes them
# at exit, also on error); stop only processes it started, by PID (nz_spawn registers them; the
# EXIT trap stops the ones still running, after checking they are still our children).
#
# Variables set by nz_init:
#   NZ_NAME    generator name (spine, http, tls, mail)
#   NZ_PCAPS   absolute path of pcaps/            NZ_GEN   absolute path of pcaps/gen/
#   NZ_TMP     private temp dir (0755, removed at exit unless NZ_KEEP_TMP=1 in the environment)
#   NZ_OUT     staging root ($NZ_TMP/out)         NZ_PY    python3 to use (/usr/bin/python3)
#   WIRESHARK_CONFIG_DIR is exported as an empty dir, so tshark output ignores personal prefs.
#
# Functions (return non-zero / exit 1 with a message on failure; set -euo pipefail is on):
#   nz_init NAME                  set -euo pipefail, check root, make temp dirs, install the trap
#   nz_log MSG...                 message to stderr, prefixed with the generator name
#   nz_die MSG...                 nz_log and exit 1 (the trap cleans up)
#   nz_need CMD:PKG ...           check commands exist; else print the apt-get line and exit 1
#   nz_spawn VAR LOG CMD ARGS...  start CMD (an external program, not a shell function) in the
#                                 background (stdin /dev/null, stdout+stderr to LOG), register
#                                 its PID for cleanup, store the PID in VAR
#   nz_stop PID [SECS]            SIGTERM a process we started, wait up to SECS (default 5), then
#                                 SIGKILL; reaps it; unregisters it. No-op if already gone
#   nz_wait_log FILE REGEX [SECS] wait until FILE contains REGEX (default 10 s), else die
#   nz_wait_listen NS PORT [SECS [ADDR]]
#                                 wait until a TCP socket listens on PORT (NS "-" = host; with
#                                 ADDR: on that address or a wildcard; IPv6 without brackets)
#   nz_port_free NS PORT [ADDR]   die if something already listens on TCP PORT (ADDR as above)
#   nz_netns_add NS               (re)create network namespace NS (deleted at exit), lo up
#   nz_ns NS CMD ARGS...          run CMD in namespace NS ("-" = host)
#   nz_capture_start VAR NS IFACE REL FILTER [TCPDUMP-OPTS...]
#                                 tcpdump -i IFACE -w $NZ_OUT/REL FILTER, packet-buffered,
#                                 immediate mode, stays root (-Z root); waits until it is
#                                 listening; PID in VAR. Extra options (-s 96, -y LINUX_SLL, ...)
#                                 go before the filter
#   nz_dumpcap_start VAR IFACE REL FILTER [DUMPCAP-OPTS...]
#                                 same with dumpcap (writes pcapng), host namespace only
#   nz_capture_stop PID [SETTLE]  sleep SETTLE s (default 0.5) so the last packets land, stop the
#                                 capture by PID (SIGTERM), die if the file is empty or the
#                                 capture tool reports packets dropped by the kernel
#   nz_payload FILE BYTES SEED    deterministic text payload: lines of words from a seeded
#                                 Mersenne Twister (python random.Random(SEED)), cut to BYTES
#   nz_mtime FILE                 pin FILE's mtime to 2021-06-01 12:00:00 UTC (Last-Modified)
#   nz_tshark ARGS...             tshark -n with the empty config dir, stderr noise dropped
#   nz_expect_conv REL            expected/REL.conv.txt   = tshark -q -z conv,tcp
#   nz_expect_streams REL [ARGS]  expected/REL.streams.tsv (gen/streams.py; ARGS passed on)
#   nz_expect_tcpanalysis REL     expected/REL.tcpanalysis.tsv: counts of tshark tcp.analysis.*
#   (nz_finish writes expected/REL.flows.tsv — exact per-flow frames/bytes, gen/flowcounts.py —
#    for every capture that is not `damaged`)
#   nz_assert_frames REL FILTER [MIN]  die unless >= MIN (default 1) frames of the staged
#                                 capture match the tshark display FILTER (self-check)
#   nz_manifest_add REL KIND SHOWS   KIND: recorded|rewritten|synthetic|damaged
#   nz_versions TOOL ...          replace this generator's lines in pcaps/VERSIONS with the
#                                 versions of TOOLs (known: kernel debian tcpdump tshark dumpcap
#                                 curl nginx openssl python3 nft iproute2 ethtool; anything else
#                                 is asked "TOOL --version")
#   nz_finish                     check every manifest entry exists, print sizes, install into
#                                 pcaps/ (see Model above)
#   nz_install_partial            for a run that recorded only some of a generator's captures:
#                                 write their flows.tsv, copy the staging tree into pcaps/
#                                 (overwriting only what was staged; nothing is deleted) and
#                                 merge their rows into manifest/<name>.tsv (a row with the same
#                                 file is replaced in place, a new one is appended)

NZ_MANIFEST_HEADER=$'file\tkind\tproduced_by\tshows'

nz_log() { printf '[%s] %s\n' "${NZ_NAME:-gen}" "$*" >&2; }
nz_die() { nz_log "ERROR: $*"; exit 1; }

nz_init() {
    set -euo pipefail
    NZ_NAME=${1:?nz_init NAME}
    [ "$(id -u)" -eq 0 ] || { echo "$NZ_NAME: must run as root (captures, namespaces)" >&2; exit 1; }
    NZ_GEN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    NZ_PCAPS=$(cd "$NZ_GEN/.." && pwd)
    NZ_PY=/usr/bin/python3
    [ -x "$NZ_PY" ] || NZ_PY=$(command -v python3)
    export LC_ALL=C TZ=UTC
    NZ_PIDS=()
    NZ_NETNS=()
    NZ_MANIFEST_ROWS=()
    declare -gA NZ_CAPFILE=() NZ_CAPLOG=()
    NZ_TMP=$(mktemp -d "/tmp/nzpcap-$NZ_NAME.XXXXXX")
    chmod 755 "$NZ_TMP"
    NZ_OUT=$NZ_TMP/out
    mkdir -p "$NZ_OUT/expected" "$NZ_TMP/wireshark"
    export WIRESHARK_CONFIG_DIR=$NZ_TMP/wireshark
    trap 'nz__cleanup' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# EXIT trap: stop what we started (by PID, only if still our child), delete our namespaces.
nz__cleanup() {
    local rc=$? pid ns
    trap - EXIT INT TERM
    set +e
    for pid in "${NZ_PIDS[@]}"; do
        nz__is_child "$pid" && kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${NZ_PIDS[@]}"; do
        nz__reap "$pid" 5
    done
    for ns in "${NZ_NETNS[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    if [ "${NZ_KEEP_TMP:-0}" = 1 ]; then
        nz_log "temp dir kept: $NZ_TMP"
    else
        rm -rf "$NZ_TMP"
    fi
    [ "$rc" -eq 0 ] || nz_log "FAILED (exit $rc); pcaps/ was left unchanged by this generator"
    exit "$rc"
}

# True if PID is alive and its parent is this shell (guards against PID reuse).
nz__is_child() {
    local ppid
    [ -r "/proc/$1/stat" ] || return 1
    ppid=$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$ppid" = "$$" ]
}

# Wait up to $2 s for our child $1 to exit, SIGKILL it after that, then reap it.
nz__reap() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        nz__is_child "$pid" || break
        [ "$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
        sleep 0.1
    done
    if nz__is_child "$pid" && ! grep -q '^[^)]*) Z' "/proc/$pid/stat" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    return 0
}

nz_need() {
    local spec cmd pkg missing=() pkgs=()
    for spec in "$@"; do
        cmd=${spec%%:*}
        pkg=${spec#*:}
        if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
            missing+=("$cmd")
            pkgs+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        nz_log "missing tools: ${missing[*]}"
        nz_log "install them with: apt-get install -y --no-install-recommends $(printf '%s\n' "${pkgs[@]}" | sort -u | tr '\n' ' ')"
        exit 1
    fi
}

nz_spawn() {
    local var=$1 log=$2
    shift 2
    # CMD must be an external program (not a shell function), so that $! is its own PID.
    "$@" </dev/null >"$log" 2>&1 &
    local pid=$!
    NZ_PIDS+=("$pid")
    printf -v "$var" '%s' "$pid"
}

nz_stop() {
    local pid=$1 secs=${2:-5} p keep=()
    if nz__is_child "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    nz__reap "$pid" "$secs"
    for p in "${NZ_PIDS[@]}"; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    NZ_PIDS=("${keep[@]}")
}

nz_wait_log() {
    local file=$1 re=$2 secs=${3:-10} i
    for ((i = 0; i < secs * 20; i++)); do
        grep -Eq -- "$re" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    nz_log "--- $file:"
    cat "$file" >&2 2>/dev/null || true
    nz_die "timed out waiting for /$re/ in $file"
}

nz_ns() {
    local ns=$1
    shift
    if [ "$ns" = - ]; then "$@"; else ip netns exec "$ns" "$@"; fi
}

# nz__listening NS PORT [ADDR]: a TCP listener on PORT (bound to ADDR, or to a wildcard
# address that covers it, when ADDR is given; IPv6 ADDR without brackets).
nz__listening() {
    local lines
    lines=$(nz_ns "$1" ss -Hltn "( sport = :$2 )" 2>/dev/null | awk '{ print $4 }') || return 1
    [ -n "$lines" ] || return 1
    [ $# -ge 3 ] || return 0
    printf '%s\n' "$lines" | grep -Fqx -e "$3:$2" -e "[$3]:$2" -e "0.0.0.0:$2" -e "*:$2" -e "[::]:$2"
}

nz_wait_listen() {
    local ns=$1 port=$2 secs=${3:-10} i
    for ((i = 0; i < secs * 20; i++)); do
        nz__listening "$ns" "$port" "${@:4}" && return 0
        sleep 0.05
    done
    nz_die "nothing listens on TCP port $port ${4:-} (netns $ns) after ${secs}s"
}

nz_port_free() {
    if nz__listening "$@"; then
        nz_die "TCP port $2 ${3:-} is already in use (netns $1); stop whatever listens there and rerun"
    fi
}

nz_netns_add() {
    local ns=$1
    ip netns del "$ns" 2>/dev/null || true   # stale one from an aborted run of this script
    ip netns add "$ns"
    NZ_NETNS+=("$ns")
    ip -n "$ns" link set lo up
}

nz_capture_start() {
    local var=$1 ns=$2 iface=$3 rel=$4 filter=$5
    shift 5
    local out=$NZ_OUT/$rel log
    mkdir -p "$(dirname "$out")"
    log=$NZ_TMP/capture.$(basename "$rel").log
    local pre=()
    [ "$ns" = - ] || pre=(ip netns exec "$ns")
    # nz_spawn needs an external command (its PID must be tcpdump's): ip netns exec execs.
    # -B 32768: 32 MiB ring; "any" sees every loopback packet twice (libpcap drops the
    # outgoing copy in user space), and 64 KB loopback frames overflow the default 2 MiB.
    nz_spawn "$var" "$log" "${pre[@]}" tcpdump -Z root -i "$iface" -U --immediate-mode \
        -B 32768 -w "$out" "$@" "$filter"
    NZ_CAPFILE[${!var}]=$out
    NZ_CAPLOG[${!var}]=$log
    nz_wait_log "$log" '^tcpdump: listening on|^listening on' 10
}

nz_dumpcap_start() {
    local var=$1 iface=$2 rel=$3 filter=$4
    shift 4
    local out=$NZ_OUT/$rel log
    mkdir -p "$(dirname "$out")"
    log=$NZ_TMP/capture.$(basename "$rel").log
    nz_spawn "$var" "$log" dumpcap -i "$iface" -B 32 -f "$filter" -w "$out" "$@"
    NZ_CAPFILE[${!var}]=$out
    NZ_CAPLOG[${!var}]=$log
    nz_wait_log "$log" '^Capturing on' 10
    sleep 0.3   # dumpcap prints before its first poll; give it a moment
}

nz_capture_stop() {
    local pid=$1 settle=${2:-0.5}
    sleep "$settle"
    nz_stop "$pid" 10
    local out=${NZ_CAPFILE[$pid]:-} log=${NZ_CAPLOG[$pid]:-}
    [ -n "$out" ] || return 0
    unset "NZ_CAPFILE[$pid]" "NZ_CAPLOG[$pid]"
    [ -s "$out" ] || nz_die "capture $out is empty"
    # tcpdump: "N packets dropped by kernel"; dumpcap: "Packets received/dropped ...: R/D"
    if grep -Eq '^[1-9][0-9]* packets? dropped by kernel|received/dropped.*: [0-9]+/[1-9]' "$log"; then
        cat "$log" >&2
        nz_die "the kernel dropped packets while capturing $out"
    fi
    chmod 644 "$out"
}

nz_payload() {
    "$NZ_PY" - "$1" "$2" "$3" <<'EOF'
import random, sys
out, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
words = ("alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
         "zulu netz wacht packet segment window stream flow header body chunk cookie token "
         "socket buffer kernel loopback namespace router client server request response "
         "capture filter offset length checksum sequence payload digest cipher record "
         "handshake session vlan tunnel frame port").split()
assert len(words) == 64
rng = random.Random(seed)
buf, n = [], 0
line = 0
while n < size:
    text = "%06d %s\n" % (line, " ".join(words[rng.getrandbits(6)] for _ in range(9)))
    buf.append(text)
    n += len(text)
    line += 1
data = "".join(buf).encode("ascii")[:size]
with open(out, "wb") as f:
    f.write(data)
EOF
}

nz_mtime() { touch -d '2021-06-01 12:00:00 UTC' "$@"; }

nz_tshark() { tshark -n "$@" 2> >(grep -v 'Running as user "root"' >&2); }

nz_expect_conv() {
    local rel=$1 exp=$NZ_OUT/expected/$1.conv.txt
    mkdir -p "$(dirname "$exp")"
    nz_tshark -r "$NZ_OUT/$rel" -q -z conv,tcp >"$exp"
}

nz_expect_streams() {
    local rel=$1 exp=$NZ_OUT/expected/$1.streams.tsv
    shift
    mkdir -p "$(dirname "$exp")"
    "$NZ_PY" "$NZ_GEN/streams.py" "$@" "$NZ_OUT/$rel" >"$exp"
}

nz_expect_tcpanalysis() {
    local rel=$1 exp=$NZ_OUT/expected/$1.tcpanalysis.tsv flag args=()
    local flags=(retransmission fast_retransmission spurious_retransmission out_of_order
                 lost_segment ack_lost_segment duplicate_ack zero_window keep_alive)
    mkdir -p "$(dirname "$exp")"
    for flag in "${flags[@]}"; do args+=(-e "tcp.analysis.$flag"); done
    {
        printf '# tshark %s: number of frames with each tcp.analysis flag\n' \
            "$(tshark -v 2>/dev/null | head -1 | awk '{print $3}')"
        nz_tshark -r "$NZ_OUT/$rel" -Y tcp.analysis.flags -T fields -E separator=/t "${args[@]}" \
            | awk -F'\t' -v names="${flags[*]}" '
                { for (i = 1; i <= NF; i++) if ($i != "") n[i]++ }
                END { k = split(names, nm, " ")
                      for (i = 1; i <= k; i++) printf "%s\t%d\n", nm[i], n[i] }'
    } >"$exp"
}

nz_assert_frames() {
    local rel=$1 filter=$2 min=${3:-1} n
    n=$(nz_tshark -r "$NZ_OUT/$rel" -Y "$filter" -T fields -e frame.number | wc -l)
    [ "$n" -ge "$min" ] || nz_die "$rel: $n frames match '$filter', want >= $min"
}

nz_manifest_add() {
    local rel=$1 kind=$2 shows=$3
    case $kind in recorded|rewritten|synthetic|damaged) ;; *) nz_die "bad kind '$kind' for $rel";; esac
    case $shows in *$'\t'*|*$'\n'*) nz_die "tab/newline in description of $rel";; esac
    NZ_MANIFEST_ROWS+=("$rel"$'\t'"$kind"$'\t'"gen/$NZ_NAME.sh"$'\t'"$shows")
}

nz__version_of() {
    case $1 in
        kernel)   uname -r ;;
        debian)   cat /etc/debian_version 2>/dev/null || echo unknown ;;
        tcpdump)  tcpdump --version 2>&1 | head -2 | tr '\n' ' ' ;;
        tshark)   tshark -v 2>/dev/null | head -1 ;;
        dumpcap)  dumpcap -v 2>/dev/null | head -1 ;;
        curl)     curl --version | head -1 ;;
        nginx)    nginx -v 2>&1 ;;
        openssl)  openssl version ;;
        python3)  "$NZ_PY" --version 2>&1 ;;
        nft)      nft --version ;;
        iproute2) ip -V ;;
        ethtool)  ethtool --version ;;
        *)        "$1" --version 2>&1 | head -1 ;;
    esac
}

nz_versions() {
    local f=$NZ_PCAPS/VERSIONS tool tmp=$NZ_TMP/VERSIONS.new
    {
        printf '# generator\ttool\tversion (written by pcaps/gen/common.sh nz_versions)\n'
        [ -f "$f" ] && grep -v '^#' "$f" | awk -F'\t' -v n="$NZ_NAME" '$1 != n' || true
        for tool in "$@"; do
            printf '%s\t%s\t%s\n' "$NZ_NAME" "$tool" "$(nz__version_of "$tool" | tr -s '\t\n' '  ' | sed 's/ *$//')"
        done
    } >"$tmp"
    { head -1 "$tmp"; tail -n +2 "$tmp" | sort -t$'\t' -k1,1 -s; } >"$f"
}

nz_finish() {
    local row rel old=$NZ_PCAPS/manifest/$NZ_NAME.tsv size
    [ ${#NZ_MANIFEST_ROWS[@]} -gt 0 ] || nz_die "nothing was added to the manifest"
    for row in "${NZ_MANIFEST_ROWS[@]}"; do
        rel=${row%%$'\t'*}
        [ -e "$NZ_OUT/$rel" ] || nz_die "manifest lists $rel but it was not produced"
    done
    # Exact per-flow frame/byte counts (conv,tcp prints rounded units) for every capture
    # that is not a damaged input: expected/REL.flows.tsv (gen/flowcounts.py).
    nz__write_flows
    # Drop the previous outputs of this generator, then install the new ones.
    if [ -f "$old" ]; then
        tail -n +2 "$old" | cut -f1 | while IFS= read -r rel; do
            [ -n "$rel" ] || continue
            case $rel in /*|*..*) continue;; esac
            rm -f "$NZ_PCAPS/$rel" "$NZ_PCAPS/expected/$rel".*
        done
    fi
    mkdir -p "$NZ_PCAPS/manifest"
    chmod -R u=rwX,go=rX "$NZ_OUT"
    cp -R "$NZ_OUT/." "$NZ_PCAPS/"
    {
        printf '%s\n' "$NZ_MANIFEST_HEADER"
        printf '%s\n' "${NZ_MANIFEST_ROWS[@]}"
    } >"$old"
    nz_log "installed ${#NZ_MANIFEST_ROWS[@]} captures:"
    for row in "${NZ_MANIFEST_ROWS[@]}"; do
        rel=${row%%$'\t'*}
        size=$(stat -c %s "$NZ_PCAPS/$rel")
        printf '  %8d  %s%s\n' "$size" "$rel" "$([ "$size" -gt 102400 ] && echo '   (> 100 KB)')" >&2
    done
}

nz__write_flows() {
    local row rel kind
    for row in "${NZ_MANIFEST_ROWS[@]}"; do
        rel=${row%%$'\t'*}
        kind=$(printf '%s' "$row" | cut -f2)
        [ "$kind" = damaged ] && continue
        mkdir -p "$(dirname "$NZ_OUT/expected/$rel")"
        "$NZ_PY" "$NZ_GEN/flowcounts.py" "$NZ_OUT/$rel" >"$NZ_OUT/expected/$rel.flows.tsv" \
            || nz_die "flowcounts.py failed on $rel"
    done
}

nz_install_partial() {
    local row rel m=$NZ_PCAPS/manifest/$NZ_NAME.tsv new=$NZ_TMP/manifest.partial
    [ ${#NZ_MANIFEST_ROWS[@]} -gt 0 ] || nz_die "nothing was added to the manifest"
    for row in "${NZ_MANIFEST_ROWS[@]}"; do
        rel=${row%%$'\t'*}
        [ -e "$NZ_OUT/$rel" ] || nz_die "manifest lists $rel but it was not produced"
    done
    nz__write_flows
    chmod -R u=rwX,go=rX "$NZ_OUT"
    cp -R "$NZ_OUT/." "$NZ_PCAPS/"
    mkdir -p "$NZ_PCAPS/manifest"
    [ -f "$m" ] || printf '%s\n' "$NZ_MANIFEST_HEADER" >"$m"
    printf '%s\n' "${NZ_MANIFEST_ROWS[@]}" | "$NZ_PY" -c '
import sys
path = sys.argv[1]
rows = [l.rstrip("\n") for l in sys.stdin if l.strip()]
new = {r.split("\t", 1)[0]: r for r in rows}
out, seen = [], set()
for line in open(path).read().splitlines():
    f = line.split("\t", 1)[0]
    if f in new:
        out.append(new[f])
        seen.add(f)
    else:
        out.append(line)
out += [r for r in rows if r.split("\t", 1)[0] not in seen]
sys.stdout.write("\n".join(out) + "\n")' "$m" >"$new"
    cat "$new" >"$m"
    nz_log "partial run: installed ${#NZ_MANIFEST_ROWS[@]} captures, rows merged into manifest/$NZ_NAME.tsv:"
    for row in "${NZ_MANIFEST_ROWS[@]}"; do
        rel=${row%%$'\t'*}
        printf '  %8d  %s\n' "$(stat -c %s "$NZ_PCAPS/$rel")" "$rel" >&2
    done
}
