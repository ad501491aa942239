#!/usr/bin/env bash
# setup-host.sh — prepare a fresh Debian 12 machine (root, no systemd) to run
# cloudgate against a real libvirtd/qemu, and to build and test it.
#
# Idempotent: every step checks first, so a second run only prints "ok".
# It never stops or restarts a daemon; if one is already running with an old
# configuration it says so and leaves it alone.
#
# Environment:
#   CG_NETWORK       libvirt network to ensure      (default cloudgate-isolated)
#   CG_BRIDGE        bridge name for that network    (default: libvirt picks virbrN)
#   CG_NET_IP        gateway address on the bridge   (default 10.213.0.1)
#   CG_NET_MASK      netmask                         (default 255.255.255.0)
#   CG_DHCP_START    first DHCP address              (default 10.213.0.100)
#   CG_DHCP_END      last DHCP address               (default 10.213.0.254)
#   CG_POOL          libvirt dir storage pool        (default cloudgate)
#   CG_POOL_PATH     its directory                   (default /var/lib/cloudgate/pool)
#   CG_LIBVIRT_WAIT  seconds to wait for libvirtd    (default 60)
#   CG_SKIP_APT=1    do not install packages (only report missing ones)
set -euo pipefail
export LC_ALL=C   # virsh output is parsed below

CG_NETWORK=${CG_NETWORK:-cloudgate-isolated}
CG_BRIDGE=${CG_BRIDGE:-}
CG_NET_IP=${CG_NET_IP:-10.213.0.1}
CG_NET_MASK=${CG_NET_MASK:-255.255.255.0}
CG_DHCP_START=${CG_DHCP_START:-10.213.0.100}
CG_DHCP_END=${CG_DHCP_END:-10.213.0.254}
CG_POOL=${CG_POOL:-cloudgate}
CG_POOL_PATH=${CG_POOL_PATH:-/var/lib/cloudgate/pool}
CG_LIBVIRT_WAIT=${CG_LIBVIRT_WAIT:-60}
CG_SKIP_APT=${CG_SKIP_APT:-0}

URI=qemu:///system
log() { printf 'setup-host: %s\n' "$*"; }
die() { printf 'setup-host: ERROR: %s\n' "$*" >&2; exit 1; }
# True if any process has this name. Scans /proc itself: procps (pgrep) may
# be absent on a fresh host.
proc_named() { # name
  local f c
  for f in /proc/[0-9]*/comm; do
    c=$(cat "$f" 2>/dev/null) || continue
    [ "$c" = "$1" ] && return 0
  done
  return 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root"

# Several people/CI steps may run this at once on one machine: serialise.
# (fd 9 is closed for the daemons started below, or they would hold the lock.)
exec 9>/run/cloudgate-setup-host.lock
flock -w 900 9 || die "could not take /run/cloudgate-setup-host.lock"

# ---------------------------------------------------------------- packages
PACKAGES=(
  # build
  build-essential autoconf automake libtool pkg-config
  libvirt-dev libevent-dev libxml2-dev libssl-dev libcurl4-openssl-dev
  libjson-c-dev libsqlite3-dev libcmocka-dev
  libguestfs-dev              # engine/guest.c (inspection)
  libasan8 libubsan1          # gcc's ASan/UBSan runtimes: scripts/test-sanitizers.sh
  clang libclang-rt-14-dev    # libFuzzer: scripts/test-fuzz.sh
  # runtime; dnsmasq-base + iptables must be there before libvirtd starts
  # (it picks its firewall backend at start-up)
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 qemu-utils dnsmasq-base iptables
  libvirt-daemon-config-nwfilter  # stock filters (clean-traffic) under security groups
  ipset                       # a source group's members (drivers/libvirt/lv_sg_ipset.h)
  # demo guest: Debian kernel + busybox initramfs
  linux-image-amd64 busybox-static cpio
  # tests and tools
  awscli python3-boto3 python3-botocore python3-pytest python3-requests openssl openssh-client
  wrk xorriso libxml2-utils
  mmdebstrap libguestfs-tools python3-yaml   # cloud-init test image; YAML checks
  virt-v2v nbdkit libnbd-bin  # engine/v2v.c: foreign VM conversion (virt-v2v needs nbdkit)
  ansible                     # amazon.aws playbook tests (Debian ships the collection)
)
# A real Glance and Keystone for tests/integration/test_glance.py
# (tests/glance_env.py).  Installed without recommends: with them it is 187+
# packages (matplotlib, gdal...).  Postinsts start nothing where
# /usr/sbin/policy-rc.d exits 101.
PACKAGES_NORECOMMENDS=(
  glance-api keystone haproxy uwsgi-core uwsgi-plugin-python3
)

missing=() missing_norec=()
for p in "${PACKAGES[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing+=("$p")
done
for p in "${PACKAGES_NORECOMMENDS[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing_norec+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_norec[@]} -eq 0 ]; then
  log "packages: all ${#PACKAGES[@]} + ${#PACKAGES_NORECOMMENDS[@]} already installed"
elif [ "$CG_SKIP_APT" = 1 ]; then
  die "packages missing and CG_SKIP_APT=1: ${missing[*]} ${missing_norec[*]}"
else
  log "packages: installing ${missing[*]} ${missing_norec[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Wait for a concurrent apt/dpkg instead of failing on its lock.
  APT=(apt-get -y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef
       -o Dpkg::Options::=--force-confold)
  "${APT[@]}" update
  [ ${#missing[@]} -eq 0 ] || "${APT[@]}" install "${missing[@]}"
  [ ${#missing_norec[@]} -eq 0 ] ||
    "${APT[@]}" install --no-install-recommends "${missing_norec[@]}"
  if proc_named libvirtd; then
    log "WARNING: libvirtd was already running while packages were installed;"
    log "         restart it yourself if its networks misbehave (firewall backend)"
  fi
fi

# ---------------------------------------------------------------- users/dirs
# The packaged daemon expects these (normally made by libvirt-daemon-system).
getent group kvm >/dev/null || { groupadd -r kvm; log "created group kvm"; }
getent group libvirt-qemu >/dev/null || { groupadd -r libvirt-qemu; log "created group libvirt-qemu"; }
if ! id libvirt-qemu >/dev/null 2>&1; then
  useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
  log "created user libvirt-qemu"
fi
mkdir -p /var/log/libvirt /var/run/libvirt /var/lib/libvirt /etc/libvirt

# ---------------------------------------------------------------- qemu.conf
# Run qemu as root with no security driver (no systemd/apparmor/selinux here).
# Set each key exactly once: replace an existing active line, else append.
QEMU_CONF=/etc/libvirt/qemu.conf
touch "$QEMU_CONF"
conf_changed=0
set_conf() {
  local key=$1 val=$2 line
  line="$key = $val"
  if grep -qxF "$line" "$QEMU_CONF"; then
    return 0
  fi
  if grep -qE "^[[:space:]]*${key}[[:space:]]*=" "$QEMU_CONF"; then
    sed -i -E "s|^[[:space:]]*${key}[[:space:]]*=.*|${line}|" "$QEMU_CONF"
  else
    printf '%s\n' "$line" >>"$QEMU_CONF"
  fi
  conf_changed=1
  log "qemu.conf: set $line"
}
set_conf user '"root"'
set_conf group '"root"'
set_conf security_driver '"none"'
[ $conf_changed = 1 ] || log "qemu.conf: already configured"

# ---------------------------------------------------------------- daemons
# A daemon counts as running if its pidfile names a live process of that
# name, or (started by someone else with another pidfile) proc_named finds it.
running() { # name pidfile
  local name=$1 pidfile=$2 pid
  if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$name" ]; then
      return 0
    fi
  fi
  proc_named "$name"
}

# Without systemd/syslog the daemons' logs would be lost: send them to files.
if running virtlogd /run/virtlogd.pid; then
  log "virtlogd: already running"
else
  LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/virtlogd.log" /usr/sbin/virtlogd -d 9>&- \
    || log "virtlogd -d failed (another instance starting?)"
  log "virtlogd: started"
fi

if running libvirtd /run/libvirtd.pid; then
  log "libvirtd: already running"
  [ $conf_changed = 0 ] || log "WARNING: qemu.conf changed but libvirtd was already running; restart it to apply"
else
  LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" /usr/sbin/libvirtd -d 9>&- \
    || log "libvirtd -d failed (another instance starting?)"
  log "libvirtd: started"
fi

# Wait (bounded) until the daemon answers.
deadline=$((SECONDS + CG_LIBVIRT_WAIT))
until virsh -q -c "$URI" version >/dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || die "libvirtd did not answer on $URI within ${CG_LIBVIRT_WAIT}s (see /var/log/libvirt/libvirtd.log)"
  sleep 0.5
done
log "libvirtd: answering on $URI ($(virsh -c "$URI" version 2>/dev/null | sed -n 's/^Running hypervisor: //p'))"

V() { virsh -q -c "$URI" "$@"; }

# ---------------------------------------------------------------- nwfilters
# Without systemd, libvirt-daemon-config-nwfilter's postinst does not reload
# libvirtd, so its stock filters (clean-traffic and what it references) are
# files libvirt has not read.  Define the missing ones; a filter that
# references one not yet defined fails, so repeat until no pass adds one.
if [ -d /etc/libvirt/nwfilter ]; then
  have=$(V nwfilter-list 2>/dev/null | awk '{print $2}')
  todo=()
  for f in /etc/libvirt/nwfilter/*.xml; do
    [ -e "$f" ] || continue
    n=$(basename "$f" .xml)
    grep -qx "$n" <<<"$have" || todo+=("$f")
  done
  while [ ${#todo[@]} -gt 0 ]; do
    left=()
    for f in "${todo[@]}"; do
      V nwfilter-define "$f" >/dev/null 2>&1 || left+=("$f")
    done
    [ ${#left[@]} -lt ${#todo[@]} ] || { log "WARNING: nwfilters not defined: ${left[*]}"; break; }
    todo=("${left[@]}")
  done
  log "nwfilters: $(V nwfilter-list 2>/dev/null | grep -c .) defined"
fi
# Match a "Field:   value" line of net-info / pool-info
# (networks say "Active: yes", pools say "State: running").
info_is() { # field value cmd args...
  local field=$1 value=$2 out; shift 2
  # capture first: with pipefail, grep -q closing the pipe early fails virsh
  out=$(V "$@" 2>/dev/null) || return 1
  grep -qiE "^${field}:[[:space:]]+${value}\$" <<<"$out"
}

# ---------------------------------------------------------------- network
# ISOLATED: no <forward>, so nothing is routed or NATed off the machine.
# DNS is disabled so the network's dnsmasq never forwards guest queries to the
# host's upstream resolvers; DHCP still works and leases show in libvirt.
# dnsmasq "no-ping": by default dnsmasq pings a new address and waits 3 s
# before offering it; on a private test network that only slows every boot.
DNSMASQ_NS=http://libvirt.org/schemas/network/dnsmasq/1.0
if V net-info "$CG_NETWORK" >/dev/null 2>&1; then
  xml=$(V net-dumpxml --inactive "$CG_NETWORK")
  if grep -q '<forward' <<<"$xml"; then
    die "network $CG_NETWORK exists but has a <forward> element (not isolated); undefine it or set CG_NETWORK"
  fi
  log "network $CG_NETWORK: already defined (isolated)"
  if ! grep -q 'no-ping' <<<"$xml"; then
    if grep -q 'dnsmasq:options' <<<"$xml"; then
      log "network $CG_NETWORK: has its own dnsmasq options; not adding no-ping"
    else
      # Only the persistent definition changes; a running network keeps its
      # dnsmasq until it is next started (we do not restart it under guests).
      tmp=$(mktemp)
      sed -e "0,/<network/s|<network|<network xmlns:dnsmasq='${DNSMASQ_NS}'|" \
          -e "s|</network>|  <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>\n</network>|" \
          <<<"$xml" >"$tmp"
      V net-define "$tmp" >/dev/null
      rm -f "$tmp"
      log "network $CG_NETWORK: added dnsmasq no-ping (applies when the network is next started)"
    fi
  fi
else
  tmp=$(mktemp)
  {
    echo "<network xmlns:dnsmasq='${DNSMASQ_NS}'>"
    echo "  <name>${CG_NETWORK}</name>"
    if [ -n "$CG_BRIDGE" ]; then
      echo "  <bridge name='${CG_BRIDGE}' stp='on' delay='0'/>"
    else
      echo "  <bridge stp='on' delay='0'/>"
    fi
    echo "  <dns enable='no'/>"
    echo "  <ip address='${CG_NET_IP}' netmask='${CG_NET_MASK}'>"
    echo "    <dhcp><range start='${CG_DHCP_START}' end='${CG_DHCP_END}'/></dhcp>"
    echo "  </ip>"
    echo "  <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>"
    echo "</network>"
  } >"$tmp"
  V net-define "$tmp" >/dev/null
  rm -f "$tmp"
  log "network $CG_NETWORK: defined (isolated, ${CG_NET_IP}/${CG_NET_MASK}, dhcp ${CG_DHCP_START}-${CG_DHCP_END})"
fi
if info_is Autostart yes net-info "$CG_NETWORK"; then
  log "network $CG_NETWORK: autostart already on"
else
  V net-autostart "$CG_NETWORK" >/dev/null
  log "network $CG_NETWORK: autostart on"
fi
if info_is Active yes net-info "$CG_NETWORK"; then
  log "network $CG_NETWORK: already active"
else
  V net-start "$CG_NETWORK" >/dev/null
  log "network $CG_NETWORK: started"
fi
log "network $CG_NETWORK: bridge $(V net-info "$CG_NETWORK" | sed -n 's/^Bridge:[[:space:]]*//p')"

# ---------------------------------------------------------------- pool
if V pool-info "$CG_POOL" >/dev/null 2>&1; then
  log "pool $CG_POOL: already defined"
else
  V pool-define-as "$CG_POOL" dir --target "$CG_POOL_PATH" >/dev/null
  log "pool $CG_POOL: defined (dir, $CG_POOL_PATH)"
fi
if info_is State running pool-info "$CG_POOL"; then
  log "pool $CG_POOL: already active"
else
  # pool-build of a dir pool just creates the directory; harmless if present.
  V pool-build "$CG_POOL" >/dev/null
  log "pool $CG_POOL: built"
  V pool-start "$CG_POOL" >/dev/null
  log "pool $CG_POOL: started"
fi
if info_is Autostart yes pool-info "$CG_POOL"; then
  log "pool $CG_POOL: autostart already on"
else
  V pool-autostart "$CG_POOL" >/dev/null
  log "pool $CG_POOL: autostart on"
fi

log "done"
