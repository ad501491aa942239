#!/bin/bash
# The libFuzzer targets for a short, bounded time each (CI): a clang
# --enable-fuzzing build in its own copy of the tree (build-fuzz/, or
# $CG_FUZZ_BUILDDIR), then scripts/fuzz.sh --ci (about 15 s per target) on
# the seed corpora and saved crashes.  Fails if any target crashes.
# `make fuzz` in such a build runs each target 10^6 times instead.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
BUILD=${CG_FUZZ_BUILDDIR:-$TOP/build-fuzz}
t0=$(date +%s)

scripts/copy-tree.sh "$BUILD" || exit 1
cd "$BUILD" || exit 1
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
    ./autogen.sh >/dev/null 2>&1 || { echo "autogen failed"; exit 1; }
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
    ./configure -q CC=clang --enable-fuzzing || { echo "configure --enable-fuzzing failed"; exit 1; }
fi
make -j2 >/dev/null || { echo "fuzzing build failed"; exit 1; }
echo "fuzzing build in $BUILD: $(( $(date +%s) - t0 )) s"
FUZZ_WORK=${FUZZ_WORK:-$BUILD/fuzz-work} "$TOP/scripts/fuzz.sh" --ci --build "$BUILD"
