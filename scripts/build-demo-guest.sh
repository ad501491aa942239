#!/usr/bin/env bash
# build-demo-guest.sh OUTDIR — build a tiny guest for libvirt direct kernel boot.
#
# Produces:
#   OUTDIR/vmlinuz     the newest Debian kernel in /boot (linux-image-amd64)
#   OUTDIR/initrd.img  gzip'd newc cpio: busybox-static + virtio/ACPI modules
#   OUTDIR/disk.qcow2  empty 64M qcow2, the template's disk
#
# The guest prints to its console (ttyS0):
#   cloudgate-demo: booted
#   cloudgate-demo: disks=vda ...
#   cloudgate-demo: ip=A.B.C.D          (after a DHCP lease on eth0)
#   cloudgate-demo: acpi power button, powering off   (on virsh shutdown/reboot)
# and then keeps running. The ACPI power button (virsh shutdown, and virsh
# reboot, which libvirt turns into power-off + reset) is handled by busybox
# acpid, which asks busybox init for a clean poweroff.
#
# Boot with e.g. <cmdline>console=ttyS0 quiet</cmdline>.
#
# CG_GUEST_ROLE=traffic adds what security-group tests need (guest-to-guest
# traffic, tests/system/test_sg_traffic_qemu.py):
#   cloudgate-demo: mac=52:54:00:..      (after the ip= line)
#   busybox httpd on TCP 8080 and 9090, answering "cg-open", and a CGI
#   /cgi-bin/stream that writes "tick N" once a second (a long-lived flow);
#   the NoCloud seed (the IDE CD-ROM labelled cidata) mounted on /cidata, and
#   its user-data run in the background when it is a "#!" script: that
#   script is the test's instructions (what to probe, when to change
#   address); it waits for the lease itself, its output goes to the console.
#
# Cached: nothing is rebuilt while OUTDIR/.stamp matches the sha256 of this
# script, the kernel version and the module list.
#
# Environment:
#   CG_GUEST_KERNEL   kernel version to use (default: newest /boot/vmlinuz-*)
#   CG_GUEST_MODULES  modules to load, deps are added (default below)
#   CG_GUEST_DISK_SIZE  size of disk.qcow2 (default 64M)
#   CG_GUEST_ROLE     "demo" (default) or "traffic" (above)
set -euo pipefail
export LC_ALL=C

die() { printf 'build-demo-guest: ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf 'build-demo-guest: %s\n' "$*"; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUTDIR=$1
SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")

# virtio_pci: the bus; virtio_net (+net_failover, failover): eth0;
# virtio_blk: the disk; virtio_console: channels; button + evdev: the ACPI
# power button as an input device that acpid can read.
MODULES=${CG_GUEST_MODULES:-"virtio_pci virtio_net virtio_blk virtio_console net_failover failover button evdev"}
DISK_SIZE=${CG_GUEST_DISK_SIZE:-64M}
ROLE=${CG_GUEST_ROLE:-demo}
case "$ROLE" in
  demo) ;;
  # the seed CD-ROM: IDE (ata_piix) -> SCSI CD-ROM (sr_mod) -> iso9660
  traffic) MODULES="$MODULES ata_piix sr_mod isofs" ;;
  *) die "CG_GUEST_ROLE must be demo or traffic, not '$ROLE'" ;;
esac

for tool in cpio gzip qemu-img sha256sum; do
  command -v "$tool" >/dev/null || die "$tool missing (run scripts/setup-host.sh)"
done
BUSYBOX=/bin/busybox   # from busybox-static; must be static to need no libc
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
  die "$BUSYBOX is dynamically linked; install busybox-static"
fi

# ---------------------------------------------------------------- kernel
if [ -n "${CG_GUEST_KERNEL:-}" ]; then
  KVER=$CG_GUEST_KERNEL
else
  # newest kernel that also has its modules installed
  KVER=
  for k in $(printf '%s\n' /boot/vmlinuz-* | sed 's|^/boot/vmlinuz-||' | sort -rV); do
    if [ -d "/lib/modules/$k" ]; then KVER=$k; break; fi
  done
  [ -n "$KVER" ] || die "no /boot/vmlinuz-* with /lib/modules/<version> (apt-get install linux-image-amd64)"
fi
KERNEL=/boot/vmlinuz-$KVER
MODDIR=/lib/modules/$KVER
[ -r "$KERNEL" ] || die "$KERNEL not readable"
[ -r "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep missing"

# ---------------------------------------------------------------- cache
STAMP="$(sha256sum "$SCRIPT" | cut -d' ' -f1) $KVER $MODULES $DISK_SIZE $ROLE"
if [ -f "$OUTDIR/.stamp" ] && [ "$(cat "$OUTDIR/.stamp")" = "$STAMP" ] &&
   [ -s "$OUTDIR/vmlinuz" ] && [ -s "$OUTDIR/initrd.img" ] && [ -s "$OUTDIR/disk.qcow2" ]; then
  log "up to date (kernel $KVER)"
  printf '%s\n' "$OUTDIR/vmlinuz" "$OUTDIR/initrd.img" "$OUTDIR/disk.qcow2"
  exit 0
fi

mkdir -p "$OUTDIR"
WORK=$(mktemp -d "$OUTDIR/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,dev,proc,sys,run,tmp,etc/acpi/PWRF,lib/modules,var/log,var/run}

# ---------------------------------------------------------------- modules
# Resolve dependencies from modules.dep (depth first, deps before the module)
# so /init can insmod them in order without modprobe or depmod in the guest.
declare -A MODPATH=() MODDEPS=() BUILTIN=() SEEN=()
norm() { local n=${1##*/}; n=${n%%.ko*}; printf '%s' "${n//-/_}"; }
while IFS= read -r line; do
  path=${line%%:*}
  name=$(norm "$path")
  MODPATH[$name]=$path
  MODDEPS[$name]=${line#*:}
done <"$MODDIR/modules.dep"
if [ -r "$MODDIR/modules.builtin" ]; then
  while IFS= read -r path; do BUILTIN[$(norm "$path")]=1; done <"$MODDIR/modules.builtin"
fi
ORDER=()
resolve() {
  local name=$1 dep
  [ -z "${SEEN[$name]:-}" ] || return 0
  SEEN[$name]=1
  if [ -n "${BUILTIN[$name]:-}" ]; then return 0; fi   # compiled in: nothing to load
  [ -n "${MODPATH[$name]:-}" ] || die "module $name not found in $MODDIR"
  for dep in ${MODDEPS[$name]}; do resolve "$(norm "$dep")"; done
  ORDER+=("$name")
}
for m in $MODULES; do resolve "${m//-/_}"; done

: >"$ROOT/etc/modules.order"
for name in "${ORDER[@]}"; do
  src=$MODDIR/${MODPATH[$name]}
  dst=$ROOT/lib/modules/$name.ko
  # busybox insmod wants plain ELF: decompress whatever the kernel shipped
  case "$src" in
    *.ko)     cp "$src" "$dst" ;;
    *.ko.xz)  xz -dc "$src" >"$dst" ;;
    *.ko.zst) zstd -qdc "$src" >"$dst" ;;
    *.ko.gz)  gzip -dc "$src" >"$dst" ;;
    *) die "unknown module format: $src" ;;
  esac
  echo "$name" >>"$ROOT/etc/modules.order"
done

# ---------------------------------------------------------------- busybox
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$ROOT/bin/$applet"
done
ln -s bin "$ROOT/sbin"

# ---------------------------------------------------------------- /init
# /init mounts the pseudo filesystems, then hands PID 1 to busybox init so
# that poweroff/reboot requests (signals to PID 1) are honoured cleanly.
cat >"$ROOT/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run
exec /bin/init
EOF

cat >"$ROOT/etc/inittab" <<'EOF'
::sysinit:/etc/rc.sh
::ctrlaltdel:/bin/reboot
::shutdown:/bin/echo "cloudgate-demo: stopping"
EOF

cat >"$ROOT/etc/rc.sh" <<'EOF'
#!/bin/sh
# One-shot boot script run by busybox init (sysinit).
export PATH=/bin:/sbin
say() { echo "cloudgate-demo: $*" >/dev/console; }
hostname cloudgate-demo
for m in $(cat /etc/modules.order); do
  insmod "/lib/modules/$m.ko" 2>/dev/null || say "insmod $m failed"
done
say booted
# wait (bounded) for the virtio devices to be probed
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
disks=$(ls /sys/block 2>/dev/null | grep -v -e '^loop' -e '^ram' | tr '\n' ' ')
say "disks=${disks% }"
# ACPI power button -> /etc/acpi/PWRF/00000080 (busybox acpid's default map)
acpid -c /etc/acpi -l /var/log/acpid.log
ip link set lo up
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  # -b: daemonize once leased (or after the tries fail) and keep renewing
  udhcpc -i eth0 -s /etc/udhcpc.script -x hostname:cloudgate-demo \
    -t 30 -T 1 -A 2 -b >/dev/null 2>&1 || say "udhcpc failed"
else
  say "no eth0"
fi
EOF

cat >"$ROOT/etc/udhcpc.script" <<'EOF'
#!/bin/sh
# busybox udhcpc hook: configure eth0 and report the lease on the console
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    old=$(cat /run/ip 2>/dev/null)
    if [ "$old" != "$ip" ]; then
      ip addr flush dev "$interface"
      ip addr add "$ip/${mask:-24}" dev "$interface"
      if [ -n "$router" ]; then
        ip route replace default via "${router%% *}" dev "$interface"
      fi
      echo "$ip" >/run/ip
      echo "cloudgate-demo: ip=$ip" >/dev/console
      if [ -e /etc/traffic.sh ]; then
        echo "cloudgate-demo: mac=$(cat "/sys/class/net/$interface/address")" >/dev/console
      fi
    fi
    ;;
esac
exit 0
EOF

cat >"$ROOT/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "cloudgate-demo: acpi power button, powering off" >/dev/console
/bin/poweroff
EOF

chmod 0755 "$ROOT/init" "$ROOT/etc/rc.sh" "$ROOT/etc/udhcpc.script" "$ROOT/etc/acpi/PWRF/00000080"

# ---------------------------------------------------------------- traffic role
if [ "$ROLE" = traffic ]; then
  mkdir -p "$ROOT/cidata" "$ROOT/www/cgi-bin"
  echo "cg-open" >"$ROOT/www/index.html"
  cat >"$ROOT/www/cgi-bin/stream" <<'EOF'
#!/bin/sh
# A long-lived flow: one line a second for ten minutes.
printf 'Content-Type: text/plain\r\n\r\n'
i=0
while [ $i -lt 600 ]; do i=$((i+1)); echo "tick $i"; sleep 1; done
EOF
  cat >"$ROOT/etc/traffic.sh" <<'EOF'
#!/bin/sh
# Listeners, then the test's instructions from the NoCloud user-data.
export PATH=/bin:/sbin
say() { echo "cloudgate-demo: $*" >/dev/console; }
for port in 8080 9090; do
  httpd -p "$port" -h /www || say "httpd $port failed"
done
i=0
while [ ! -b /dev/sr0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if ! mount -t iso9660 -o ro /dev/sr0 /cidata 2>/dev/null; then
  say "no seed"
  exit 0
fi
if [ "$(head -c 2 /cidata/user-data)" = "#!" ]; then
  say "user-data: running"
  sh /cidata/user-data </dev/null >/dev/console 2>&1 &
else
  say "user-data: not a script"
fi
EOF
  chmod 0755 "$ROOT/www/cgi-bin/stream" "$ROOT/etc/traffic.sh"
  echo '/etc/traffic.sh' >>"$ROOT/etc/rc.sh"
fi

# ---------------------------------------------------------------- outputs
# Write into the scratch dir, then rename into place (readers never see
# half-written files).
(cd "$ROOT" && find . -print0 | sort -z |
  cpio --null -o -H newc --owner=0:0 --quiet) | gzip -9n >"$WORK/initrd.img"
cp "$KERNEL" "$WORK/vmlinuz"
chmod 0644 "$WORK/vmlinuz" "$WORK/initrd.img"
qemu-img create -q -f qcow2 "$WORK/disk.qcow2" "$DISK_SIZE"
mv -f "$WORK/vmlinuz" "$OUTDIR/vmlinuz"
mv -f "$WORK/initrd.img" "$OUTDIR/initrd.img"
mv -f "$WORK/disk.qcow2" "$OUTDIR/disk.qcow2"
printf '%s\n' "$STAMP" >"$OUTDIR/.stamp"

log "built (kernel $KVER, modules: ${ORDER[*]})"
printf '%s\n' "$OUTDIR/vmlinuz" "$OUTDIR/initrd.img" "$OUTDIR/disk.qcow2"
