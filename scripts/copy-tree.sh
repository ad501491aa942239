#!/bin/bash
# Copy the source tree (tracked and new, not ignored files) into DIR for a
# separately configured build (sanitizers, fuzzing): an in-place configured
# tree cannot also serve a VPATH build.  Only files whose content changed are
# copied, stamped now, so make rebuilds exactly those.
#   scripts/copy-tree.sh DIR
set -uo pipefail
dest=${1:?usage: copy-tree.sh DIR}
cd "$(dirname "$0")/.." || exit 1
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "$0 needs a git checkout"; exit 1; }
mkdir -p "$dest" || exit 1
git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do
        [ -f "$f" ] || continue
        cmp -s "$f" "$dest/$f" && continue
        mkdir -p "$dest/$(dirname "$f")" && cp "$f" "$dest/$f" || exit 1
    done || { echo "copying the tree to $dest failed"; exit 1; }
