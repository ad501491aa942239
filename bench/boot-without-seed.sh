#!/usr/bin/env bash
# boot-without-seed.sh IMAGE [TIMEOUT] — boot a cloud image with NO cloud-init
# seed and time it, to compare with a seeded boot (tests/system/test_cloudinit.py
# prints RunInstances -> "Cloud-init ... finished").
#
# A transient domain (virsh create, TCG, 1 vcpu, 2 GiB like t2.small) on a
# fresh qcow2 overlay of IMAGE, no CD-ROM, NIC on the isolated network, the
# serial console logged to a file.  Reports when the console shows "login:"
# and cloud-init's "finished" line (if ever), and the cloud-init lines it saw.
# The domain and the overlay are removed on exit, whatever happens.
#
# Environment: CG_NETWORK (default cloudgate-isolated), CG_URI (qemu:///system),
#   CG_CONSOLE_COPY=FILE  keep a copy of the console log there.
set -euo pipefail
export LC_ALL=C

die() { printf 'boot-without-seed: ERROR: %s\n' "$*" >&2; exit 1; }
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 IMAGE [TIMEOUT_SECONDS]"
IMAGE=$(readlink -f "$1")
TIMEOUT=${2:-600}
NETWORK=${CG_NETWORK:-cloudgate-isolated}
URI=${CG_URI:-qemu:///system}
[ -r "$IMAGE" ] || die "$IMAGE not readable"

NAME=cg-noseed-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
WORK=$(mktemp -d /var/tmp/cg-noseed.XXXXXX)
STARTED=0
cleanup() {
  if [ "$STARTED" = 1 ]; then
    virsh -q -c "$URI" destroy "$NAME" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

qemu-img create -q -f qcow2 -F qcow2 -b "$IMAGE" "$WORK/disk.qcow2"
LOG=$WORK/console.log
cat >"$WORK/domain.xml" <<EOF
<domain type='qemu'>
  <name>$NAME</name>
  <memory unit='MiB'>2048</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$WORK/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='$NETWORK'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <log file='$LOG' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
EOF

T0=$(date +%s.%N)
virsh -q -c "$URI" create "$WORK/domain.xml" >/dev/null
STARTED=1
elapsed() { awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN { printf "%.1f", a - b }'; }

login_at= finished_at= finished_line=
deadline=$((SECONDS + TIMEOUT))
while [ $SECONDS -lt $deadline ]; do
  if [ -z "$login_at" ] && grep -qa 'login:' "$LOG" 2>/dev/null; then
    login_at=$(elapsed)
    # cloud-init may still finish after the getty: give it a bounded while.
    deadline=$((SECONDS + 60 < deadline ? SECONDS + 60 : deadline))
  fi
  if [ -z "$finished_at" ] && grep -qa 'Cloud-init v\. .* finished at' "$LOG" 2>/dev/null; then
    finished_at=$(elapsed)
    finished_line=$(grep -a -m1 'Cloud-init v\. .* finished at' "$LOG" | tr -d '\r')
  fi
  if [ -n "$login_at" ] && [ -n "$finished_at" ]; then break; fi
  sleep 1
done

if [ -n "${CG_CONSOLE_COPY:-}" ]; then cp "$LOG" "$CG_CONSOLE_COPY"; fi
echo "image: $IMAGE (no seed, TCG, 1 vcpu, 2048 MiB)"
echo "login: prompt after: ${login_at:-not seen within ${TIMEOUT}s} s"
if [ -n "$finished_at" ]; then
  echo "cloud-init finished after: $finished_at s"
  echo "  $finished_line"
else
  echo "cloud-init finished: not seen"
fi
echo "cloud-init lines on the console:"
grep -a -i 'cloud-init\|ci-info\|datasource' "$LOG" | tr -d '\r' | head -n 25 | sed 's/^/  /' || true
[ -n "$login_at" ]
