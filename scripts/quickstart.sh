#!/bin/bash
# Quick start on a fresh Debian 12 machine, as root: install the packages,
# start libvirtd, build and install cloudgate, register a small demo template,
# start the gateway on 127.0.0.1:8773 with its embedded defaults and write an
# `aws` CLI profile named "cloudgate".  Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
STATE=/var/lib/cloudgate
CREDS=$STATE/credentials
PIDFILE=/run/cloudgated.pid
LOG=/var/log/cloudgated.log

"$TOP/scripts/setup-host.sh"
"$TOP/scripts/build.sh"
make install >/dev/null

# An access key for the gateway and the same key as an aws CLI profile.
mkdir -p "$STATE"
chmod 700 "$STATE"
if [ ! -s "$CREDS" ]; then
    key="AKIA$(head -c 4096 /dev/urandom | tr -dc 'A-Z0-9' | head -c 16)"
    secret="$(head -c 4096 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 40)"
    umask 077
    echo "$key $secret" > "$CREDS"
fi
read -r KEY SECRET < <(grep -v '^#' "$CREDS" | head -n 1)
mkdir -p ~/.aws
python3 - "$KEY" "$SECRET" <<'PY'
import configparser, os, sys
key, secret = sys.argv[1:3]
for path, section, values in (
        ("~/.aws/credentials", "cloudgate",
         {"aws_access_key_id": key, "aws_secret_access_key": secret}),
        ("~/.aws/config", "profile cloudgate", {"region": "cloudgate", "output": "json"})):
    path = os.path.expanduser(path)
    cp = configparser.RawConfigParser()
    cp.read(path)
    if not cp.has_section(section):
        cp.add_section(section)
    for k, v in values.items():
        cp.set(section, k, v)
    with open(path, "w") as f:
        cp.write(f)
    os.chmod(path, 0o600)
PY

# The demo template: a Debian kernel + busybox initramfs that boots in seconds.
"$TOP/scripts/build-demo-guest.sh" "$STATE/demo-guest" >/dev/null
# libguestfs (inspection, sealing) boots a small appliance: directly with
# qemu, and with TCG where there is no KVM (nested machines, CI).
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
[ -w /dev/kvm ] || export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

if ! /usr/local/bin/cloudgate-admin image-list | grep -qw demo; then
    # The demo disk holds no OS to inspect (it boots a kernel and initramfs).
    /usr/local/bin/cloudgate-admin image-register --no-inspect --name demo \
        --description "busybox demo guest (direct kernel boot)" \
        --disk "$STATE/demo-guest/disk.qcow2" --kernel "$STATE/demo-guest/vmlinuz" \
        --initrd "$STATE/demo-guest/initrd.img" --cmdline "console=ttyS0" >/dev/null
fi

if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "cloudgated already running (pid $(cat "$PIDFILE"))"
else
    /usr/local/sbin/cloudgated -d -p "$PIDFILE" -L "$LOG"
    for _ in $(seq 1 100); do
        (exec 3<>/dev/tcp/127.0.0.1/8773) 2>/dev/null && break
        sleep 0.1
    done
    echo "cloudgated started (pid $(cat "$PIDFILE"), log $LOG)"
fi

AMI=$(/usr/local/bin/cloudgate-admin image-list | awk '$2 == "demo" {print $1; exit}')
cat <<EOT

cloudgate is listening on http://127.0.0.1:8773
Access key: $KEY (profile "cloudgate" in ~/.aws/credentials)
Demo image: $AMI

Try:
  alias cgaws='/usr/bin/aws --profile cloudgate --region cloudgate --endpoint-url http://127.0.0.1:8773'
  cgaws ec2 describe-images
  cgaws ec2 run-instances --image-id $AMI --instance-type t2.micro --count 2
  cgaws ec2 describe-instances --filters Name=instance-state-name,Values=running
EOT
