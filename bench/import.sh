#!/usr/bin/env bash
# bench/import.sh — Glance import throughput: cloudgate's import job against
# a plain download of the same image from the same Glance.
#
#  1. Starts a Glance (no auth, http on 127.0.0.1; tests/glance_env.py) and
#     uploads CG_BENCH_IMPORT_FILE (default: the cached Debian cloud image of
#     the system tests, else a generated 1 GiB raw file, half random, half
#     zeros).
#  2. CG_BENCH_IMPORT_RUNS rounds, interleaved, each timed:
#       curl-null  curl -o /dev/null  .../v2/images/ID/file
#       curl-pool  curl -o POOLDIR/bench-... (a file in the storage pool's
#                  directory: the same bytes written where the import writes)
#       curl-sha   curl -o - | tee POOLDIR/bench-... | sha512sum (or the
#                  CG_BENCH_IMPORT_HASH's): the download plus the check the
#                  import must make (Glance's os_hash_value), with standard
#                  tools in three processes
#       import     cloudgate-admin image-import glance://bench/ID --as volume
#                  (the whole job: Glance record, download, header, size and
#                  hash checks, the volume in the pool; volumes are not
#                  inspected, so no libguestfs time is counted)
#     The volume is deleted after each round.
#  3. Prints MB/s (10^6 bytes/s of the file's size) per round and the best
#     of each, the CPU seconds of curl, of the admin process and of the
#     Glance server (its processes' utime + stime) for curl-pool and for
#     the import (what the two cores must share), and the ratios
#     import/curl-pool, import/curl-sha and import/curl-null (goal:
#     import/curl-pool >= 0.9), and one core's rate of the hash (openssl
#     speed): no download that verifies it goes faster than that.
#     The load average at the start is printed too: on 2 cores shared with
#     running guests the numbers move by tens of percent.
#
# An EXIT trap stops only the Glance it started (the helper's processes, by
# PID), deletes the volumes this run made (recorded ids) and checks with
# virsh that none is left.  Talks to 127.0.0.1 only.  Needs root, libvirtd
# with pool CG_POOL (scripts/setup-host.sh, which also installs glance-api),
# a built cloudgate-admin, curl and Debian's python3-requests.
#
# Environment:
#   CG_BUILDDIR            where cloudgate-admin is (default: repo top)
#   CG_BENCH_URI           libvirt URI (default qemu:///system)
#   CG_POOL                storage pool (default cloudgate)
#   CG_BENCH_IMPORT_FILE   the image to upload (qcow2 or raw, by its header)
#   CG_BENCH_IMPORT_RUNS   rounds (default 3)
#   CG_BENCH_IMPORT_HASH   Glance's hashing_algorithm: sha512 (its default) or
#                          sha256 (SHA-NI CPUs hash it faster)
set -euo pipefail
export LC_ALL=C

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${CG_BUILDDIR:-$TOP}
ADMIN=$BUILD/cloudgate-admin
URI=${CG_BENCH_URI:-qemu:///system}
POOL=${CG_POOL:-cloudgate}
RUNS=${CG_BENCH_IMPORT_RUNS:-3}
HASH=${CG_BENCH_IMPORT_HASH:-sha512}
case $HASH in sha256|sha512) ;; *) echo "import.sh: CG_BENCH_IMPORT_HASH is sha256 or sha512" >&2; exit 2 ;; esac
CLOUD=/var/cache/cloudgate-tests/debian-cloud/debian-cloud.qcow2
FILE=${CG_BENCH_IMPORT_FILE:-}
PY=/usr/bin/python3          # Debian's requests; a pyenv shim may shadow python3

log() { printf 'bench-import: %s\n' "$*" >&2; }
die() { printf 'bench-import: ERROR: %s\n' "$*" >&2; exit 1; }
V() { virsh -q -c "$URI" "$@"; }
calc() { awk "BEGIN { printf \"%.1f\", $* }"; }
now() { date +%s.%N; }

[ -x "$ADMIN" ] || die "no $ADMIN (build first, or set CG_BUILDDIR)"
V pool-info "$POOL" >/dev/null || die "no storage pool $POOL on $URI (scripts/setup-host.sh)"
POOLDIR=$(V pool-dumpxml "$POOL" | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)
[ -d "$POOLDIR" ] || die "pool $POOL has no local directory"

WORK=$(mktemp -d /tmp/cg-bench-import.XXXXXX)
HELPER_PID=
cleanup() {
  local rc=$? v left
  set +e
  trap - EXIT INT TERM
  if [ -n "$HELPER_PID" ]; then
    kill -TERM "$HELPER_PID" 2>/dev/null
    for _ in $(seq 1 300); do kill -0 "$HELPER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$HELPER_PID" 2>/dev/null && { log "Glance helper did not stop; killing it"; kill -KILL "$HELPER_PID"; }
    wait "$HELPER_PID" 2>/dev/null
  fi
  rm -f "$POOLDIR"/bench-import-$$-*
  if [ -s "$WORK/volumes" ]; then
    while read -r v; do
      V vol-info --pool "$POOL" "$v" >/dev/null 2>&1 && V vol-delete --pool "$POOL" "$v" >/dev/null 2>&1
    done <"$WORK/volumes"
    left=$(while read -r v; do V vol-info --pool "$POOL" "$v" >/dev/null 2>&1 && echo "$v"; done <"$WORK/volumes")
    [ -z "$left" ] || { log "left in pool $POOL: $left"; rc=1; }
    [ -n "$left" ] || log "cleanup verified with virsh"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT INT TERM

if [ -z "$FILE" ]; then
  if [ -s "$CLOUD" ]; then
    FILE=$CLOUD
  else
    FILE=$WORK/gen.raw
    log "generating a 1 GiB raw file (512 MiB random + 512 MiB zeros)"
    head -c $((512 << 20)) /dev/urandom >"$FILE"
    truncate -s 1G "$FILE"
  fi
fi
FORMAT=raw
qemu-img info --output=json "$FILE" | grep -q '"format": "qcow2"' && FORMAT=qcow2

# The Glance helper: starts the server, uploads, prints "URL ID SIZE", then
# waits for SIGTERM or EOF on stdin and stops what it started, by PID.
mkfifo "$WORK/helper.out"
"$PY" - "$TOP/tests" "$FILE" "$FORMAT" "$HASH" >"$WORK/helper.out" 2>"$WORK/helper.err" <<'PY' &
import signal, sys, time
sys.path.insert(0, sys.argv[1])
from glance_env import GlanceEnv
env = GlanceEnv("noauth", hashing=sys.argv[4])
def stop(*_):
    env.cleanup()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
try:
    env.start()
    rec = env.upload("bench-import", sys.argv[2], sys.argv[3])
    print(env.url, rec["id"], rec["size"], flush=True)
    sys.stdout.close()
    deadline = time.time() + 3600          # never outlive the bench by much
    while time.time() < deadline:
        time.sleep(1)
finally:
    env.cleanup()
PY
HELPER_PID=$!
log "starting Glance and uploading $FILE ($FORMAT)"
read -r GURL GID SIZE <"$WORK/helper.out" || true
[ -n "${SIZE:-}" ] || die "Glance helper failed: $(tail -c 2000 "$WORK/helper.err")"
log "Glance $GURL image $GID ($SIZE bytes)"

CONF=$WORK/cloudgate.conf
cat >"$CONF" <<EOF
[gateway]
state_dir = $WORK/state
job_threads = 1
[libvirt]
domain_type = qemu
storage_pool = $POOL
[zone bench]
uri = $URI
[glance bench]
url = $GURL
EOF

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)     # 2 shared cores: other work skews the numbers
declare -A BEST=([null]=0 [pool]=0 [sha]=0 [import]=0)
rate() { calc "$SIZE / ($2 - $1) / 1e6"; }
keep_best() { awk "BEGIN { exit !($2 > ${BEST[$1]}) }" && BEST[$1]=$2 || true; }

# CPU seconds of the Glance server (the helper's descendants) so far: what
# it takes to serve a download, beside what the client takes.
descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }
glance_cpu() {
  local p t=0
  for p in $(descendants "$HELPER_PID"); do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  awk "BEGIN { printf \"%.2f\", $t / $(getconf CLK_TCK) }"
}
cpu_of() { awk '{ printf "%.2f", $1 + $2 }' "$1"; }

printf '%-5s %12s %12s %12s %12s\n' round curl-null curl-pool curl-sha import
for r in $(seq 1 "$RUNS"); do
  # Each step starts with no dirty pages: none pays for writing back the
  # bytes an earlier step left in the page cache.
  sync; t0=$(now); curl -sf -o /dev/null "$GURL/v2/images/$GID/file"; t1=$(now)
  null=$(rate "$t0" "$t1"); keep_best null "$null"

  out=$POOLDIR/bench-import-$$-$r
  sync; g0=$(glance_cpu); t0=$(now)
  /usr/bin/time -f '%U %S' -o "$WORK/curlcpu" curl -sf -o "$out" "$GURL/v2/images/$GID/file"
  t1=$(now); g1=$(glance_cpu)
  rm -f "$out"
  gpool=$(awk "BEGIN { print $g1 - $g0 }"); cpool=$(cpu_of "$WORK/curlcpu")
  pool=$(rate "$t0" "$t1"); keep_best pool "$pool"

  sync; t0=$(now); curl -sf "$GURL/v2/images/$GID/file" | tee "$out" | "${HASH}sum" >/dev/null; t1=$(now)
  rm -f "$out"
  sha=$(rate "$t0" "$t1"); keep_best sha "$sha"

  before=$(V vol-list "$POOL" | awk '{print $1}' | sort)
  sync; g0=$(glance_cpu); t0=$(now)
  vid=$(/usr/bin/time -f '%U %S' -o "$WORK/cpu" "$ADMIN" -c "$CONF" image-import \
        "glance://bench/$GID" --as volume --zone bench --format "$FORMAT" \
        2>"$WORK/import.err" | tail -n 1) ||
    die "image-import failed: $(cat "$WORK/import.err")"
  t1=$(now); g1=$(glance_cpu)
  cpu=$(cpu_of "$WORK/cpu"); gimp=$(awk "BEGIN { print $g1 - $g0 }")
  comm -13 <(echo "$before") <(V vol-list "$POOL" | awk '{print $1}' | sort) >>"$WORK/volumes"
  imp=$(rate "$t0" "$t1"); keep_best import "$imp"
  printf '%-5s %12s %12s %12s %12s   (%s)\n' "$r" "$null" "$pool" "$sha" "$imp" "$vid"
  printf '%-5s CPU s: curl-pool: curl %s + Glance %.2f in %s s wall;  import: admin %s + Glance %.2f in %s s wall\n' \
    "" "$cpool" "$gpool" "$(awk "BEGIN { printf \"%.2f\", $SIZE / $pool / 1e6 }")" "$cpu" "$gimp" \
    "$(awk "BEGIN { printf \"%.2f\", $SIZE / $imp / 1e6 }")"
  while read -r v; do
    V vol-info --pool "$POOL" "$v" >/dev/null 2>&1 && V vol-delete --pool "$POOL" "$v" >/dev/null
  done <"$WORK/volumes"
done
printf '%-5s %12s %12s %12s %12s   MB/s\n' best "${BEST[null]}" "${BEST[pool]}" "${BEST[sha]}" \
  "${BEST[import]}"
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
SHA1CORE=$(openssl speed -seconds 2 -bytes 262144 -evp "$HASH" 2>/dev/null |
           awk -v h="$HASH" '$1 == h { printf "%.1f", $2 / 1000 }')
printf 'import/curl-pool %s   import/curl-sha %s   import/curl-null %s   (goal import/curl-pool >= 0.9)\n' \
  "$(ratio "${BEST[import]}" "${BEST[pool]}")" "$(ratio "${BEST[import]}" "${BEST[sha]}")" \
  "$(ratio "${BEST[import]}" "${BEST[null]}")"
printf '%s on one core (openssl speed, 256 KiB blocks): %s MB/s = %s x curl-pool\n' \
  "$HASH" "$SHA1CORE" "$(ratio "${SHA1CORE:-0}" "${BEST[pool]}")"
printf 'file %s (%s, %s bytes), %s rounds; load average at the start: %s\n' \
  "$FILE" "$FORMAT" "$SIZE" "$RUNS" "$LOAD"
