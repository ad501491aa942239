"""Integration tier: the real cloudgated on libvirt's test:// driver, driven by
boto3 and the aws CLI.  The test node (testnode.xml) gives a pool "cloudgate"
with a volume demo.qcow2 and a network; every daemon is a fresh process."""
import os

import pytest

from cgharness import Gateway

NODE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testnode.xml")


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


@pytest.fixture
def ec2(gw):
    return gw.client()
