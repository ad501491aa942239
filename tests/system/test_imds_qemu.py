"""The metadata service for a real cloud-init guest (Debian 12, TCG) with NO
seed ISO and IMDSv2 required: the image is registered with --seed-format
imds, so the domain tells ds-identify it is on EC2 (SMBIOS serial = uuid =
"ec2..."), its VPC network's DHCP gives the route to 169.254.169.254 (option
121 via the bridge), and the gateway's metadata_listen answers it.  The host
never connects to the guest: the serial console (GetConsoleOutput through the
aws CLI) shows what cloud-init did:

    user-data runcmd -> a marker computed in the guest, the hostname
    cloud-init set from local-hostname, and the key it installed.

The cached test image (scripts/build-cloud-image.sh) lists only local seed
datasources, so the test boots a copy whose cloud.cfg.d also lists Ec2, as a
stock cloud image does.  Cleanup (instance, volumes, VPC, holder network,
the copy) runs even on failure."""
import os
import re
import subprocess
import time
import uuid

import pytest

from cgharness import Gateway, free_block24, remove_filters, wait_for
from conftest import virsh

BOOT_TIMEOUT = 540      # RunInstances -> marker + cloud-init finished, under TCG
POOL = "cloudgate"
FINISHED_RE = re.compile(r"Cloud-init v\. \S+ finished at [^\n]*")


@pytest.fixture(scope="module")
def ec2_image(cloud_image, tmp_path_factory):
    """A copy of the test image whose cloud-init may also use Ec2."""
    copy = str(tmp_path_factory.mktemp("imds") / "debian-cloud-ec2.qcow2")
    subprocess.run(["cp", "--sparse=always", cloud_image, copy], check=True, timeout=600)
    env = dict(os.environ, LIBGUESTFS_BACKEND="direct", LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
    r = subprocess.run(["guestfish", "--rw", "--format=qcow2", "-a", copy, "-m", "/dev/sda1"],
                       input="write /etc/cloud/cloud.cfg.d/95_cloudgate_imds.cfg "
                             "\"datasource_list: [ NoCloud, ConfigDrive, Ec2, None ]\\n\"\n",
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    yield copy
    os.unlink(copy)


@pytest.fixture(scope="module")
def imdsgw(ec2_image):
    cloud_image = ec2_image
    had_holder = virsh("net-info", "cloudgate-imds", check=False).returncode == 0
    gw = Gateway(zones=[("cloudgate-a", "qemu:///system")], domain_type="qemu",
                 extra_gateway="metadata_listen = 169.254.169.254:80\n")
    r = gw.admin("image-register", "--no-inspect", "--name", "debian-cloud-imds", "--disk",
                 cloud_image, "--seed-format", "imds")
    gw.image_id = r.stdout.strip().split()[-1]
    gw.launched = []
    gw.vpc = None
    gw.start()
    try:
        yield gw
    finally:
        if gw.launched and gw.proc and gw.proc.poll() is None:
            gw.aws("terminate-instances", "--instance-ids", *gw.launched, check=False)
            ec2 = gw.client()
            try:
                ec2.get_waiter("instance_terminated").wait(
                    InstanceIds=gw.launched, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
            except Exception:
                pass
        if gw.vpc and gw.proc and gw.proc.poll() is None:
            ec2 = gw.client()
            for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id",
                                                    "Values": [gw.vpc]}])["Subnets"]:
                try:
                    ec2.delete_subnet(SubnetId=s["SubnetId"])
                except Exception:
                    pass
            try:
                ec2.delete_vpc(VpcId=gw.vpc)
            except Exception:
                pass
        gw.stop()
        for iid in gw.launched:
            virsh("destroy", iid, check=False)
            virsh("undefine", iid, "--nvram", check=False)
            virsh("vol-delete", "--pool", POOL, iid + ".qcow2", check=False)
        if gw.vpc:
            virsh("net-destroy", "cg-" + gw.vpc, check=False)
            virsh("net-undefine", "cg-" + gw.vpc, check=False)
        # cloudgate-admin opens the driver, which (metadata_listen set)
        # ensures the holder network: deregister first, then remove it.
        gw.admin("image-deregister", gw.image_id, check=False)
        if not had_holder:
            virsh("net-destroy", "cloudgate-imds", check=False)
            virsh("net-undefine", "cloudgate-imds", check=False)
        remove_filters(gw)


def console_text(gw, iid):
    r = gw.aws("get-console-output", "--instance-id", iid, "--query", "Output",
               "--output", "text", check=False, timeout=60)
    return r.stdout if r.returncode == 0 else ""


def test_cloud_init_from_the_metadata_service(imdsgw, tmp_path):
    gw = imdsgw
    ec2 = gw.client()
    net = free_block24("10.219.0")
    gw.vpc = ec2.create_vpc(CidrBlock=net + ".0/24")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=gw.vpc, CidrBlock=net + ".16/28")["Subnet"]["SubnetId"]
    r = gw.aws("create-key-pair", "--key-name", "imds-k", "--query", "KeyMaterial",
               "--output", "text", check=False, timeout=60)
    assert r.returncode == 0, r.stderr
    pem = tmp_path / "k.pem"
    pem.write_text(r.stdout)
    pem.chmod(0o600)
    pub = subprocess.run(["ssh-keygen", "-y", "-f", str(pem)], capture_output=True,
                         text=True, timeout=30, check=True).stdout.split()
    token = uuid.uuid4().hex
    cfg = tmp_path / "cloud-config.yaml"
    cfg.write_text("#cloud-config\n"
                   "runcmd:\n"
                   "  - echo \"CG-IMDS-MARKER-$((6*7))-%s\" > /dev/ttyS0\n"
                   "  - echo \"CG-IMDS-HOST-$(hostname)\" > /dev/ttyS0\n"
                   "  - cat /home/*/.ssh/authorized_keys | awk '{print \"CG-IMDS-KEY-\" $2}'"
                   " > /dev/ttyS0\n" % token)
    t0 = time.time()
    out = gw.aws("run-instances", "--image-id", gw.image_id, "--instance-type", "t2.small",
                 "--subnet-id", subnet, "--key-name", "imds-k", "--user-data",
                 "file://%s" % cfg, "--metadata-options", "HttpTokens=required", timeout=300)
    inst = out["Instances"][0]
    iid = inst["InstanceId"]
    gw.launched.append(iid)
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    # No seed volume was made for it.
    assert virsh("vol-info", "--pool", POOL, iid + "-seed.iso", check=False).returncode != 0
    seen = {}

    def booted():
        text = console_text(gw, iid)
        seen["text"] = text
        return ("CG-IMDS-MARKER-42-" + token) in text and FINISHED_RE.search(text)

    try:
        wait_for("marker and cloud-init finished on the console", booted, BOOT_TIMEOUT, 5)
    except AssertionError:
        print("\n---- console (last 6000 chars) ----\n%s" % seen.get("text", "")[-6000:])
        print("\n---- metadata log ----\n%s" % "\n".join(
            l for l in gw.log_text().splitlines() if " metadata " in l)[-4000:])
        raise
    print("\ncloud-init finished %.0f s after RunInstances" % (time.time() - t0))
    text = seen["text"]
    ip = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0].get(
        "PrivateIpAddress")
    assert ip and ip.startswith(net + "."), ip
    # The hostname came from local-hostname (ip-A-B-C-D...), the key from public-keys.
    assert "CG-IMDS-HOST-ip-%s" % ip.replace(".", "-") in text, text[-3000:]
    assert "CG-IMDS-KEY-%s" % pub[1] in text, text[-3000:]
    # IMDSv2: the guest took a token, and tokenless reads were refused.
    log = gw.log_text()
    assert "metadata %s PUT /latest/api/token -> 200" % ip in log
    # (cloud-init reads a dated version, e.g. /2021-03-23/meta-data/...)
    assert re.search(r"metadata %s GET /[0-9a-z-]+/meta-data/\S* -> 200" % re.escape(ip), log)
