#!/usr/bin/env bash
# build-cloud-image.sh OUTDIR — build a real Debian 12 cloud image with
# cloud-init, for the system tests and as a starting template.
#
# Produces OUTDIR/debian-cloud.qcow2: one MBR partition (ext4, label "root"),
# GRUB on the MBR (no menu delay), console on ttyS0 (115200), a small
# initramfs (virtual-disk drivers only), eth0 (net.ifnames=0) configured by
# ifupdown + dhclient, cloud-init looking only at NoCloud and ConfigDrive
# seeds (no metadata server probing; without a seed ds-identify leaves it
# off), default user "debian" (Debian's cloud.cfg), locale C.UTF-8, no SSH
# host keys (cloud-init makes them on first boot; sshd makes missing ones
# when cloud-init does not run) and an empty machine-id.
#
# How: mmdebstrap (minbase) from the Debian mirror this host's apt uses ->
# rootfs.tar; guestfish (libguestfs, direct backend, TCG) partitions a 2G disk,
# unpacks the tar, installs GRUB; qemu-img converts to qcow2.  No loop devices,
# no network beyond the Debian archive.  Needs mmdebstrap, libguestfs-tools
# (guestfish), qemu-utils and linux-image-amd64 (libguestfs' appliance).
#
# Cached: nothing is rebuilt while OUTDIR/.stamp holds the sha256 of this
# script.  Concurrent runs on one OUTDIR serialise on OUTDIR/.lock.  The
# build time goes to stdout and to OUTDIR/build-time.txt.
#
# Environment:
#   CG_DEBIAN_MIRROR   mirror URL (default: the host's deb.debian.org-style
#                      "debian" entry in /etc/apt/sources.list{,.d/*})
#   CG_IMAGE_SIZE      disk size (default 2G)
#   CG_BUILD_TIMEOUT   seconds allowed for each of mmdebstrap / guestfish
#                      (default 1500)
set -euo pipefail
export LC_ALL=C

die() { printf 'build-cloud-image: ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf 'build-cloud-image: %s\n' "$*"; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUTDIR=$1
SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
SIZE=${CG_IMAGE_SIZE:-2G}
STEP_TIMEOUT=${CG_BUILD_TIMEOUT:-1500}
IMAGE=$OUTDIR/debian-cloud.qcow2
SUITE=bookworm
PACKAGES=linux-image-amd64,grub-pc,systemd-sysv,cloud-init,openssh-server,ifupdown,isc-dhcp-client,udev,kmod,netbase,iproute2,sudo,dbus

STAMP=$(sha256sum "$SCRIPT" | cut -d' ' -f1)
up_to_date() {
  [ -f "$OUTDIR/.stamp" ] && [ "$(cat "$OUTDIR/.stamp")" = "$STAMP" ] && [ -s "$IMAGE" ]
}
if up_to_date; then
  log "up to date"
  printf '%s\n' "$IMAGE"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap root mode)"
for tool in mmdebstrap guestfish qemu-img sha256sum flock timeout; do
  command -v "$tool" >/dev/null || die "$tool missing (scripts/setup-host.sh installs it)"
done
ls /boot/vmlinuz-* >/dev/null 2>&1 || die "no /boot/vmlinuz-*: libguestfs needs linux-image-amd64"

mkdir -p "$OUTDIR"
exec 8>"$OUTDIR/.lock"
flock -w "$((2 * STEP_TIMEOUT + 300))" 8 || die "could not lock $OUTDIR/.lock"
# Someone else may have built it while we waited.
if up_to_date; then
  log "up to date (built concurrently)"
  printf '%s\n' "$IMAGE"
  exit 0
fi

# With the lock held, any other scratch directory is a killed build's.
rm -rf "$OUTDIR"/.build.*
WORK=$(mktemp -d "$OUTDIR/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------- mirror
# The first deb822 "URIs:" or one-line "deb" entry whose URL ends in /debian
# (not -security, not a third-party repository).
find_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    sed -n -e 's/^[[:space:]]*URIs:[[:space:]]*//p' \
           -e 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' "$f"
  done | tr ' ' '\n' | grep -E '^https?://[^[:space:]]+/debian/?$' | head -n1
}
MIRROR=${CG_DEBIAN_MIRROR:-$(find_mirror || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MIRROR=${MIRROR%/}
# The security archive sits beside the main one on Debian's hosts.
SECURITY=${MIRROR%/debian}/debian-security
log "mirror $MIRROR (security: $SECURITY)"

# ---------------------------------------------------------------- overlay
# Files copied over the root filesystem after the packages are installed.
OVL=$WORK/overlay
mkdir -p "$OVL/etc/cloud/cloud.cfg.d" "$OVL/etc/network" "$OVL/etc/default" \
  "$OVL/etc/initramfs-tools/conf.d" "$OVL/etc/systemd/system/ssh.service.d"

cat >"$OVL/etc/fstab" <<'EOF'
# <file system> <mount point> <type> <options> <dump> <pass>
LABEL=root / ext4 defaults,errors=remount-ro 0 1
EOF

cat >"$OVL/etc/default/grub" <<'EOF'
# Written by cloudgate's build-cloud-image.sh
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0"
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"
GRUB_DISABLE_OS_PROBER=true
EOF

# eth0 by ifupdown itself (allow-hotplug: boot does not wait for the lease),
# so the network comes up with or without a cloud-init seed.
cat >"$OVL/etc/network/interfaces" <<'EOF'
# Written by cloudgate's build-cloud-image.sh
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
EOF

# A small initramfs: only the drivers a virtual disk needs (virtio, virtio-scsi,
# IDE, SATA, NVMe) and ext4, not every module (MODULES=most): GRUB reads the
# initrd through the BIOS, which under TCG costs about a second per 4 MB.
echo MODULES=list >"$OVL/etc/initramfs-tools/conf.d/cloudgate"
cat >"$OVL/etc/initramfs-tools/modules" <<'EOF'
# Written by cloudgate's build-cloud-image.sh (MODULES=list)
virtio_pci
virtio_blk
virtio_scsi
virtio_net
sd_mod
sr_mod
ata_piix
ahci
nvme
ext4
crc32c_generic
EOF

# Only local seeds: a NoCloud ISO (label cidata) or a ConfigDrive (label
# config-2); "None" lets cloud-init finish when neither is there.  Network
# stays with ifupdown above (cloud-init would otherwise write a second eth0
# stanza into interfaces.d).
cat >"$OVL/etc/cloud/cloud.cfg.d/90_cloudgate.cfg" <<'EOF'
# Written by cloudgate's build-cloud-image.sh
datasource_list: [ NoCloud, ConfigDrive, None ]
network:
  config: disabled
# The minbase system generates no locales: C.UTF-8 is built in (Debian's
# default en_US.UTF-8 fails in update-locale here).  No DSA host key.
locale: C.UTF-8
ssh_genkeytypes: [ rsa, ecdsa, ed25519 ]
EOF

# SSH host keys: cloud-init makes them on first boot (the image ships none);
# without a seed cloud-init stays off, so sshd makes any that are missing
# itself rather than failing to start.
cat >"$OVL/etc/systemd/system/ssh.service.d/cloudgate-hostkeys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF

echo localhost >"$OVL/etc/hostname"
cat >"$OVL/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF

# ---------------------------------------------------------------- rootfs
T0=$SECONDS
log "mmdebstrap $SUITE (minbase + $PACKAGES)"
# Hooks: the overlay, an initramfs rebuilt with its module list, no per-image
# secrets (SSH host keys are made on first boot), no host resolver config,
# an empty machine-id, no apt lists.
timeout "$STEP_TIMEOUT" mmdebstrap --mode=root --variant=minbase --quiet \
  --include="$PACKAGES" \
  --aptopt='Acquire::Retries "3"' \
  --customize-hook="cp -a '$OVL'/. \"\$1\"/" \
  --customize-hook='chroot "$1" update-initramfs -u -k all' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  --customize-hook='rm -f "$1"/etc/resolv.conf' \
  --customize-hook=': > "$1"/etc/machine-id; rm -f "$1"/var/lib/dbus/machine-id' \
  --customize-hook='rm -rf "$1"/var/lib/cloud/*' \
  --customize-hook='rm -f "$1"/var/cache/apt/*.bin; rm -rf "$1"/var/lib/apt/lists/*' \
  "$SUITE" "$WORK/rootfs.tar" \
  "deb $MIRROR $SUITE main" \
  "deb $MIRROR $SUITE-updates main" \
  "deb $SECURITY $SUITE-security main" \
  || die "mmdebstrap failed"
T1=$SECONDS
log "rootfs.tar: $(du -h "$WORK/rootfs.tar" | cut -f1) in $((T1 - T0)) s"

# ---------------------------------------------------------------- disk
# GRUB goes on the disk that holds /boot, found inside the appliance: the
# names the guestfish API takes (/dev/sda = the first disk added) are
# translated, but a "command" sees the appliance kernel's own names, and the
# kernel may well call our disk sdb and the appliance's root disk sda.
cat >"$WORK/grub-setup.sh" <<'EOF'
set -eu
dev=$(grub-probe --target=device /boot/grub)
disk=$(grub-probe --target=disk /boot/grub)
label=$(blkid -s LABEL -o value "$dev" || true)
[ "$label" = root ] || { echo "grub-setup: /boot/grub is on $dev (label '$label'), not ours" >&2; exit 1; }
echo "grub-setup: installing GRUB on $disk ($dev holds /boot)"
grub-install --target=i386-pc "$disk"
update-grub
EOF

# guestfish: no KVM here (nested), so the appliance runs under TCG.
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
export LIBGUESTFS_CACHEDIR=${LIBGUESTFS_CACHEDIR:-/var/tmp}
log "guestfish: $SIZE disk, ext4 label root, GRUB"
(
  cd "$WORK"
  timeout "$STEP_TIMEOUT" guestfish -N disk.img=disk:"$SIZE" <<'EOF'
part-disk /dev/sda mbr
part-set-bootable /dev/sda 1 true
mkfs ext4 /dev/sda1 label:root
mount /dev/sda1 /
tar-in rootfs.tar / xattrs:true acls:true
upload grub-setup.sh /root/cg-grub-setup.sh
command "sh /root/cg-grub-setup.sh"
rm /root/cg-grub-setup.sh
sync
umount-all
EOF
) || die "guestfish failed"
T2=$SECONDS
log "disk built in $((T2 - T1)) s"

qemu-img convert -q -f raw -O qcow2 "$WORK/disk.img" "$WORK/debian-cloud.qcow2"
rm -f "$WORK/disk.img" "$WORK/rootfs.tar"
mv -f "$WORK/debian-cloud.qcow2" "$IMAGE"
T3=$SECONDS
printf 'mmdebstrap %d s, guestfish %d s, convert %d s, total %d s\n' \
  "$((T1 - T0))" "$((T2 - T1))" "$((T3 - T2))" "$((T3 - T0))" >"$OUTDIR/build-time.txt"
printf '%s\n' "$STAMP" >"$OUTDIR/.stamp"
log "built in $((T3 - T0)) s ($(cat "$OUTDIR/build-time.txt")); $(du -h "$IMAGE" | cut -f1) on disk"
printf '%s\n' "$IMAGE"
