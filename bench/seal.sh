#!/usr/bin/env bash
# bench/seal.sh — sealing time: cloudgate's sealed import against running
# virt-sysprep by hand on the same disk.
#
# CG_BENCH_SEAL_RUNS rounds (default 2), interleaved, on the system tests'
# Debian cloud image (scripts/build-cloud-image.sh, cached):
#   plain   cloudgate-admin image-import FILE --as template          (copy
#           into the pool, inspection)
#   sealed  cloudgate-admin image-import FILE --as template --seal   (the
#           same plus sealing)
#   hand    (last in odd rounds, first in even ones) cp FILE COPY (untimed), then virt-sysprep -a COPY with the
#           options the job uses (engine/guest.c: default operations,
#           --hostname localhost.localdomain --write /etc/machine-id:)
# and prints, per round and as medians: the job's sealing step (sealed -
# plain, and the span between the job log's "sealing with virt-sysprep" and
# "sealed" lines), the by-hand virt-sysprep, and their ratio.
#
# Imports go to a private state dir; the EXIT trap deregisters the templates
# this run made, removes its files and checks with virsh that none of its
# volumes is left.  No network traffic.  Needs root, libvirtd with pool
# CG_POOL (scripts/setup-host.sh) and a built cloudgate-admin.
#
# Environment: CG_BUILDDIR (default: repo top), CG_BENCH_URI
# (qemu:///system), CG_POOL (cloudgate), CG_BENCH_SEAL_FILE (default the
# cached cloud image), CG_BENCH_SEAL_RUNS (2).
set -euo pipefail
export LC_ALL=C
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${CG_BUILDDIR:-$TOP}
ADMIN=$BUILD/cloudgate-admin
URI=${CG_BENCH_URI:-qemu:///system}
POOL=${CG_POOL:-cloudgate}
RUNS=${CG_BENCH_SEAL_RUNS:-2}
FILE=${CG_BENCH_SEAL_FILE:-/var/cache/cloudgate-tests/debian-cloud/debian-cloud.qcow2}

log() { printf 'bench-seal: %s\n' "$*" >&2; }
die() { printf 'bench-seal: ERROR: %s\n' "$*" >&2; exit 1; }
V() { virsh -q -c "$URI" "$@"; }
now() { date +%s.%N; }
secs() { awk "BEGIN { printf \"%.1f\", $2 - $1 }"; }

[ -x "$ADMIN" ] || die "no $ADMIN (build first, or set CG_BUILDDIR)"
[ -s "$FILE" ] || die "no $FILE (scripts/build-cloud-image.sh builds it)"
command -v virt-sysprep >/dev/null || die "no virt-sysprep (guestfs-tools)"
V pool-info "$POOL" >/dev/null || die "no storage pool $POOL on $URI (scripts/setup-host.sh)"

WORK=$(mktemp -d /var/tmp/cg-bench-seal.XXXXXX)
CONF=$WORK/cloudgate.conf
cleanup() {
  local rc=$? ami vol left=
  set +e
  trap - EXIT INT TERM
  if [ -s "$WORK/images" ]; then
    while read -r ami vol; do
      "$ADMIN" -c "$CONF" image-deregister "$ami" >/dev/null 2>&1
      V vol-info --pool "$POOL" "$vol" >/dev/null 2>&1 && left="$left $vol"
    done <"$WORK/images"
    [ -z "$left" ] || { log "left in pool $POOL:$left"; rc=1; }
    [ -n "$left" ] || log "cleanup verified with virsh"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT INT TERM

mkdir -p "$WORK/state" "$WORK/import"
cp "$FILE" "$WORK/import/disk.qcow2"
cat >"$CONF" <<EOF
[gateway]
state_dir = $WORK/state
job_threads = 1
import_dirs = $WORK/import
[libvirt]
domain_type = qemu
storage_pool = $POOL
[zone bench]
uri = $URI
EOF

# import NAME [--seal]: prints the seconds it took; records AMI and volume.
import() {
  local name=$1 t0 t1 ami
  shift
  t0=$(now)
  ami=$("$ADMIN" -c "$CONF" image-import "file://$WORK/import/disk.qcow2" --as template \
        --name "$name" --zone bench "$@" 2>"$WORK/import.err" | tail -n 1) ||
    die "image-import failed: $(tail -c 2000 "$WORK/import.err")"
  t1=$(now)
  "$ADMIN" -c "$CONF" image-list | awk -v a="$ami" '$1 == a { print $1, $4 }' >>"$WORK/images"
  secs "$t0" "$t1"
}

# The job log's span from "sealing with virt-sysprep" to "sealed" (1 s steps).
job_seal_span() {
  local id
  id=$("$ADMIN" -c "$CONF" jobs | awk 'NR > 1 || !/^id/ { print $1; exit }')
  "$ADMIN" -c "$CONF" jobs --log "$id" | awk '
    function t(s) { gsub(/[-:TZ]/, " ", s); return mktime(s, 1) }
    /sealing with virt-sysprep/ { a = t($1) } / sealed$/ { b = t($1) }
    END { if (a && b) printf "%d", b - a; else printf "?" }'
}

# virt-sysprep by hand on a fresh copy (the copy untimed); prints seconds.
by_hand() {
  local t0 t1
  cp "$FILE" "$WORK/hand.qcow2"
  t0=$(now)
  virt-sysprep --format qcow2 -a "$WORK/hand.qcow2" --hostname localhost.localdomain \
    --write /etc/machine-id: >"$WORK/hand.log" 2>&1 || die "virt-sysprep: $(tail -5 "$WORK/hand.log")"
  t1=$(now)
  rm -f "$WORK/hand.qcow2"
  secs "$t0" "$t1"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
                                               else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
printf '%-5s %10s %10s %10s %10s %10s %8s\n' round plain sealed job-seal log-span by-hand ratio
for r in $(seq 1 "$RUNS"); do
  # Odd rounds run the by-hand seal last, even rounds first: load that
  # changes during a round then weighs on both sides.
  [ $((r % 2)) -eq 0 ] && hand=$(by_hand)
  plain=$(import "seal-bench-$$-plain-$r")
  sealed=$(import "seal-bench-$$-sealed-$r" --seal)
  span=$(job_seal_span)
  [ $((r % 2)) -eq 1 ] && hand=$(by_hand)
  step=$(awk "BEGIN { printf \"%.1f\", $sealed - $plain }")
  printf '%-5s %10s %10s %10s %10s %10s %8s\n' "$r" "$plain" "$sealed" "$step" "$span" "$hand" \
    "$(awk "BEGIN { printf \"%.2f\", $step / $hand }")"
  echo "$step" >>"$WORK/steps"; echo "$hand" >>"$WORK/hands"
done
ms=$(median <"$WORK/steps"); mh=$(median <"$WORK/hands")
printf 'median: sealing step %s s, virt-sysprep by hand %s s, ratio %s (seconds; job-seal = sealed - plain import)\n' \
  "$ms" "$mh" "$(awk "BEGIN { printf \"%.2f\", $ms / $mh }")"
printf 'file %s, %s rounds; load average at the start: %s\n' "$FILE" "$RUNS" "$LOAD"
