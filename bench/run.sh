#!/usr/bin/env bash
# bench/run.sh — DescribeInstances and RunInstances benchmark of cloudgated
# against the raw libvirt work it replaces.  See bench/README.md.
#
#  1. Builds its C helpers (bench_domains, raw_enum, http_anchor) into a temp
#     dir, the first two linked with the product's own domain XML code; builds the demo guest (cached);
#     registers it as a template with cloudgate-admin.
#  2. For each N in CG_BENCH_SIZES: defines (never starts) persistent domains
#     with cloudgate metadata up to N, has a private cloudgated list them,
#     then measures DescribeInstances (wrk, one connection: p50/p95; wrk with
#     CG_BENCH_CONC connections: req/s), CIMI's GET /cimi/machines as JSON
#     and XML (wrk, one connection), and the raw libvirt enumeration of the
#     same domains (raw_enum: one thread p50/p95; CG_BENCH_CONC threads: /s).
#     The first size is defined before the gateway starts; the growth to the
#     next size happens while it runs (its event cache must pick it up), then
#     the gateway is restarted to time a cold start at that size.
#     Before that, with none of its domains: the gateway's RSS (anchor of the
#     RSS figure) and DescribeRegions req/s against http_anchor (a bare
#     evhttp server answering the same bytes).  RSS again at each N.
#  3. Undefines them; CG_BENCH_RUNS rounds of RunInstances (response and
#     time to running) + Terminate (boto3) and of `virsh create` (+ domstate
#     until running) + destroy of the same domain XML; then one
#     RunInstances --count CG_BENCH_COUNT to all running against as many
#     sequential `virsh create`s.
#  4. Prints the tables and a summary: figure, cloudgate, anchor, ratio,
#     goal (issue 14), met?.  An EXIT trap removes everything it made, by id/name,
#     even on failure, stops only the cloudgated it started (by PID), and
#     checks with virsh that nothing is left.
#
# Needs root, libvirtd with pool CG_POOL and network CG_NETWORK
# (scripts/setup-host.sh), a built cloudgated/cloudgate-admin, wrk, gcc,
# pkg-config, libvirt-dev, libxml2-dev, libevent-dev, python3-boto3.  Talks to 127.0.0.1 only.
#
# Environment:
#   CG_BUILDDIR       where cloudgated and cloudgate-admin are (default: repo top)
#   CG_BENCH_URI      libvirt URI                  (default qemu:///system)
#   CG_POOL           storage pool                 (default cloudgate)
#   CG_NETWORK        network                      (default cloudgate-isolated)
#   CG_BENCH_SIZES    instance counts              (default "100 1000", ascending)
#   CG_BENCH_SECS     seconds per wrk / raw throughput run (default 10)
#   CG_BENCH_CONC     concurrent connections / raw threads (default 16)
#   CG_BENCH_THREADS  wrk threads for the concurrent run   (default 2)
#   CG_BENCH_RUNS     RunInstances / virsh create rounds   (default 5; 0 skips)
#   CG_BENCH_COUNT    N of run-instances --count N         (default 20; 0 skips; issue: 100)
#   CG_BENCH_COUNT_WAIT  seconds the --count figure waits for all running (default 600)
#   CG_BENCH_REGIONS_ROUNDS  interleaved DescribeRegions rounds, median kept (default 3)
#   CG_BENCH_MEM_OVERCOMMIT  the gateway's memory_overcommit (default 1.5)
#   CG_BENCH_CPU_OVERCOMMIT  the gateway's cpu_overcommit (default 16, the gateway's own)
#   CG_BENCH_DEMO_DIR demo guest cache  (default /var/cache/cloudgate-bench/demo-guest)
set -euo pipefail
export LC_ALL=C

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${CG_BUILDDIR:-$TOP}
DAEMON=$BUILD/cloudgated
ADMIN=$BUILD/cloudgate-admin
URI=${CG_BENCH_URI:-qemu:///system}
POOL=${CG_POOL:-cloudgate}
NETWORK=${CG_NETWORK:-cloudgate-isolated}
# CG_BENCH_PRIVATE=1: a private unprivileged libvirtd serving the test driver
# (its shared test:///default world) on its own socket, so that no other
# gateway on this host adopts the bench's domains.  No guest can boot there.
PRIVATE=${CG_BENCH_PRIVATE:-0}
LVD_PID=
HOLD_PID=
SIZES=${CG_BENCH_SIZES:-100 1000}
SECS=${CG_BENCH_SECS:-10}
CONC=${CG_BENCH_CONC:-16}
WRK_THREADS=${CG_BENCH_THREADS:-2}
RUNS=${CG_BENCH_RUNS:-5}
COUNT=${CG_BENCH_COUNT:-20}
REGIONS_ROUNDS=${CG_BENCH_REGIONS_ROUNDS:-3}
MEM_OVERCOMMIT=${CG_BENCH_MEM_OVERCOMMIT:-1.5}
CPU_OVERCOMMIT=${CG_BENCH_CPU_OVERCOMMIT:-16}
DEMO_DIR=${CG_BENCH_DEMO_DIR:-/var/cache/cloudgate-bench/demo-guest}
PY=/usr/bin/python3          # Debian's boto3; a pyenv shim may shadow python3
ZONE=cloudgate-a
export CG_NETWORK=$NETWORK   # bench_domains reads it

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }
V() { virsh -q -c "$URI" "$@"; }
kv() { sed -n "s/^$2=//p" "$1" | tail -n 1; }   # kv FILE KEY
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }  # calc EXPR (awk: no bc needed)

# ---------------------------------------------------------------- state for cleanup
WORK=
GW_PID=
ANCHOR_PID=
IMAGE_ID=
IMAGE_VOL=
RUN_TAG=bench-$(date +%s)-$$

stop_anchor() {
  [ -n "$ANCHOR_PID" ] || return 0
  kill -TERM "$ANCHOR_PID" 2>/dev/null || true
  wait "$ANCHOR_PID" 2>/dev/null || true
  ANCHOR_PID=
}

# http_anchor serving FILE's bytes on 127.0.0.1:$APORT, until stop_anchor.
start_anchor() {
  local i
  APORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$WORK/bin/http_anchor" "$APORT" "$1" >"$WORK/anchor.out" 2>&1 &
  ANCHOR_PID=$!
  for ((i = 0; i < 100; i++)); do
    grep -q listening "$WORK/anchor.out" 2>/dev/null && return 0
    kill -0 "$ANCHOR_PID" 2>/dev/null || die "http_anchor exited: $(cat "$WORK/anchor.out")"
    sleep 0.05
  done
  die "http_anchor did not listen"
}

stop_gateway() {
  [ -n "$GW_PID" ] || return 0
  if kill -0 "$GW_PID" 2>/dev/null; then
    kill -TERM "$GW_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 400; i++)); do
      kill -0 "$GW_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$GW_PID" 2>/dev/null; then
      log "cloudgated $GW_PID did not stop in 40 s; killing it"
      kill -KILL "$GW_PID" 2>/dev/null || true
    fi
  fi
  wait "$GW_PID" 2>/dev/null || true
  GW_PID=
}

# Domains whose cloudgate metadata names this run's image: only this run can
# have made them (the image id is new).  Prints their names.
domains_of_image() {
  [ -n "$IMAGE_ID" ] || return 0
  local d
  for d in $(V list --all --name 2>/dev/null); do
    if V dumpxml --inactive "$d" 2>/dev/null | grep -q "image-id>$IMAGE_ID<"; then
      printf '%s\n' "$d"
    fi
  done
}

start_private_libvirtd() { # in $WORK/lvd, as nobody; sets URI POOL NETWORK
  local top=$WORK/lvd d i
  mkdir -p "$top" && chmod 755 "$WORK" "$top"
  for d in home run config cache; do
    mkdir -p "$top/$d" && chown nobody:nogroup "$top/$d" && chmod 700 "$top/$d"
  done
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME="$top/home" \
    XDG_RUNTIME_DIR="$top/run" XDG_CONFIG_HOME="$top/config" XDG_CACHE_HOME="$top/cache" \
    setsid setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
    /usr/sbin/libvirtd </dev/null >"$top/libvirtd.log" 2>&1 &
  LVD_PID=$!
  URI="test+unix:///default?socket=$top/run/libvirt/libvirt-sock"
  POOL=default-pool
  NETWORK=default
  export CG_NETWORK=$NETWORK
  for ((i = 0; i < 200; i++)); do
    if V list --all --name >/dev/null 2>&1; then
      # test:///default lives while a connection holds it: one virsh keeps
      # it open so that the domains outlive the connection that defines them.
      virsh -q -c "$URI" event --all --loop </dev/null >/dev/null 2>&1 &
      HOLD_PID=$!
      return 0
    fi
    kill -0 "$LVD_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$top/libvirtd.log" >&2
  die "private libvirtd did not answer"
}

stop_private_libvirtd() {
  [ -n "$LVD_PID" ] || return 0
  if [ -n "$HOLD_PID" ]; then
    kill -TERM "$HOLD_PID" 2>/dev/null || true
    wait "$HOLD_PID" 2>/dev/null || true
  fi
  kill -TERM "$LVD_PID" 2>/dev/null || true
  wait "$LVD_PID" 2>/dev/null || true
  LVD_PID=
}

remove_instance() { # id: what a RunInstances made
  local id=$1
  if V domstate "$id" >/dev/null 2>&1; then
    V destroy "$id" >/dev/null 2>&1 || true
    V undefine "$id" --nvram >/dev/null 2>&1 || V undefine "$id" >/dev/null 2>&1 || true
  fi
  local vol
  for vol in "$id.qcow2" "$id-seed.iso"; do
    if V vol-info --pool "$POOL" "$vol" >/dev/null 2>&1; then
      V vol-delete --pool "$POOL" "$vol" >/dev/null 2>&1 || true
    fi
  done
}

# stdin: "queued 3 ms, then disk 40, ..., start 900 ms" lines; stdout: one
# line of each step's median.
launch_step_medians() {
  "$PY" -c 'import re, statistics, sys
steps = {}
for line in sys.stdin:
    for name, ms in re.findall(r"([a-z]+) ([0-9]+)", line):
        steps.setdefault(name, []).append(int(ms))
for name, v in steps.items():
    print("    %-8s %6.0f   (all: %s)" % (name, statistics.median(v), ",".join(map(str, v))))'
}

# The ids of the security groups in this run's gateway's database.
sg_ids_of_gateway() {
  "$PY" -c 'import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print("\n".join(r[0] for r in db.execute("SELECT id FROM security_groups")))' \
    "$WORK/state/cloudgate.db" 2>/dev/null || true
}

# The NIC filters its database names: the shared one of each set of groups
# an instance has (tests/cgharness.py nic_filter_name), left when a
# launch's rollback lost its libvirt connection.
nic_filters_of_gateway() {
  PYTHONPATH="$TOP/tests" "$PY" -c 'import sqlite3, sys, cgharness
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
g = {}
for iid, gid in db.execute("SELECT instance_id, group_id FROM instance_groups"):
    g.setdefault(iid, []).append(gid)
print("\n".join(sorted({cgharness.nic_filter_name(v) for v in g.values()})))' \
    "$WORK/state/cloudgate.db" 2>/dev/null || true
}

cleanup() {
  local rc=$? id name left=0
  set +e
  trap - EXIT INT TERM
  [ -n "$WORK" ] || { stop_private_libvirtd; exit "$rc"; }
  stop_anchor
  stop_gateway
  if [ -s "$WORK/run_ids" ]; then
    while read -r id; do remove_instance "$id"; done <"$WORK/run_ids"
  fi
  if [ -s "$WORK/virsh_names" ]; then
    while read -r name; do
      V domstate "$name" >/dev/null 2>&1 && V destroy "$name" >/dev/null 2>&1
    done <"$WORK/virsh_names"
  fi
  # The filtered anchor's copies of an instance's NIC filter, then the
  # security groups' filters of this run's gateway (its VPC's default group).
  if [ -s "$WORK/virsh_filters" ]; then
    while read -r name; do V nwfilter-undefine "$name" >/dev/null 2>&1; done <"$WORK/virsh_filters"
  fi
  if [ -s "$WORK/state/cloudgate.db" ]; then
    local defined
    defined=$(V nwfilter-list 2>/dev/null | awk '{print $2}')
    for name in $(nic_filters_of_gateway); do
      grep -qx -- "$name" <<<"$defined" || continue
      V nwfilter-undefine "$name" >/dev/null 2>&1 || log "cannot undefine nwfilter $name"
    done
    for id in $(sg_ids_of_gateway); do
      V nwfilter-undefine "cg-sg-$id" >/dev/null 2>&1 || log "cannot undefine nwfilter cg-sg-$id"
    done
  fi
  if [ -s "$WORK/ids" ]; then
    if [ -x "$WORK/bin/bench_domains" ]; then
      "$WORK/bin/bench_domains" undefine "$URI" "$RUN_TAG" "$WORK/ids" >/dev/null
    else
      log "bench_domains missing; cannot undefine $(wc -l <"$WORK/ids") domains listed in $WORK/ids"
    fi
  fi
  # Anything else on this run's image (a launch whose id was never recorded).
  for id in $(domains_of_image); do
    log "removing leftover instance $id of $IMAGE_ID"
    remove_instance "$id"
  done
  if [ -n "$IMAGE_ID" ]; then
    "$ADMIN" -c "$WORK/cloudgate.conf" image-deregister "$IMAGE_ID" >/dev/null 2>&1 ||
      log "image-deregister $IMAGE_ID failed"
  fi
  if [ -n "$IMAGE_VOL" ] && V vol-info --pool "$POOL" "$IMAGE_VOL" >/dev/null 2>&1; then
    V vol-delete --pool "$POOL" "$IMAGE_VOL" >/dev/null 2>&1 || true
  fi

  # The groups' member sets (drivers/libvirt/lv_sg_ipset.h), once no
  # filter names them and no guest's chain matches them.
  for id in $(sg_ids_of_gateway); do
    for name in "cg-sg-$id-t" "cg-sg-$id"; do
      ipset -q list "$name" >/dev/null 2>&1 && { ipset destroy "$name" >/dev/null 2>&1 ||
        log "cannot destroy ipset $name"; }
    done
  done

  # Verify with virsh that nothing of ours is left.
  local all
  all=$(V list --all --name 2>/dev/null | sort)
  for f in ids run_ids count_ids virsh_names; do
    [ -s "$WORK/$f" ] || continue
    local stale
    stale=$(sort -u "$WORK/$f" | comm -12 - <(printf '%s\n' "$all"))
    if [ -n "$stale" ]; then
      log "LEFT BEHIND ($f): $(tr '\n' ' ' <<<"$stale" | head -c 300)"
      left=1
    fi
  done
  if [ -n "$(domains_of_image)" ]; then
    log "LEFT BEHIND: domains on image $IMAGE_ID"
    left=1
  fi
  local filters
  filters=$(V nwfilter-list 2>/dev/null | awk '{print $2}')
  for name in $(cat "$WORK/virsh_filters" 2>/dev/null) $(nic_filters_of_gateway) \
    $(sg_ids_of_gateway | sed 's/^/cg-sg-/'); do
    if grep -qx -- "$name" <<<"$filters"; then
      log "LEFT BEHIND: nwfilter $name"
      left=1
    fi
    if [[ $name == cg-sg-* ]] && ipset -q list "$name" >/dev/null 2>&1; then
      log "LEFT BEHIND: ipset $name"
      left=1
    fi
  done
  if [ -n "$IMAGE_VOL" ] && V vol-info --pool "$POOL" "$IMAGE_VOL" >/dev/null 2>&1; then
    log "LEFT BEHIND: volume $IMAGE_VOL"
    left=1
  fi
  if [ -s "$WORK/run_ids" ]; then
    while read -r id; do
      for vol in "$id.qcow2" "$id-seed.iso"; do
        if V vol-info --pool "$POOL" "$vol" >/dev/null 2>&1; then
          log "LEFT BEHIND: volume $vol"
          left=1
        fi
      done
    done <"$WORK/run_ids"
  fi
  if [ $left = 0 ]; then
    log "cleanup verified with virsh: no domain or volume of this run is left" \
      "($(cat "$WORK"/ids "$WORK"/run_ids "$WORK"/virsh_names 2>/dev/null | sort -u | grep -c .) domains checked by id/name)"
    stop_private_libvirtd
    [ -n "${CG_BENCH_KEEP:-}" ] || rm -rf "$WORK"
  else
    stop_private_libvirtd
    log "cleanup incomplete; kept $WORK for inspection"
    [ "$rc" != 0 ] || rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- checks
[ "$(id -u)" -eq 0 ] || die "run as root (qemu:///system)"
for t in gcc pkg-config wrk virsh qemu-img awk; do
  command -v "$t" >/dev/null || die "$t missing"
done
[ -x "$PY" ] || die "$PY missing"
[[ $COUNT =~ ^[0-9]+$ ]] || die "CG_BENCH_COUNT must be a count (0 skips)"
[[ $REGIONS_ROUNDS =~ ^[1-9][0-9]*$ ]] || die "CG_BENCH_REGIONS_ROUNDS must be a count of 1 or more"
if [ ! -x "$DAEMON" ] || [ ! -x "$ADMIN" ]; then
  die "no cloudgated/cloudgate-admin in $BUILD (set CG_BUILDDIR)"
fi
[ "$PRIVATE" = 1 ] || V pool-info "$POOL" >/dev/null 2>&1 || die "no storage pool $POOL on $URI (scripts/setup-host.sh)"
[ "$PRIVATE" = 1 ] || V net-info "$NETWORK" >/dev/null 2>&1 || die "no network $NETWORK on $URI (scripts/setup-host.sh)"
prev=0
for n in $SIZES; do
  if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -le "$prev" ]; then
    die "CG_BENCH_SIZES must be ascending counts"
  fi
  prev=$n
done

WORK=$(mktemp -d /tmp/cgbench.XXXXXX)
T0=$SECONDS
if [ "$PRIVATE" = 1 ]; then
  [ "$RUNS" = 0 ] && [ "$COUNT" = 0 ] || die "CG_BENCH_PRIVATE=1 needs CG_BENCH_RUNS=0 CG_BENCH_COUNT=0 (test driver)"
  start_private_libvirtd
  log "private libvirtd $LVD_PID: $URI"
fi

# ---------------------------------------------------------------- helpers
mkdir -p "$WORK/bin"
for prog in bench_domains raw_enum; do
  # shellcheck disable=SC2046
  gcc -std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -pthread -I"$TOP" \
    "$TOP/bench/$prog.c" "$TOP/drivers/libvirt/lv_domxml.c" "$TOP/drivers/libvirt/lv_domparse.c" \
    "$TOP/drivers/libvirt/lv_display.c" "$TOP/drivers/driver.c" \
    "$TOP/gateway/error.c" $(pkg-config --cflags --libs libvirt libxml-2.0) \
    -o "$WORK/bin/$prog"
done
# shellcheck disable=SC2046
gcc -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE "$TOP/bench/http_anchor.c" \
  $(pkg-config --cflags --libs libevent) -o "$WORK/bin/http_anchor"
log "helpers built in $WORK/bin"

"$TOP/scripts/build-demo-guest.sh" "$DEMO_DIR" >&2

# ---------------------------------------------------------------- gateway config
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ENDPOINT=http://127.0.0.1:$PORT
KEY_ID=AKIA$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
SECRET=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
printf '# benchmark key\n%s %s\n' "$KEY_ID" "$SECRET" >"$WORK/credentials"
chmod 600 "$WORK/credentials"
cat >"$WORK/cloudgate.conf" <<EOF
[gateway]
listen = 127.0.0.1:$PORT
credentials = $WORK/credentials
state_dir = $WORK/state

[libvirt]
domain_type = qemu
storage_pool = $POOL
network = $NETWORK
stop_timeout = 5
memory_overcommit = $MEM_OVERCOMMIT
cpu_overcommit = $CPU_OVERCOMMIT

[zone $ZONE]
uri = $URI
EOF
"$DAEMON" -t -c "$WORK/cloudgate.conf" >/dev/null || die "config check failed"

IMAGE_ID=$("$ADMIN" -c "$WORK/cloudgate.conf" image-register --name "cgbench-$RUN_TAG" \
  --disk "$DEMO_DIR/disk.qcow2" --kernel "$DEMO_DIR/vmlinuz" --initrd "$DEMO_DIR/initrd.img" \
  --cmdline "console=ttyS0" | awk 'END {print $NF}')
[[ $IMAGE_ID =~ ^ami-[0-9a-f]{17}$ ]] || die "image-register printed '$IMAGE_ID'"
IMAGE_VOL=$("$ADMIN" -c "$WORK/cloudgate.conf" image-list | awk -F'\t' -v id="$IMAGE_ID" '$1 == id {print $4}')
# The test driver keeps no uploaded volume; only launches need the template.
[ -n "$IMAGE_VOL" ] || [ "$PRIVATE" = 1 ] || die "no volume for $IMAGE_ID in image-list"
TEMPLATE=
[ -z "$IMAGE_VOL" ] || TEMPLATE=$(V vol-path --pool "$POOL" "$IMAGE_VOL")
log "template $IMAGE_ID: volume $IMAGE_VOL ($TEMPLATE)"

start_gateway() { # prints seconds until it accepts connections
  local t0 i
  t0=$(date +%s.%N)
  "$DAEMON" -c "$WORK/cloudgate.conf" -L "$WORK/cloudgated.log" </dev/null >/dev/null 2>>"$WORK/cloudgated.err" &
  GW_PID=$!
  for ((i = 0; i < 1200; i++)); do
    kill -0 "$GW_PID" 2>/dev/null || { cat "$WORK/cloudgated.err" "$WORK/cloudgated.log" >&2; die "cloudgated exited"; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      calc "$(date +%s.%N) - $t0"; echo
      return 0
    fi
    sleep 0.05
  done
  die "cloudgated did not listen within 60 s"
}

# ---------------------------------------------------------------- environment
NDOM_BEFORE=$(V list --all --name | grep -c . || true)
NRUN_BEFORE=$(V list --state-running --name | grep -c . || true)
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host=$(nproc) cpus, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(uname -r)"
  echo "libvirt=$(virsh -c "$URI" version 2>/dev/null | sed -n 's/^Using library: //p')"
  echo "qemu=$(qemu-system-x86_64 --version | head -n 1)"
  echo "other_domains=$NDOM_BEFORE ($NRUN_BEFORE running) on $URI before the run"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$WORK/env.txt"
cat "$WORK/env.txt" >&2

rss_of_gateway() { # prints rss_kb= hwm_kb= anon_kb= file_kb= of the running cloudgated
  awk '/^VmRSS:/ {print "rss_kb=" $2} /^VmHWM:/ {print "hwm_kb=" $2}
       /^RssAnon:/ {print "anon_kb=" $2} /^RssFile:/ {print "file_kb=" $2}' "/proc/$GW_PID/status"
}

# median_round PREFIX: the PREFIX.R.txt (R = 1..REGIONS_ROUNDS) of median
# req_s, with req_s_rounds= every round's req_s in order.
median_round() {
  local r all=() med
  for ((r = 1; r <= REGIONS_ROUNDS; r++)); do all+=("$(kv "$1.$r.txt" req_s)"); done
  med=$(printf '%s\n' "${all[@]}" | sort -g | sed -n "$(((REGIONS_ROUNDS + 1) / 2))p")
  for ((r = 1; r <= REGIONS_ROUNDS; r++)); do
    [ "$(kv "$1.$r.txt" req_s)" = "$med" ] && { cat "$1.$r.txt"; break; }
  done
  (IFS=,; echo "req_s_rounds=${all[*]}")
}

check_wrk() { # FILE LABEL: requests made, no non-2xx, no socket errors
  local e
  [ "$(kv "$1" requests)" -gt 0 ] || die "$2 made no requests"
  for e in err_status err_connect err_read err_write err_timeout; do
    [ "$(kv "$1" "$e")" = 0 ] || { cat "$1" >&2; die "$2: $e"; }
  done
}

# ---------------------------------------------------------------- no instances
# The gateway with none of this run's domains: its RSS (the anchor of the
# RSS figure) and DescribeRegions req/s against http_anchor, an evhttp
# server that answers the same bytes from its event loop and does nothing
# else (what the HTTP stack alone can do on this machine).
: >"$WORK/none"
start_gateway >"$WORK/start_s.0"
"$PY" "$TOP/bench/bench.py" count "$ENDPOINT" "$KEY_ID" "$SECRET" "$WORK/none" >"$WORK/count0.txt"
rss_of_gateway >"$WORK/rss0.txt"
log "N=0: cloudgated listening after $(cat "$WORK/start_s.0") s, lists $(kv "$WORK/count0.txt" listed)" \
  "instances (not ours), VmRSS $(kv "$WORK/rss0.txt" rss_kb) kB"
"$PY" "$TOP/bench/bench.py" fetch "$ENDPOINT" "$KEY_ID" "$SECRET" DescribeRegions "$WORK/regions.xml" >/dev/null
"$PY" "$TOP/bench/bench.py" sign "$ENDPOINT" "$KEY_ID" "$SECRET" "$WORK/regions.lua" keep DescribeRegions
start_anchor "$WORK/regions.xml"
# One 10 s round here has ranged from 13,000 to 21,000 req/s for the same
# build: REGIONS_ROUNDS interleaved rounds, and the round of median req/s
# stands for each side (every round's figure is printed too).
log "DescribeRegions: $REGIONS_ROUNDS x (wrk -t$WRK_THREADS -c$CONC -d${SECS}s, gateway then http_anchor)"
for ((r = 1; r <= REGIONS_ROUNDS; r++)); do
  wrk -t"$WRK_THREADS" -c"$CONC" -d"${SECS}s" --timeout 60s -s "$WORK/regions.lua" "$ENDPOINT/" \
    >"$WORK/regions_gw.$r.txt"
  wrk -t"$WRK_THREADS" -c"$CONC" -d"${SECS}s" --timeout 60s -s "$WORK/regions.lua" \
    "http://127.0.0.1:$APORT/" >"$WORK/regions_anchor.$r.txt"
  check_wrk "$WORK/regions_gw.$r.txt" "DescribeRegions (gateway), round $r"
  check_wrk "$WORK/regions_anchor.$r.txt" "DescribeRegions (http_anchor), round $r"
done
median_round "$WORK/regions_gw" >"$WORK/regions_gw.txt"
median_round "$WORK/regions_anchor" >"$WORK/regions_anchor.txt"
log "DescribeRegions req/s by round: gateway $(kv "$WORK/regions_gw.txt" req_s_rounds)," \
  "http_anchor $(kv "$WORK/regions_anchor.txt" req_s_rounds)"
stop_anchor
stop_gateway

# ---------------------------------------------------------------- DescribeInstances
measure() { # N
  local n=$1 out=$WORK/m$1 repeat f
  mkdir -p "$out"
  "$PY" "$TOP/bench/bench.py" count "$ENDPOINT" "$KEY_ID" "$SECRET" "$WORK/ids" >"$out/count.txt"
  "$PY" "$TOP/bench/bench.py" sign "$ENDPOINT" "$KEY_ID" "$SECRET" "$WORK/describe.lua"
  "$PY" "$TOP/bench/bench.py" sign "$ENDPOINT" "$KEY_ID" "$SECRET" "$WORK/describe-close.lua" close
  log "N=$n: gateway lists $(kv "$out/count.txt" listed) instances ($(kv "$out/count.txt" mine) of ours)"

  # ka: keep-alive connections (what boto3 and the aws CLI do); nc: a new
  # connection per request (Connection: close).
  log "N=$n: wrk -t1 -c1 -d${SECS}s, keep-alive and new connections (latency)"
  # CG_BENCH_PERF=1: where the gateway spends the keep-alive latency run.
  local perf_pid=
  if [ "${CG_BENCH_PERF:-0}" = 1 ]; then
    perf record -q -F 1999 -g -p "$GW_PID" -o "$out/perf.data" -- sleep "$SECS" 2>/dev/null &
    perf_pid=$!
  fi
  wrk -t1 -c1 -d"${SECS}s" --timeout 60s -s "$WORK/describe.lua" "$ENDPOINT/" >"$out/wrk1_ka.txt"
  if [ -n "$perf_pid" ]; then
    wait "$perf_pid" || true
    perf report -q --stdio --no-children -i "$out/perf.data" --percent-limit 1 -g none \
      >"$out/perf.txt" 2>/dev/null || true
    log "N=$n: perf profile of the gateway in $out/perf.txt"
  fi
  wrk -t1 -c1 -d"${SECS}s" --timeout 60s -s "$WORK/describe-close.lua" "$ENDPOINT/" >"$out/wrk1_nc.txt"
  log "N=$n: wrk -t$WRK_THREADS -c$CONC -d${SECS}s, keep-alive and new connections (throughput)"
  wrk -t"$WRK_THREADS" -c"$CONC" -d"${SECS}s" --timeout 60s -s "$WORK/describe.lua" "$ENDPOINT/" >"$out/wrkc_ka.txt"
  wrk -t"$WRK_THREADS" -c"$CONC" -d"${SECS}s" --timeout 60s -s "$WORK/describe-close.lua" "$ENDPOINT/" >"$out/wrkc_nc.txt"
  # The same bytes from http_anchor: what the HTTP stack alone does with a
  # response this size on this machine (the floor of both figures).
  "$PY" "$TOP/bench/bench.py" fetch "$ENDPOINT" "$KEY_ID" "$SECRET" DescribeInstances "$out/describe.xml" >/dev/null
  start_anchor "$out/describe.xml"
  log "N=$n: the same response from http_anchor, wrk -c1 and -c$CONC"
  wrk -t1 -c1 -d"${SECS}s" --timeout 60s -s "$WORK/describe.lua" "http://127.0.0.1:$APORT/" >"$out/anchor1.txt"
  wrk -t"$WRK_THREADS" -c"$CONC" -d"${SECS}s" --timeout 60s -s "$WORK/describe.lua" \
    "http://127.0.0.1:$APORT/" >"$out/anchorc.txt"
  stop_anchor
  for f in wrk1_ka wrk1_nc wrkc_ka wrkc_nc anchor1 anchorc; do
    check_wrk "$out/$f.txt" "N=$n: $f"
  done
  # After the wrk runs: VmHWM includes building the largest responses.
  rss_of_gateway >"$out/rss.txt"
  cp "/proc/$GW_PID/smaps" "$out/smaps.txt" 2>/dev/null || true  # where it is (CG_BENCH_KEEP)
  log "N=$n: cloudgated VmRSS $(kv "$out/rss.txt" rss_kb) kB, VmHWM $(kv "$out/rss.txt" hwm_kb) kB"
  # And once idle: the gateway trims the heap after 1 s without a request.
  sleep 3
  rss_of_gateway >"$out/rss_idle.txt"
  cp "/proc/$GW_PID/smaps" "$out/smaps_idle.txt" 2>/dev/null || true
  # Client connections the gateway still holds once wrk is gone, by TCP state.
  ss -tanp 2>/dev/null | awk -v p="pid=$GW_PID," -v port=":$PORT" \
    'index($0, p) && index($4, port) {n[$1]++} END {for (s in n) printf "%s=%d ", s, n[s]; print ""}' \
    >"$out/conns_idle.txt"
  log "N=$n: idle 3 s: client connections still held: $(cat "$out/conns_idle.txt")"
  log "N=$n: idle 3 s: VmRSS $(kv "$out/rss_idle.txt" rss_kb) kB, RssAnon $(kv "$out/rss_idle.txt" anon_kb) kB"

  # CIMI's MachineCollection (no query) as JSON and as XML, one client;
  # after the RSS above (EC2 alone, comparable with earlier runs), and the
  # RSS again once idle with CIMI's fragments kept too.
  local fmt
  for fmt in json xml; do
    "$PY" "$TOP/bench/bench.py" cimi "$ENDPOINT" "$KEY_ID" "$SECRET" "$WORK/cimi-$fmt.lua" "$fmt" \
      >"$out/cimi_$fmt.count"
    [ "$(kv "$out/cimi_$fmt.count" count)" -ge "$n" ] ||
      die "N=$n: /cimi/machines ($fmt) lists $(kv "$out/cimi_$fmt.count" count) machines"
    wrk -t1 -c1 -d"${SECS}s" --timeout 60s -s "$WORK/cimi-$fmt.lua" "$ENDPOINT/cimi/machines" \
      >"$out/cimi_$fmt.txt"
    check_wrk "$out/cimi_$fmt.txt" "N=$n: cimi_$fmt"
  done
  log "N=$n: CIMI /cimi/machines p50: JSON $(kv "$out/cimi_json.txt" p50_ms) ms, XML $(kv "$out/cimi_xml.txt" p50_ms) ms"
  sleep 3
  rss_of_gateway >"$out/rss_cimi.txt"
  log "N=$n: after CIMI, idle 3 s: VmRSS $(kv "$out/rss_cimi.txt" rss_kb) kB, RssAnon $(kv "$out/rss_cimi.txt" anon_kb) kB"

  # About 5 s of sequential enumerations, 10 to 100 of them.
  repeat=$((5000 / n)); [ $repeat -ge 10 ] || repeat=10; [ $repeat -le 100 ] || repeat=100
  log "N=$n: raw_enum latency x$repeat"
  "$WORK/bin/raw_enum" "$URI" latency "$repeat" >"$out/raw1.txt"
  log "N=$n: raw_enum throughput, $CONC threads, ${SECS}s"
  "$WORK/bin/raw_enum" "$URI" throughput "$CONC" "$SECS" >"$out/rawc.txt"
  echo "$n" >>"$WORK/sizes_done"
}

have=0
first=1
for n in $SIZES; do
  add=$((n - have))
  "$WORK/bin/bench_domains" define "$URI" "$add" "$IMAGE_ID" "$ZONE" "$RUN_TAG" "$WORK/ids" >"$WORK/define$n.txt"
  have=$n
  log "N=$n: defined $add more domains in $(kv "$WORK/define$n.txt" seconds) s"
  if [ $first = 1 ]; then
    start_gateway >"$WORK/start_s.$n"
    log "N=$n: cloudgated listening after $(cat "$WORK/start_s.$n") s"
    first=0
  else
    # The running gateway must pick the new domains up from libvirt events.
    "$PY" "$TOP/bench/bench.py" count "$ENDPOINT" "$KEY_ID" "$SECRET" "$WORK/ids" 120 >"$WORK/events$n.txt"
    log "N=$n: event cache listed all $n after $(kv "$WORK/events$n.txt" waited_s) s more"
    stop_gateway
    start_gateway >"$WORK/start_s.$n"
    log "N=$n: cloudgated restarted, listening after $(cat "$WORK/start_s.$n") s"
  fi
  rss_of_gateway >"$WORK/rss_start.$n"
  measure "$n"
done

# ---------------------------------------------------------------- RunInstances
"$WORK/bin/bench_domains" undefine "$URI" "$RUN_TAG" "$WORK/ids" >"$WORK/undefine.txt"
log "undefined $(kv "$WORK/undefine.txt" undefined) benchmark domains in $(kv "$WORK/undefine.txt" seconds) s"
if [ "$RUNS" -gt 0 ]; then
  log "RunInstances vs virsh create, $RUNS rounds"
  "$PY" "$TOP/bench/bench.py" runcmp "$ENDPOINT" "$KEY_ID" "$SECRET" "$IMAGE_ID" "$RUNS" \
    "$URI" "$TEMPLATE" "$WORK" "$POOL" >"$WORK/runcmp.txt"
  # The gateway logs each launch's steps; their medians over these rounds.
  grep -h -F -f "$WORK/run_ids" "$WORK/cloudgated.log" | grep ' launched: ' |
    sed 's/.* launched: //' | launch_step_medians >"$WORK/launch_steps.txt" || true
fi
if [ "$COUNT" -gt 0 ]; then
  log "run-instances --count $COUNT vs $COUNT sequential virsh creates"
  "$PY" "$TOP/bench/bench.py" countcmp "$ENDPOINT" "$KEY_ID" "$SECRET" "$IMAGE_ID" "$COUNT" \
    "$URI" "$TEMPLATE" "$WORK" "$POOL" >"$WORK/countcmp.txt" ||
    { cat "$WORK/countcmp.txt" >&2; die "run-instances --count $COUNT did not reach running"; }
  # Each terminate's steps, as the gateway logged them.
  grep -h -F -f "$WORK/count_ids" "$WORK/cloudgated.log" | grep ' terminated: ' |
    sed 's/.* terminated: //' | launch_step_medians >"$WORK/terminate_steps.txt" || true
fi
stop_gateway

# ---------------------------------------------------------------- report
# One row of the summary: figure, cloudgate, anchor, ratio, goal, met?
# row LABEL CG ANCHOR GOAL_TEXT MET_EXPR (awk on c = cloudgate value; "" = no goal)
row() {
  local met=-
  [ -z "$5" ] || met=$(awk -v c="$2" "BEGIN { print (($5) ? \"yes\" : \"NO\") }")
  printf '%-44s %10s %10s %7s  %-18s %s\n' "$1" "$2" "$3" "$(calc "$2 / $3" | awk '{printf "%.2fx", $1}')" "$4" "$met"
}

summary() {
  local small large r=$WORK/runcmp.txt c=$WORK/countcmp.txt
  small=$(head -n 1 "$WORK/sizes_done"); large=$(tail -n 1 "$WORK/sizes_done")
  echo "Summary (issue 14).  ratio = cloudgate / anchor: above 1 is slower for times and"
  echo "bigger for memory; below 1 is fewer requests per second."
  printf '%-44s %10s %10s %7s  %-18s %s\n' figure cloudgate anchor ratio goal met?
  if [ -s "$r" ]; then
    row "RunInstances response p50, ms (virsh create)" "$(kv "$r" run_p50_ms)" \
      "$(kv "$r" virsh_create_p50_ms)" "< 50 ms" "c < 50"
    row "RunInstances to running p50, ms (+domstate)" "$(kv "$r" run_up_p50_ms)" \
      "$(kv "$r" create_up_p50_ms)" "(none given)" ""
    [ -z "$(kv "$r" filtered_up_p50_ms)" ] ||
      row "  same, anchor with the NIC filter, ms" "$(kv "$r" run_up_p50_ms)" \
        "$(kv "$r" filtered_up_p50_ms)" "(none given)" ""
  fi
  if [ -s "$c" ]; then
    row "--count $(kv "$c" count) to all running, s (seq. creates)" "$(kv "$c" all_running_s)" \
      "$(kv "$c" virsh_all_running_s)" "all $(kv "$c" count), 0 failed" "$(kv "$c" running) == $(kv "$c" count)"
    row "  TerminateInstances of all, s (seq. destroys)" "$(kv "$c" terminate_s)" \
      "$(kv "$c" virsh_destroy_s)" "(none given)" ""
  fi
  row "DescribeInstances p50 N=$large, ms (raw enum)" "$(kv "$WORK/m$large/wrk1_ka.txt" p50_ms)" \
    "$(kv "$WORK/m$large/raw1.txt" p50_ms)" "<= 2 ms" "c <= 2"
  row "  same, anchor http_anchor, same bytes, ms" "$(kv "$WORK/m$large/wrk1_ka.txt" p50_ms)" \
    "$(kv "$WORK/m$large/anchor1.txt" p50_ms)" "<= 2 ms" ""
  row "CIMI machines p50 N=$large, JSON, ms (raw enum)" "$(kv "$WORK/m$large/cimi_json.txt" p50_ms)" \
    "$(kv "$WORK/m$large/raw1.txt" p50_ms)" "(none given)" ""
  row "CIMI machines p50 N=$large, XML, ms (raw enum)" "$(kv "$WORK/m$large/cimi_xml.txt" p50_ms)" \
    "$(kv "$WORK/m$large/raw1.txt" p50_ms)" "(none given)" ""
  row "DescribeInstances N=$small c$CONC, req/s (raw/s)" "$(kv "$WORK/m$small/wrkc_ka.txt" req_s)" \
    "$(kv "$WORK/m$small/rawc.txt" ops_s)" ">= 3000 req/s" "c >= 3000"
  row "  same N=$small c$CONC, anchor http_anchor, req/s" "$(kv "$WORK/m$small/wrkc_ka.txt" req_s)" \
    "$(kv "$WORK/m$small/anchorc.txt" req_s)" ">= 3000 req/s" ""
  row "DescribeRegions c$CONC, req/s (http_anchor)" "$(kv "$WORK/regions_gw.txt" req_s)" \
    "$(kv "$WORK/regions_anchor.txt" req_s)" ">= 15000 req/s" "c >= 15000"
  row "VmRSS N=$large, MiB (VmRSS N=0)" "$(calc "$(kv "$WORK/m$large/rss.txt" rss_kb) / 1024" | awk '{printf "%.1f", $1}')" \
    "$(calc "$(kv "$WORK/rss0.txt" rss_kb) / 1024" | awk '{printf "%.1f", $1}')" "<= 30 MiB" "c <= 30"
  row "VmHWM N=$large, MiB (VmHWM N=0)" "$(calc "$(kv "$WORK/m$large/rss.txt" hwm_kb) / 1024" | awk '{printf "%.1f", $1}')" \
    "$(calc "$(kv "$WORK/rss0.txt" hwm_kb) / 1024" | awk '{printf "%.1f", $1}')" "<= 30 MiB" "c <= 30"
  row "VmRSS N=$large idle 3 s, MiB (VmRSS N=0)" "$(calc "$(kv "$WORK/m$large/rss_idle.txt" rss_kb) / 1024" | awk '{printf "%.1f", $1}')" \
    "$(calc "$(kv "$WORK/rss0.txt" rss_kb) / 1024" | awk '{printf "%.1f", $1}')" "<= 30 MiB" "c <= 30"
  row "  same, after CIMI's GETs too, MiB (N=0)" "$(calc "$(kv "$WORK/m$large/rss_cimi.txt" rss_kb) / 1024" | awk '{printf "%.1f", $1}')" \
    "$(calc "$(kv "$WORK/rss0.txt" rss_kb) / 1024" | awk '{printf "%.1f", $1}')" "<= 30 MiB" "c <= 30"
  row "  of it RssAnon N=$large, MiB (N=0)" "$(calc "$(kv "$WORK/m$large/rss.txt" anon_kb) / 1024" | awk '{printf "%.1f", $1}')" \
    "$(calc "$(kv "$WORK/rss0.txt" anon_kb) / 1024" | awk '{printf "%.1f", $1}')" "(see VmRSS)" ""
  echo "(N=0: the gateway before any of this run's domains exist; it listed $(kv "$WORK/count0.txt" listed) other instances."
  echo " The issue's setting for --count is 100; this run used ${COUNT} (CG_BENCH_COUNT) on a $(nproc)-core machine shared with other work;"
  echo " memory_overcommit = $MEM_OVERCOMMIT, cpu_overcommit = $CPU_OVERCOMMIT in the bench's gateway (CG_BENCH_MEM_OVERCOMMIT, CG_BENCH_CPU_OVERCOMMIT).)"
}

{
  echo "== cloudgate benchmark ($(kv "$WORK/env.txt" date))"
  sed -n 's/^\(host\|libvirt\|qemu\|other_domains\|loadavg\)=/\1: /p' "$WORK/env.txt"
  echo "template: $IMAGE_ID (demo guest), zone $ZONE on $URI"
  echo
  echo "DescribeInstances (no filter: every instance) vs the raw libvirt enumeration a cacheless"
  echo "gateway would do per request (ListAllDomains; per domain GetXMLDesc + GetState + lv_domxml_parse)."
  echo "ka = keep-alive connection (as boto3/aws CLI), nc = new connection per request;"
  echo "40ms+ = share of gateway requests that took 40 ms or more."
  echo
  echo "Latency, one client (wrk -t1 -c1 ${SECS}s / raw_enum one thread), ms:"
  printf '%6s %7s | %8s %8s | %8s %8s %7s %8s | %8s %8s %7s %8s\n' \
    N listed raw_p50 raw_p95 ka_p50 ka_p95 raw/ka ka_40ms+ nc_p50 nc_p95 raw/nc nc_40ms+
  while read -r n; do
    m=$WORK/m$n
    rp50=$(kv "$m/raw1.txt" p50_ms); rp95=$(kv "$m/raw1.txt" p95_ms)
    kp50=$(kv "$m/wrk1_ka.txt" p50_ms); kp95=$(kv "$m/wrk1_ka.txt" p95_ms)
    np50=$(kv "$m/wrk1_nc.txt" p50_ms); np95=$(kv "$m/wrk1_nc.txt" p95_ms)
    printf '%6s %7s | %8.1f %8.1f | %8.2f %8.2f %6.1fx %7.1f%% | %8.2f %8.2f %6.1fx %7.1f%%\n' \
      "$n" "$(kv "$m/count.txt" listed)" "$rp50" "$rp95" "$kp50" "$kp95" \
      "$(calc "$rp50 / $kp50")" "$(kv "$m/wrk1_ka.txt" slow40_pct)" \
      "$np50" "$np95" "$(calc "$rp50 / $np50")" "$(kv "$m/wrk1_nc.txt" slow40_pct)"
  done <"$WORK/sizes_done"
  echo
  echo "Throughput, $CONC concurrent (wrk -t$WRK_THREADS -c$CONC ${SECS}s / raw_enum $CONC threads on one connection), per second:"
  printf '%6s | %9s %9s | %9s | %7s %7s | %8s | %7s %7s\n' \
    N ka_req/s nc_req/s raw_enum/s ka/raw nc/raw resp_KiB start_s define_s
  while read -r n; do
    m=$WORK/m$n
    kreq=$(kv "$m/wrkc_ka.txt" req_s); nreq=$(kv "$m/wrkc_nc.txt" req_s); rops=$(kv "$m/rawc.txt" ops_s)
    printf '%6s | %9.1f %9.1f | %9.2f | %6.1fx %6.1fx | %8.0f | %7.2f %7.2f\n' \
      "$n" "$kreq" "$nreq" "$rops" "$(calc "$kreq / $rops")" "$(calc "$nreq / $rops")" \
      "$(calc "$(kv "$m/wrk1_ka.txt" bytes) / $(kv "$m/wrk1_ka.txt" requests) / 1024")" \
      "$(cat "$WORK/start_s.$n")" "$(kv "$WORK/define$n.txt" seconds)"
  done <"$WORK/sizes_done"
  echo "(resp_KiB: HTTP response size; start_s: cloudgated start until it accepts connections with N"
  echo " domains defined; define_s: defining the domains added for this N)"
  echo
  echo "CIMI GET /cimi/machines (the MachineCollection, no query; wrk -t1 -c1 ${SECS}s keep-alive), ms:"
  printf '%6s %8s | %8s %8s %8s | %8s %8s %8s | %8s\n' \
    N machines json_p50 json_p95 json_KiB xml_p50 xml_p95 xml_KiB raw_p50
  while read -r n; do
    m=$WORK/m$n
    printf '%6s %8s | %8.2f %8.2f %8.0f | %8.2f %8.2f %8.0f | %8.1f\n' "$n" \
      "$(kv "$m/cimi_json.count" count)" "$(kv "$m/cimi_json.txt" p50_ms)" "$(kv "$m/cimi_json.txt" p95_ms)" \
      "$(calc "$(kv "$m/cimi_json.count" bytes) / 1024")" "$(kv "$m/cimi_xml.txt" p50_ms)" \
      "$(kv "$m/cimi_xml.txt" p95_ms)" "$(calc "$(kv "$m/cimi_xml.count" bytes) / 1024")" \
      "$(kv "$m/raw1.txt" p50_ms)"
  done <"$WORK/sizes_done"
  echo
  echo "DescribeRegions, wrk -t$WRK_THREADS -c$CONC ${SECS}s keep-alive: gateway $(kv "$WORK/regions_gw.txt" req_s) req/s" \
    "(p50 $(kv "$WORK/regions_gw.txt" p50_ms) ms), http_anchor (evhttp, same $(wc -c <"$WORK/regions.xml")-byte body)" \
    "$(kv "$WORK/regions_anchor.txt" req_s) req/s (p50 $(kv "$WORK/regions_anchor.txt" p50_ms) ms)"
  echo
  echo "cloudgated memory, kB (start = after the initial sync, before any request; after = after the wrk runs;"
  echo " idle = 3 s later, after the idle heap trim; cimi = idle again after the CIMI GETs, their fragments kept):"
  printf '%10s | %8s %8s %8s %8s\n' N VmRSS VmHWM RssAnon RssFile
  printf '%10s | %8s %8s %8s %8s\n' "0" "$(kv "$WORK/rss0.txt" rss_kb)" "$(kv "$WORK/rss0.txt" hwm_kb)" \
    "$(kv "$WORK/rss0.txt" anon_kb)" "$(kv "$WORK/rss0.txt" file_kb)"
  while read -r n; do
    for f in "$WORK/rss_start.$n:start" "$WORK/m$n/rss.txt:after" "$WORK/m$n/rss_idle.txt:idle" \
      "$WORK/m$n/rss_cimi.txt:cimi"; do
      printf '%10s | %8s %8s %8s %8s\n' "$n ${f##*:}" "$(kv "${f%:*}" rss_kb)" "$(kv "${f%:*}" hwm_kb)" \
        "$(kv "${f%:*}" anon_kb)" "$(kv "${f%:*}" file_kb)"
    done
  done <"$WORK/sizes_done"
  for f in "$WORK"/events*.txt; do
    [ -e "$f" ] || continue
    n=${f##*/events}; n=${n%.txt}
    echo "growing to N=$n while running: the event cache listed all of them $(kv "$f" waited_s) s after the last define"
  done
  if [ -s "$WORK/runcmp.txt" ]; then
    r=$WORK/runcmp.txt
    echo
    echo "RunInstances (1 x t2.nano, boto3, until the response returns; $(kv "$r" runs) rounds, medians)"
    echo "  RunInstances          $(kv "$r" run_p50_ms) ms   (all: $(kv "$r" run_ms_all))"
    echo "  virsh create          $(kv "$r" virsh_create_p50_ms) ms   (all: $(kv "$r" create_ms_all))"
    echo "  qemu-img + create     $(kv "$r" overlay_create_p50_ms) ms   (qemu-img overlay alone $(kv "$r" overlay_p50_ms) ms)"
    echo "  ratio RunInstances / virsh create: $(kv "$r" ratio_run_create)   / (qemu-img + virsh create): $(kv "$r" ratio_run_overlay_create)"
    echo "  TerminateInstances    $(kv "$r" terminate_p50_ms) ms   virsh destroy $(kv "$r" virsh_destroy_p50_ms) ms"
    echo "  to running: RunInstances + DescribeInstances polls $(kv "$r" run_up_p50_ms) ms (all: $(kv "$r" run_up_ms_all));"
    echo "              virsh create + virsh domstate $(kv "$r" create_up_p50_ms) ms (all: $(kv "$r" create_up_ms_all)); ratio $(kv "$r" ratio_up)"
    [ -z "$(kv "$r" filtered_up_p50_ms)" ] ||
      echo "              the same with the instance's NIC filter $(kv "$r" filtered_up_p50_ms) ms (all: $(kv "$r" filtered_up_ms_all)); ratio $(kv "$r" ratio_up_filtered)"
    [ ! -s "$WORK/launch_steps.txt" ] || {
      echo "  the gateway's launch steps, ms (its log, medians of the rounds):"
      cat "$WORK/launch_steps.txt"
    }
  fi
  if [ -s "$WORK/countcmp.txt" ]; then
    c=$WORK/countcmp.txt
    echo
    echo "run-instances --count $(kv "$c" count) (one RunInstances, boto3) vs $(kv "$c" count) sequential virsh creates"
    echo "  RunInstances response $(kv "$c" response_s) s, all $(kv "$c" running) of $(kv "$c" launched) running after $(kv "$c" all_running_s) s;" \
      "TerminateInstances of all until terminated $(kv "$c" terminate_s) s ($(kv "$c" terminated) terminated)"
    echo "  virsh create x$(kv "$c" count) $(kv "$c" virsh_creates_s) s, all running (virsh domstate) after $(kv "$c" virsh_all_running_s) s;" \
      "qemu-img overlays beforehand $(kv "$c" virsh_overlays_s) s; virsh destroy x$(kv "$c" count) $(kv "$c" virsh_destroy_s) s"
    [ ! -s "$WORK/terminate_steps.txt" ] || {
      echo "  the gateway's terminate steps, ms (its log, medians over the $(kv "$c" count)):"
      cat "$WORK/terminate_steps.txt"
    }
  fi
  echo
  summary
  echo
  echo "whole run: $((SECONDS - T0)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$WORK/report.txt"
cat "$WORK/report.txt"
