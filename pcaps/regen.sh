#!/usr/bin/env bash
# regen.sh - rebuild the recorded test captures of netzwacht with real software.
#
# Usage (as root, Debian 12):  bash pcaps/regen.sh [GENERATOR ... | --index]
#   GENERATOR: spine http tls mail (default: every pcaps/gen/<name>.sh that exists, in that
#   order). Each generator is run as its own bash process; see pcaps/gen/common.sh for what a
#   generator does and the rules it follows (loopback / own namespaces only, installs nothing,
#   stops only its own processes, leaves pcaps/ unchanged when it fails).
# Needs the Debian packages each generator lists at its top; the set used by spine and http:
#   tcpdump tshark wireshark-common curl python3 iproute2 nftables ethtool gzip nginx openssl
# Afterwards (also when a generator failed) it rebuilds
#   pcaps/MANIFEST.tsv  header "file kind produced_by shows" + the rows of pcaps/manifest/*.tsv
#                       (spine, http, tls, mail first, then the others; header lines dropped)
#   pcaps/README.md     the capture table between the BEGIN/END MANIFEST markers
# and prints the size of pcaps/. Exit status: 0 when every generator succeeded.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
order=(spine http tls mail)
header=$'file\tkind\tproduced_by\tshows'

if [ "$(id -u)" -ne 0 ]; then
    echo "regen.sh: run as root (tcpdump, network namespaces, nftables)" >&2
    exit 1
fi

if [ "${1:-}" = --index ]; then
    gens=()    # only rebuild MANIFEST.tsv and the README table
elif [ $# -gt 0 ]; then
    gens=("$@")
    for g in "${gens[@]}"; do
        [ -f "$here/gen/$g.sh" ] || { echo "regen.sh: no generator pcaps/gen/$g.sh" >&2; exit 2; }
    done
else
    gens=()
    for g in "${order[@]}"; do
        [ -f "$here/gen/$g.sh" ] && gens+=("$g")
    done
fi

failed=()
for g in "${gens[@]}"; do
    echo "== regen: $g" >&2
    if ! bash "$here/gen/$g.sh"; then
        failed+=("$g")
        echo "== regen: $g FAILED" >&2
    fi
done

# MANIFEST.tsv: concatenation of pcaps/manifest/*.tsv (their header lines dropped).
# Order: spine, http, tls, mail, then any other manifest alphabetically.
shopt -s nullglob
manifests=()
for g in "${order[@]}"; do
    [ -f "$here/manifest/$g.tsv" ] && manifests+=("$here/manifest/$g.tsv")
done
for m in "$here"/manifest/*.tsv; do
    case " ${order[*]} " in *" $(basename "$m" .tsv) "*) ;; *) manifests+=("$m");; esac
done
{
    printf '%s\n' "$header"
    for m in "${manifests[@]}"; do
        grep -v -e '^file	' -e '^#' -e '^$' "$m" || true
    done
} >"$here/MANIFEST.tsv.new"
mv "$here/MANIFEST.tsv.new" "$here/MANIFEST.tsv"

# README.md: replace the block between the markers with a table made from MANIFEST.tsv.
readme=$here/README.md
if [ -f "$readme" ] && grep -q '^<!-- BEGIN MANIFEST' "$readme"; then
    table=$(awk -F'\t' 'NR > 1 {
                gsub(/\|/, "\\|", $4)
                printf "| `%s` | %s | %s | %s |\n", $1, $2, $3, $4
            }' "$here/MANIFEST.tsv")
    TABLE=$table awk '
        /^<!-- BEGIN MANIFEST/ { print; print ""; print "| file | kind | produced by | shows |";
                                 print "| --- | --- | --- | --- |"; print ENVIRON["TABLE"]; print ""
                                 skip = 1; next }
        /^<!-- END MANIFEST/   { skip = 0 }
        !skip' "$readme" >"$readme.new"
    mv "$readme.new" "$readme"
fi

echo "== regen: $(($(wc -l <"$here/MANIFEST.tsv") - 1)) captures in MANIFEST.tsv; size of pcaps/: $(du -sh "$here" | cut -f1)" >&2
if [ ${#failed[@]} -gt 0 ]; then
    echo "== regen: FAILED: ${failed[*]}" >&2
    exit 1
fi
