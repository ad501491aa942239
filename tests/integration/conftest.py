"""Integration tier: the real cloudgated on libvirt's test:// driver, driven by
boto3 and the aws CLI.  The test node (testnode.xml) gives a pool "cloudgate"
with a volume demo.qcow2 and a network; every daemon is a fresh process."""
import os

import pytest

from cgharness import Gateway, wait_for

NODE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testnode.xml")


def wait_running(ec2, ids, timeout=120):
    """RunInstances answers pending and launches in the gateway's workers:
    wait until every id is running (a launch that fails ends terminated)."""
    ids = list(ids)

    def ready():
        res = ec2.describe_instances(InstanceIds=ids)["Reservations"]
        insts = [i for r in res for i in r["Instances"]]
        ended = [(i["InstanceId"], i.get("StateReason")) for i in insts
                 if i["State"]["Name"] in ("terminated", "shutting-down")]
        assert not ended, "launch failed: %r" % ended
        return len(insts) == len(ids) and all(i["State"]["Name"] == "running" for i in insts)

    wait_for("instances running", ready, timeout, 0.05)
    return ids


def make_gateway(**kw):
    gw = Gateway(zones=[("cloudgate-a", "test://" + NODE)], domain_type="test", **kw)
    r = gw.admin("image-register", "--name", "demo", "--volume", "demo.qcow2",
                 "--description", "test template")
    gw.image_id = r.stdout.strip().split()[-1]
    assert gw.image_id.startswith("ami-"), r.stdout
    return gw.start()


@pytest.fixture(scope="module")
def gw():
    g = make_gateway()
    yield g
    assert g.stop() == 0, g.log_text()
    # A clean stop takes its scratch directory (state/tmp/p-*) with it.
    scratch = os.path.join(g.dir, "state", "tmp")
    assert not [d for d in os.listdir(scratch) if d.startswith("p-")]


@pytest.fixture
def ec2(gw):
    return gw.client()
