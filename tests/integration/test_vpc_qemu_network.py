"""A VPC on qemu:///system's real libvirt networks, without guests: CreateVpc
defines and starts an isolated network with a bridge libvirt names,
CreateSubnet gives its dnsmasq a DHCP range live, DeleteSubnet and DeleteVpc
take them away.  With [libvirt] vpc_forward = nat the network is libvirt's
NAT mode: its block is masqueraded behind the host (no traffic is sent: the
rules are read back).  Skipped when qemu:///system or its instance network is not
there (the integration tier otherwise runs on test:// only)."""
import re
import subprocess

import pytest

from cgharness import Gateway, free_block24, virsh_on

URI = "qemu:///system"
NETWORK = "cloudgate-isolated"


def virsh(*args, check=True):
    return virsh_on(URI, *args, check=check)


def system_gateway(extra_libvirt=""):
    try:
        if virsh("net-info", NETWORK, check=False).returncode != 0:
            pytest.skip("no %s network on %s" % (NETWORK, URI))
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip("no %s: %s" % (URI, e))
    g = Gateway(zones=[("cloudgate-a", URI)], domain_type="qemu", network=NETWORK,
                extra_libvirt=extra_libvirt)
    g.start()
    return g


@pytest.fixture
def sysgw():
    g = system_gateway()
    yield g
    assert g.stop() == 0, g.log_text()


@pytest.fixture
def natgw():
    g = system_gateway("vpc_forward = nat\n")
    yield g
    assert g.stop() == 0, g.log_text()


def masquerade_rules(block):
    """The host's NAT rules for block, from iptables and nftables alike."""
    out = ""
    for cmd in (["iptables-save", "-t", "nat"], ["nft", "list", "ruleset"]):
        try:
            out += subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
        except OSError:
            pass
    return [l for l in out.splitlines() if block in l and "MASQUERADE" in l.upper()]


def test_vpc_with_nat_is_masqueraded_behind_the_host(natgw):
    ec2 = natgw.client()
    p = free_block24("10.215.0", URI)
    block = p + ".0/24"
    assert masquerade_rules(block) == []
    vid = ec2.create_vpc(CidrBlock=block)["Vpc"]["VpcId"]
    net = "cg-" + vid
    try:
        xml = virsh("net-dumpxml", net).stdout
        assert re.search(r"<forward mode='nat'", xml), xml
        assert "<ip address='%s.1' prefix='24'" % p in xml
        assert masquerade_rules(block), "no MASQUERADE rule for %s" % block
    finally:
        ec2.delete_vpc(VpcId=vid)
    assert net not in virsh("net-list", "--all", "--name").stdout.split()
    assert masquerade_rules(block) == []


def test_vpc_is_an_isolated_libvirt_network(sysgw):
    ec2 = sysgw.client()
    dvpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    ip = re.search(r"<ip address='([0-9.]+)' (?:netmask|prefix)",
                   virsh("net-dumpxml", NETWORK).stdout).group(1)
    assert dvpc["CidrBlock"].rsplit(".", 1)[0] == ip.rsplit(".", 1)[0]
    # A block that meets the instance network's would be routed twice.
    before = virsh("net-list", "--all", "--name").stdout.split()
    with pytest.raises(ec2.exceptions.ClientError) as e:
        ec2.create_vpc(CidrBlock=dvpc["CidrBlock"].rsplit(".", 2)[0] + ".0.0/16")
    assert e.value.response["Error"]["Code"] == "InvalidVpc.Range"
    assert virsh("net-list", "--all", "--name").stdout.split() == before
    p = free_block24("10.214.0", URI)   # not routed here: 10.213.0.0/24 is the network's
    vid = ec2.create_vpc(CidrBlock=p + ".0/24")["Vpc"]["VpcId"]
    net = "cg-" + vid
    try:
        listed = virsh("net-list", "--name").stdout.split()
        assert net in listed                      # defined and active
        xml = virsh("net-dumpxml", net).stdout
        assert "<forward" not in xml              # isolated
        assert "<ip address='%s.1' prefix='24'" % p in xml
        assert re.search(r"<bridge name='virbr\d+'", xml), xml   # named by libvirt
        assert "<dhcp>" not in xml
        sid = ec2.create_subnet(VpcId=vid, CidrBlock=p + ".16/28")["Subnet"]["SubnetId"]
        xml = virsh("net-dumpxml", net).stdout
        assert "<range start='%s.20' end='%s.30'/>" % (p, p) in xml, xml
        # Live: the running network's definition says so too.
        assert p + ".20" in virsh("net-dumpxml", "--inactive", net).stdout
        ec2.delete_subnet(SubnetId=sid)
        assert "<range" not in virsh("net-dumpxml", net).stdout
    finally:
        ec2.delete_vpc(VpcId=vid)
    assert net not in virsh("net-list", "--all", "--name").stdout.split()


def test_vpc_block_used_by_another_libvirt_network(sysgw, tmp_path):
    """A block that a network cloudgate does not own already has (an
    operator's, or a VPC left by a killed gateway) is refused with
    InvalidVpc.Range naming that network, not libvirt's internal error;
    nothing is defined."""
    ec2 = sysgw.client()
    p = free_block24("10.216.0", URI)
    name = "cgtest-other-%s" % sysgw.port
    xml = tmp_path / "net.xml"
    xml.write_text("<network><name>%s</name><ip address='%s.1' prefix='24'/></network>"
                   % (name, p))
    virsh("net-define", str(xml))
    try:
        before = virsh("net-list", "--all", "--name").stdout.split()
        with pytest.raises(ec2.exceptions.ClientError) as e:
            ec2.create_vpc(CidrBlock=p + ".128/25")
        err = e.value.response["Error"]
        assert err["Code"] == "InvalidVpc.Range", err
        assert name in err["Message"] and "cloudgate-a" in err["Message"], err
        assert virsh("net-list", "--all", "--name").stdout.split() == before
        # Once that network is gone the block is free.
        virsh("net-undefine", name)
        vid = ec2.create_vpc(CidrBlock=p + ".128/25")["Vpc"]["VpcId"]
        ec2.delete_vpc(VpcId=vid)
    finally:
        virsh("net-undefine", name, check=False)
