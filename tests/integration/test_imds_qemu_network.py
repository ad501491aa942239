"""How guests reach 169.254.169.254 on qemu:///system's real libvirt networks,
without guests: with metadata_listen = 169.254.169.254:80 the gateway keeps
the network cloudgate-imds holding that address (no dnsmasq), a VPC's
network hands out DHCP option 121 (169.254.169.254/32 via its bridge), and a
network namespace plugged into that VPC's bridge as a guest would be, using
that route, reaches the gateway's metadata service (which, not knowing the
caller, answers 403 with its own Server header).  Skipped without
qemu:///system or its instance network.  Leaves no network, namespace or
link behind."""
import re
import subprocess

import pytest

from cgharness import Gateway, free_block24, wait_for
from test_vpc_qemu_network import NETWORK, URI, virsh

NS, HOST_IF, NS_IF = "cgimdsQ", "cgimdsQh", "cgimdsQn"


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=30)


@pytest.fixture
def sysgw():
    try:
        if virsh("net-info", NETWORK, check=False).returncode != 0:
            pytest.skip("no %s network on %s" % (NETWORK, URI))
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip("no %s: %s" % (URI, e))
    had_holder = virsh("net-info", "cloudgate-imds", check=False).returncode == 0
    g = Gateway(zones=[("cloudgate-a", URI)], domain_type="qemu", network=NETWORK,
                extra_gateway="metadata_listen = 169.254.169.254:80\n")
    g.start()
    try:
        yield g
    finally:
        assert g.stop() == 0, g.log_text()
        if not had_holder:
            virsh("net-destroy", "cloudgate-imds", check=False)
            virsh("net-undefine", "cloudgate-imds", check=False)


def test_guest_route_reaches_the_service(sysgw):
    ec2 = sysgw.client()
    wait_for("the holder network", lambda: "cloudgate-imds" in
             virsh("net-list", "--name").stdout.split(), 30, 0.5)
    assert "<ip address='169.254.169.254' prefix='32'" in virsh("net-dumpxml",
                                                                "cloudgate-imds").stdout
    p = free_block24("10.215.0", URI)     # not routed on these machines
    vid = ec2.create_vpc(CidrBlock=p + ".0/24")["Vpc"]["VpcId"]
    net = "cg-" + vid
    try:
        xml = virsh("net-dumpxml", net).stdout
        assert ("dhcp-option=option:classless-static-route,169.254.169.254/32,%s.1" % p
                in xml), xml
        bridge = re.search(r"<bridge name='([^']+)'", xml).group(1)
        sh("ip", "netns", "add", NS)
        sh("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF)
        sh("ip", "link", "set", NS_IF, "netns", NS)
        sh("ip", "link", "set", HOST_IF, "master", bridge, "up")
        sh("ip", "netns", "exec", NS, "ip", "addr", "add", p + ".50/24", "dev", NS_IF)
        sh("ip", "netns", "exec", NS, "ip", "link", "set", NS_IF, "up")
        # What option 121 tells a DHCP client to do.
        sh("ip", "netns", "exec", NS, "ip", "route", "add", "169.254.169.254/32", "via",
           p + ".1")
        r = sh("ip", "netns", "exec", NS, "curl", "-s", "-i", "-m", "10",
               "http://169.254.169.254/latest/meta-data/instance-id")
        assert r.stdout.startswith("HTTP/1.1 403"), r.stdout
        assert "Server: EC2ws" in r.stdout
        assert "metadata %s.50 GET /latest/meta-data/instance-id -> 403" % p in \
            sysgw.log_text()
    finally:
        sh("ip", "link", "del", HOST_IF, check=False)
        sh("ip", "netns", "del", NS, check=False)
        ec2.delete_vpc(VpcId=vid)
