#!/bin/bash
# Run the libFuzzer targets of a --enable-fuzzing build, one at a time, each
# on its seed corpus (tests/fuzz/corpus/NAME, tests/fuzz/regressions/NAME)
# with its dictionary.  New corpus entries, crash files and logs go to a
# scratch directory ($FUZZ_WORK, default /tmp/cloudgate-fuzz), never into
# the repository.  Exits 1 when any target crashed.
#
#   scripts/fuzz.sh [--runs N | --ci | --time S] [--build DIR] [NAME...]
#     --runs N   N executions per target (make fuzz: 1000000)
#     --ci       about 15 s per target (-max_total_time=15)
#     --time S   S seconds per target
#     --build D  the build directory holding tests/fuzz/fuzz_* (default .)
#     --keep-going  run on past crashes (-fork=1 -ignore_crashes=1): every
#                crash is saved and the target still fails at the end
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=.
limit=(-runs=1000000)
names=()
more=()
while [ $# -gt 0 ]; do
    case $1 in
    --runs) limit=(-runs="$2"); shift ;;
    --ci) limit=(-max_total_time=15) ;;
    --time) limit=(-max_total_time="$2"); shift ;;
    --build) build=$2; shift ;;
    --keep-going) more=(-fork=1 -ignore_crashes=1) ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1") ;;
    esac
    shift
done
if [ ${#names[@]} -eq 0 ]; then
    names=(ec2_request ec2_filters cimi_body_json cimi_body_xml cimi_query config domxml seed disk_header cidr v2v imds ec2_on_loop ec2_mappings)
fi
work=${FUZZ_WORK:-/tmp/cloudgate-fuzz}
failed=()
printf '%-15s %5s %10s %8s %7s %6s %7s  %s\n' target rc execs exec/s wall_s cov ft result
for name in "${names[@]}"; do
    bin=$build/tests/fuzz/fuzz_$name
    if [ ! -x "$bin" ]; then
        echo "fuzz.sh: $bin not built (configure CC=clang --enable-fuzzing; make)" >&2
        exit 2
    fi
    rm -rf "$work/artifacts/$name"
    mkdir -p "$work/corpus/$name" "$work/artifacts/$name"
    dirs=("$work/corpus/$name" "$src/tests/fuzz/corpus/$name")
    [ -d "$src/tests/fuzz/regressions/$name" ] && dirs+=("$src/tests/fuzz/regressions/$name")
    log=$work/$name.log
    start=$(date +%s)
    # The first directory receives the new entries; the others are read only.
    "$bin" "${limit[@]}" ${more[@]+"${more[@]}"} -dict="$src/tests/fuzz/$name.dict" -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$name/" -rss_limit_mb=2048 -timeout=25 \
        "${dirs[@]}" > "$log" 2>&1
    rc=$?
    wall=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    # (fork mode prints no final stats: its last "#N:" line has the count)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\):.*/\1/p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    [ -n "$speed" ] || [ -z "$execs" ] || speed=$((execs / (wall > 0 ? wall : 1)))
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    result=ok
    crashes=$(ls "$work/artifacts/$name" | grep -c '^crash-')
    if [ $rc -ne 0 ] || [ "$crashes" -gt 0 ]; then
        result="CRASH ($crashes): $(ls -t "$work/artifacts/$name" | head -n 1) (see $log)"
        failed+=("$name")
    fi
    printf '%-15s %5s %10s %8s %7s %6s %7s  %s\n' "$name" "$rc" "${execs:--}" "${speed:--}" \
        "$wall" "${cov:--}" "${ft:--}" "$result"
    # The log stays on the CI machine: show why here (the sanitizer's or
    # FZ_CHECK's summary, the first frames in our code, the input).
    if [ "$result" != ok ]; then
        { grep -m 3 -E 'SUMMARY|: check failed: |ERROR:' "$log"
          grep -E '^ +#[0-9]+ .* in [^ ]+ /' "$log" | grep -v -E 'libFuzzer|/lib/x86|compiler-rt' | head -n 4
          grep -m 1 '^Base64:' "$log"; } | sed 's/^/    /'
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: crashed: ${failed[*]}; inputs in $work/artifacts/NAME/" >&2
    exit 1
fi
