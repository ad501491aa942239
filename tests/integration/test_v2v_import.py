"""ImportImage of foreign formats (ova, vmdk, vhdx: converted by virt-v2v),
the error paths that need no real conversion, with boto3 and the aws CLI on
libvirt's test:// driver: every refusal is immediate, with an AWS error
code, and records no task.  (test:// has no local pool directory, so even a
well-formed request is refused: UnsupportedOperation.  The real conversion
is tests/system/test_v2v_ova_qemu.py.)"""
import os
import shutil
import tempfile

import botocore.exceptions
import pytest

from conftest import make_gateway


@pytest.fixture(scope="module")
def files():
    d = tempfile.mkdtemp(prefix="cg-v2v-int-")
    os.chmod(d, 0o755)
    paths = {"ova": os.path.join(d, "vm.ova"), "vmdk": os.path.join(d, "disk.vmdk")}
    for p in paths.values():
        with open(p, "wb") as f:
            f.write(b"not really a disk" * 100)
    outside = tempfile.mkdtemp(prefix="cg-v2v-outside-")
    paths["outside"] = os.path.join(outside, "vm.ova")
    with open(paths["outside"], "wb") as f:
        f.write(b"x" * 1000)
    os.symlink(paths["outside"], os.path.join(d, "link.ova"))
    paths["link"] = os.path.join(d, "link.ova")
    yield d, paths
    shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(outside, ignore_errors=True)


@pytest.fixture(scope="module")
def gw(files):
    d, _ = files
    g = make_gateway(extra_gateway="import_dirs = %s\n" % d)
    yield g
    assert g.stop() == 0, g.log_text()


def tasks(ec2):
    return ec2.describe_import_image_tasks()["ImportImageTasks"]


def refused(ec2, containers, code, why, **kw):
    before = tasks(ec2)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.import_image(DiskContainers=containers, **kw)
    err = e.value.response["Error"]
    assert err["Code"] == code, (containers, err)
    assert why in err["Message"], (containers, err)
    assert tasks(ec2) == before  # nothing recorded
    return err["Message"]


def test_bad_format(gw, files):
    ec2 = gw.client()
    _, p = files
    msg = refused(ec2, [{"Format": "vmdk2", "Url": "file://" + p["vmdk"]}],
                  "InvalidParameterValue", "DiskContainer.1.Format")
    for f in ("ova", "vmdk", "vhdx", "qcow2", "raw"):
        assert f in msg
    refused(ec2, [{"Format": "vhd", "Url": "file://" + p["vmdk"]}], "InvalidParameterValue",
            "VHDX")
    refused(ec2, [{"Format": "ova\nvmdk", "Url": "file://" + p["ova"]}],
            "InvalidParameterValue", "DiskContainer.1.Format")


def test_missing_and_outside(gw, files):
    ec2 = gw.client()
    d, p = files
    refused(ec2, [{"Format": "ova", "Url": "file://" + os.path.join(d, "nope.ova")}],
            "InvalidParameterValue", "No such file")
    refused(ec2, [{"Format": "vmdk", "Url": "file://" + p["outside"]}],
            "InvalidParameterValue", "not under")
    # a link under import_dirs to a file outside is outside
    refused(ec2, [{"Format": "ova", "Url": "file://" + p["link"]}],
            "InvalidParameterValue", "not under")
    refused(ec2, [{"Format": "ova", "Url": "file://" + d + "/../" + os.path.basename(d) +
                   "/../etc/passwd"}], "InvalidParameterValue", "")
    refused(ec2, [{"Format": "ova", "Url": "file:relative.ova"}], "InvalidParameterValue", "")
    refused(ec2, [{"Format": "ova", "Url": "ftp://127.0.0.1/vm.ova"}], "InvalidParameterValue",
            "")
    # glance images are qcow2 or raw: nothing to convert
    refused(ec2, [{"Format": "ova", "Url": "glance://p/0123"}], "InvalidParameterValue",
            "file:///PATH")


def test_no_local_pool(gw, files):
    """Well-formed (format any case), but test:// has no pool directory on
    this host for virt-v2v to write into."""
    ec2 = gw.client()
    _, p = files
    for fmt, key in (("OVA", "ova"), ("VmDk", "vmdk"), ("vhdx", "vmdk")):
        refused(ec2, [{"Format": fmt, "Url": "file://" + p[key]}], "UnsupportedOperation",
                "local directory")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.import_image(DryRun=True, DiskContainers=[{"Format": "ova",
                                                        "Url": "file://" + p["ova"]}])
    assert e.value.response["Error"]["Code"] == "DryRunOperation"


def test_aws_cli(gw, files):
    d, p = files
    before = gw.aws("describe-import-image-tasks")["ImportImageTasks"]
    cases = [
        ("Format=vmdk2,Url=file://" + p["vmdk"], "InvalidParameterValue"),
        ("Format=ova,Url=file://" + os.path.join(d, "nope.ova"), "InvalidParameterValue"),
        ("Format=ova,Url=file://" + p["outside"], "InvalidParameterValue"),
        ("Format=ova,Url=file://" + p["ova"], "UnsupportedOperation"),
    ]
    for containers, code in cases:
        r = gw.aws("import-image", "--disk-containers", containers, check=False)
        assert r.returncode != 0 and code in r.stderr, (containers, r.stderr)
    assert gw.aws("describe-import-image-tasks")["ImportImageTasks"] == before
