"""cloudgate-admin v2v-import on libvirt's test driver: everything that is
decided before a conversion starts.  Usage errors, an unknown provider or
VM, a running source VM, a VM with two disks as a template (as an instance
it passes), an unknown instance type, and
a target zone without a local pool directory (test://) are all refused
before anything is made: no job, no instance (DescribeInstances through
boto3 and the aws CLI shows none), no provider change.

The conversion itself, the locked "pending" instance and its refusals need
a real virt-v2v run: tests/system/test_v2v_libvirt_qemu.py."""
import os
import shutil

import pytest

from cgharness import Gateway
from test_v2v_providers import NODE, source_node

EXIT_USAGE = 2
EXIT_NOT_IMPORTABLE = 3


@pytest.fixture
def cg(tmp_path):
    """A running gateway on test:// with provider 'src' (a node file with
    shut-off 'legacy' (one disk), 'db' (two disks) and running 'live')."""
    node, _, _ = source_node(str(tmp_path))
    g = Gateway(zones=[("cloudgate-a", "test://" + NODE)], domain_type="test")
    with open(g.conf, "a") as f:
        f.write("[v2v src]\nuri = test://%s\n" % node)
    g.start()
    yield g
    g.stop()
    shutil.rmtree(g.dir, ignore_errors=True)


def instance_ids(cg):
    ids = {i["InstanceId"] for r in cg.client().describe_instances()["Reservations"]
           for i in r["Instances"]}
    cli = cg.aws("describe-instances")
    assert ids == {i["InstanceId"] for r in cli["Reservations"] for i in r["Instances"]}
    return ids


def nothing_made(cg, before):
    assert instance_ids(cg) == before
    assert cg.admin("jobs").stdout.strip() == ""


def run(cg, *args):
    return cg.admin("v2v-import", *args, check=False)


@pytest.mark.parametrize("args, why", [
    ((), "usage"),
    (("src",), "usage"),
    (("src", "legacy", "--as", "volume"), "--as must be instance or template"),
    (("src", "legacy", "--as", "template", "--type", "t2.micro"), "apply to --as instance"),
    (("src", "legacy", "--as", "template", "--zone", "cloudgate-a"), "apply to --as instance"),
    (("src", "legacy", "--type", "t2.micro", "--vcpus", "1", "--memory", "512"), "not both"),
    (("src", "legacy", "--vcpus", "2"), "go together"),
    (("src", "legacy", "--memory", "512"), "go together"),
    (("src", "legacy", "--vcpus", "0", "--memory", "512"), "--vcpus must be"),
    (("src", "legacy", "--vcpus", "-1", "--memory", "512"), "--vcpus must be"),
    (("src", "legacy", "--vcpus", "2x", "--memory", "512"), "--vcpus must be"),
    (("src", "legacy", "--vcpus", "2", "--memory", "99999999999"), "--memory must be"),
    (("src", "legacy", "--display", "rdp"), "--display must be"),
    (("src", "legacy", "db", "--name", "one"), "--name names one VM"),
    (("src", "legacy", "--bogus"), "usage"),
])
def test_usage_errors_make_nothing(cg, args, why):
    before = instance_ids(cg)
    r = run(cg, *args)
    assert r.returncode == EXIT_USAGE, (r.returncode, r.stderr)
    assert why in r.stderr or why in r.stdout, r.stderr
    nothing_made(cg, before)


def test_help(cg):
    r = run(cg, "--help")
    assert r.returncode == 0 and "v2v-import PROVIDER VM..." in r.stdout


def test_unknown_provider(cg):
    before = instance_ids(cg)
    r = run(cg, "nosuch", "legacy")
    assert r.returncode == 1 and "nosuch" in r.stderr, r.stderr
    nothing_made(cg, before)


def test_unknown_vm(cg):
    before = instance_ids(cg)
    r = run(cg, "src", "ghost")
    assert r.returncode == 1 and "ghost" in r.stderr, r.stderr
    nothing_made(cg, before)


def test_running_source_refused(cg):
    before = instance_ids(cg)
    r = run(cg, "src", "live")
    assert r.returncode == EXIT_NOT_IMPORTABLE, (r.returncode, r.stderr)
    assert "running" in r.stderr, r.stderr
    nothing_made(cg, before)


def test_one_bad_vm_of_several_makes_nothing(cg):
    """legacy is importable, live is not: neither is started."""
    before = instance_ids(cg)
    r = run(cg, "src", "legacy", "live")
    assert r.returncode == EXIT_NOT_IMPORTABLE, (r.returncode, r.stderr)
    assert "live" in r.stderr
    nothing_made(cg, before)


def test_two_disk_vm_as_template_passes_the_checks(cg):
    """As a template its second disk becomes a snapshot the image maps: the
    checks pass and only test://'s missing pool directory refuses it."""
    ec2 = cg.client()
    images = ec2.describe_images(Owners=["self"])["Images"]
    r = run(cg, "src", "db", "--as", "template")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "disks" not in r.stderr and "local directory" in r.stderr, r.stderr
    assert ec2.describe_images(Owners=["self"])["Images"] == images


def test_two_disk_vm_as_instance_passes_the_checks(cg):
    """As an instance its second disk becomes a volume: the checks pass and
    only test://'s missing pool directory refuses it (as for 'legacy')."""
    before = instance_ids(cg)
    r = run(cg, "src", "db", "--vcpus", "1", "--memory", "256")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "disks" not in r.stderr and "local directory" in r.stderr, r.stderr
    nothing_made(cg, before)


def test_unknown_type(cg):
    before = instance_ids(cg)
    r = run(cg, "src", "legacy", "--type", "x9.nonesuch")
    assert r.returncode == 1 and "x9.nonesuch" in r.stderr, r.stderr
    nothing_made(cg, before)


def test_zone_without_local_pool_refused(cg):
    """test:// has no pool directory virt-v2v could write into: refused at
    submit, before the instance is defined."""
    before = instance_ids(cg)
    r = run(cg, "src", "legacy", "--vcpus", "1", "--memory", "256", "--name", "x")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "legacy" in r.stderr, r.stderr
    nothing_made(cg, before)


def test_template_zone_without_local_pool_refused(cg):
    """--as template: the same refusal, no image and no job made."""
    ec2 = cg.client()
    images = ec2.describe_images(Owners=["self"])["Images"]
    r = run(cg, "src", "legacy", "--as", "template", "--name", "legacy-ami")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert ec2.describe_images(Owners=["self"])["Images"] == images
    assert cg.admin("jobs").stdout.strip() == ""


def test_password_never_printed(cg, tmp_path):
    """A provider with a password file: a refusal shows the file's path at
    most, never its content."""
    pw = tmp_path / "pw"
    pw.write_text("s3cr3t-Pa55\n")
    os.chmod(pw, 0o600)
    cg.admin("v2v-add", "withpw", "--uri", "test:///default", "--password-file", str(pw),
             "--no-check")
    r = run(cg, "withpw", "test")
    assert r.returncode == EXIT_NOT_IMPORTABLE, (r.returncode, r.stderr)
    assert "s3cr3t" not in r.stderr + r.stdout
    assert "s3cr3t" not in cg.log_text()
