#!/bin/bash
# The cmocka unit tests and the integration tier (real cloudgated on libvirt's
# test:// driver) under AddressSanitizer + UndefinedBehaviorSanitizer, with
# LeakSanitizer on.  The instrumented build lives in its own copy of the tree
# (build-san/, or $CG_SAN_BUILDDIR: outside the tree or named build-san*), so
# the in-tree build is left alone.
#
# Fails if make check or pytest fails, or if any sanitizer wrote a report.
# A report (a leak at exit included) turns the program's exit code into 23,
# which the fixtures' `gw.stop() == 0` and the admin CLI's check=True catch too.
#
# Environment: CC (gcc by default; clang works), CG_SAN_BUILDDIR, and
# PYTEST_ARGS (e.g. "-k cimi") to run part of the tier.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
BUILD=${CG_SAN_BUILDDIR:-$TOP/build-san}
REPORTS=$BUILD/san-reports
CC=${CC:-gcc}
t0=$(date +%s)

for xsd in "$TOP/../shared/schemas/cimi-1.0-DSP8009.xsd" /work/shared/schemas/cimi-1.0-DSP8009.xsd; do
    [ -f "$xsd" ] && { export CG_CIMI_XSD=${CG_CIMI_XSD:-$(readlink -f "$xsd")}; break; }
done

# ---- copy the tree (only what changed since the last run)
scripts/copy-tree.sh "$BUILD" || exit 1

# ---- configure (again when CC changed) and build
cd "$BUILD" || exit 1
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
    ./autogen.sh >/dev/null 2>&1 || { echo "autogen failed"; exit 1; }
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ] || [ "$(cat .san-cc 2>/dev/null)" != "$CC" ]; then
    ./configure -q --enable-sanitizers CC="$CC" CFLAGS="-O1 -g" ||
        { echo "configure --enable-sanitizers failed"; exit 1; }
    echo "$CC" > .san-cc
fi
make -j2 >/dev/null || { echo "sanitizer build failed"; exit 1; }
echo "sanitizer build ($CC) in $BUILD: $(( $(date +%s) - t0 )) s"

# ---- run: each report is a file in $REPORTS (gcc's UBSan ignores log_path and
# writes to stderr, so the daemons' stderr is kept there too, see cgharness.py)
rm -rf "$REPORTS" && mkdir -p "$REPORTS/stderr" || exit 1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=23:log_path=$REPORTS/asan"
ASAN_OPTIONS+=":strict_string_checks=1:detect_stack_use_after_return=1"
ASAN_OPTIONS+=":check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=23:log_path=$REPORTS/ubsan"
export LSAN_OPTIONS="suppressions=$TOP/tests/lsan.supp:print_suppressions=0"
export CG_STDERR_DIR=$REPORTS/stderr

# A canary first: a leak and a bad shift must each leave a report, or "no
# report" below would prove nothing.
canary() {
    local d=$BUILD/san-canary out
    rm -rf "$d" && mkdir -p "$d" || return 1
    printf '%s\n' '#include <stdlib.h>' 'static void *volatile kept;' \
        'int main(int argc, char **argv)' '{' '    kept = malloc(7);' '    kept = NULL;' \
        '    return argc > 1 ? 1 << (argc + 30) : argv[0][0] == 0;' '}' > "$d/canary.c"
    # shellcheck disable=SC2086  # the flags configure used
    $CC $(sed -n 's/^CFLAGS = //p' Makefile) "$d/canary.c" -o "$d/canary" || return 1
    ASAN_OPTIONS=${ASAN_OPTIONS//$REPORTS/$d} UBSAN_OPTIONS=${UBSAN_OPTIONS//$REPORTS/$d} \
        "$d/canary" 2>"$d/stderr.leak"
    ASAN_OPTIONS=${ASAN_OPTIONS//$REPORTS/$d} UBSAN_OPTIONS=${UBSAN_OPTIONS//$REPORTS/$d} \
        "$d/canary" x 2>"$d/stderr.ub"
    out=$(cat "$d"/asan.* "$d"/ubsan.* "$d"/stderr.* 2>/dev/null)
    grep -q 'LeakSanitizer: detected memory leaks' <<<"$out" &&
        grep -q 'runtime error: shift exponent' <<<"$out" && rm -rf "$d"
}
canary || { echo "sanitizer canary: reports are not recorded (see $BUILD/san-canary)"; exit 1; }

failed=0
t1=$(date +%s)
# test_guest (libguestfs appliances, minutes under TCG) runs in the plain
# unit tier only.
if ! CG_SKIP_GUESTFS=1 make -j2 check >/dev/null; then
    echo "=== make check under sanitizers FAILED"
    # Only the failed tests' logs (automake's .trs says which), so CI's
    # excerpt of the output shows the assertion, not sixty PASS lines.
    bad=$(grep -l ':test-result: \(FAIL\|ERROR\)' tests/unit/*.trs 2>/dev/null)
    for t in $bad; do
        echo "--- ${t%.trs}.log"
        grep -v '^\[ *\(OK\|RUN\|PASSED\|==========\) *\]' "${t%.trs}.log" | tail -60
    done
    echo "failed under sanitizers: $(echo $bad | sed 's/\.trs//g')"
    failed=1
fi
echo "unit tests under sanitizers: $(( $(date +%s) - t1 )) s"

t2=$(date +%s)
cd "$TOP" || exit 1
# shellcheck disable=SC2086  # PYTEST_ARGS is a list of words
CG_BUILDDIR=$BUILD /usr/bin/python3 -m pytest -q -p no:cacheprovider --durations=25 \
    ${PYTEST_ARGS:-} tests/integration || failed=1
echo "integration tier under sanitizers: $(( $(date +%s) - t2 )) s"

# Daemon stderr is a report only when a sanitizer wrote to it.
find "$REPORTS/stderr" -type f -print0 | while IFS= read -r -d '' f; do
    grep -q 'runtime error:\|Sanitizer' "$f" || rm -f "$f"
done
reports=$(find "$REPORTS" -type f | sort)
if [ -n "$reports" ]; then
    echo "=== sanitizer reports ($(echo "$reports" | wc -l)):"
    for r in $reports; do
        echo "--- $r"
        cat "$r"
    done
    failed=1
fi
echo "sanitizers: $([ $failed -eq 0 ] && echo passed || echo FAILED)" \
     "in $(( $(date +%s) - t0 )) s"
exit $failed
