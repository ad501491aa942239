#!/bin/bash
# The whole test suite, as root on a fresh Debian 12 machine: install what is
# needed, build, then unit tests (cmocka), integration tests (real daemon on
# libvirt's test:// driver, driven by boto3 and the aws CLI) and system tests
# (real qemu guests on qemu:///system).  Exit status: non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
# The CIMI schema (DSP8009) lives in shared/ beside the repository.
for xsd in "$TOP/../shared/schemas/cimi-1.0-DSP8009.xsd" /work/shared/schemas/cimi-1.0-DSP8009.xsd; do
    [ -f "$xsd" ] && { export CG_CIMI_XSD=${CG_CIMI_XSD:-$(readlink -f "$xsd")}; break; }
done
[ -n "${CG_CIMI_XSD:-}" ] || { echo "CIMI schema not found (../shared/schemas)"; exit 1; }

"$TOP/scripts/setup-host.sh" || { echo "setup-host failed"; exit 1; }
"$TOP/scripts/build.sh" || { echo "build failed"; exit 1; }

failed=0
summary=$(mktemp) || exit 1
suites_passed=0
suites_failed=0
run_suite() {
    local name=$1; shift
    echo "=== $name"
    local out
    out=$(mktemp) || return 1
    if "$@" 2>&1 | tee "$out"; then
        suites_passed=$((suites_passed + 1))
    else
        echo "=== $name FAILED"
        # Kept for the summary at the end: CI shows the head and the tail
        # of a long output, and a failure in the middle would be cut.
        { echo "--- $name"
          grep -E '^(FAIL|ERROR|FAILED)|\[  (FAILED|ERROR) +\]|failed under|Sanitizer|runtime error|\[   LINE   \]|^E  ' "$out" | tail -40
        } >> "$summary"
        suites_failed=$((suites_failed + 1))
        failed=1
    fi
    rm -f "$out"
}

run_suite "unit tests (make check)" make -j"$(nproc)" check
if [ -f tests/unit/test-suite.log ] && [ $failed -ne 0 ]; then cat tests/unit/*.log; fi
run_suite "golden files parsed by botocore" /usr/bin/python3 tests/ec2/check_botocore.py
# The whole integration tier runs once, under the sanitizers (below: the
# same daemon, instrumented).  The product build runs here the tests whose
# limits are tighter without ASan's quarantine (memory given back after
# hostile bodies, floods and idle connections); the system tier runs the
# product build against real guests.
run_suite "integration tests, product build (resource limits)" /usr/bin/python3 -m pytest \
    -q -p no:cacheprovider tests/integration/test_hardening.py tests/integration/test_cimi_hostile.py
run_suite "integration tests under ASan/UBSan/LSan" scripts/test-sanitizers.sh
run_suite "fuzz targets (libFuzzer, 15 s each)" scripts/test-fuzz.sh
# 50 kills (test_sigkill_qemu.py's own default is 100, about 11 minutes):
# each run of the suite lands them at new random moments, and it keeps the
# whole suite well inside CI's 90 minutes.
export CG_SIGKILL_RUNS=${CG_SIGKILL_RUNS:-50}
run_suite "system tests (qemu:///system)" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    --durations=40 tests/system

if [ -s "$summary" ]; then
    echo "=== what failed"
    cat "$summary"
fi
rm -f "$summary"
echo "suites: $suites_passed passed, $suites_failed failed"
exit $failed
