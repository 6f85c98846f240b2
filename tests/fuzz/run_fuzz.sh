#!/usr/bin/env bash
# run_fuzz.sh EXE SRCDIR NAME — runs a libFuzzer target for $FUZZ_SECONDS seconds over a
# scratch copy of its seed corpus (tests/fuzz/corpus/NAME, kept read-only) with its dictionary.
# Exit 0 when nothing was found; a crash or sanitizer report fails the test and leaves the
# reproducer in the scratch dir (printed).
set -u
exe=$(realpath "$1") src=$(realpath "$2") name=$3 secs=${FUZZ_SECONDS:-20}
work=$(mktemp -d "/tmp/nz-fuzz-$name.XXXXXX")
mkdir -p "$work/corpus"
[ -d "$src/corpus/$name" ] && cp -r "$src/corpus/$name/." "$work/corpus/" 2>/dev/null
dict=()
case $name in
  fuzz_tls) dict=(-dict="$src/tls.dict") ;;
  fuzz_http) dict=(-dict="$src/http.dict") ;;
  fuzz_mail) dict=(-dict="$src/smtp.dict") ;;
  fuzz_output) dict=(-dict="$src/sql.dict") ;;
esac
cd "$work" || exit 1
"$exe" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1
rc=$?
grep -E "^stat::number_of_executed_units|^Done|ERROR|SUMMARY" "$work/log" | head -5
if [ $rc -ne 0 ]; then
  tail -40 "$work/log"
  echo "fuzz $name: FAILED (artifacts in $work)"
  exit 1
fi
execs=$(grep -oE "^stat::number_of_executed_units: *[0-9]+" "$work/log" | grep -oE "[0-9]+$")
echo "fuzz $name: ${execs:-?} inputs in ${secs}s, no crash"
rm -rf "$work"
exit 0
