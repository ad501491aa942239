"""Security groups as libvirt nwfilters on qemu:///system, without guests:
CreateSecurityGroup defines "cg-sg-<id>", Authorize/Revoke redefine it with
the rules (same UUID: a redefinition, not a new filter), DeleteSecurityGroup
undefines it; every VPC's default group has its filter.  Skipped when
qemu:///system has no nwfilter driver."""
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from cgharness import Gateway, free_block24, gateway_filters, ipset_members, remove_filters

URI = "qemu:///system"


def virsh(*args, check=True):
    r = subprocess.run(["virsh", "-q", "-c", URI] + list(args), capture_output=True, text=True,
                       timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("virsh %s: %s" % (" ".join(args), r.stderr))
    return r


def rules(xml):
    """(direction, protocol, sorted attributes) of each <rule>."""
    out = []
    for r in ET.fromstring(xml).findall("rule"):
        assert r.get("action") == "accept" and r.get("priority") == "500"
        p = r[0]
        out.append((r.get("direction"), p.tag, tuple(sorted(p.attrib.items()))))
    return out


def filters():
    return set(virsh("nwfilter-list").stdout.split()[1::2])


@pytest.fixture(scope="module")
def sggw():
    try:
        if virsh("nwfilter-list", check=False).returncode != 0:
            pytest.skip("no nwfilter driver on " + URI)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip("no %s: %s" % (URI, e))
    g = Gateway(zones=[("cloudgate-a", URI)], domain_type="qemu")
    try:
        g.start()
        yield g
        assert g.stop() == 0, g.log_text()
    finally:
        g.stop()
        # This gateway's state (and so its default groups) ends with it: so
        # do the filters it made, named by its database, not by a listing
        # (another gateway may be using this libvirtd).
        left = remove_filters(g)
    assert left == [] and not set(gateway_filters(g)) & filters(), left


def test_group_filters_follow_the_rules(sggw):
    ec2 = sggw.client()
    dflt = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    assert "cg-sg-" + dflt["GroupId"] in filters()
    gid = ec2.create_security_group(GroupName="sys-web", Description="system test")["GroupId"]
    name = "cg-sg-" + gid
    try:
        xml = virsh("nwfilter-dumpxml", name).stdout
        uuid = re.search(r"<uuid>([0-9a-f-]+)</uuid>", xml).group(1)
        # The default egress rule: everything out, state-tracked.
        everything_out = ("out", "all", (("state", "NEW"),))
        assert rules(xml) == [everything_out]
        t0 = time.monotonic()
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "udp", "FromPort": 5000, "ToPort": 5010,
             "IpRanges": [{"CidrIp": "192.168.7.0/24"}]}])
        took = time.monotonic() - t0
        print("authorize on a filter no NIC uses: %.3f s" % took)
        xml = virsh("nwfilter-dumpxml", name).stdout
        assert re.search(r"<uuid>([0-9a-f-]+)</uuid>", xml).group(1) == uuid
        ssh = ("in", "tcp", (("dstportend", "22"), ("dstportstart", "22"),
                             ("srcipaddr", "10.0.0.0"), ("srcipmask", "8"), ("state", "NEW")))
        udp = ("in", "udp", (("dstportend", "5010"), ("dstportstart", "5000"),
                             ("srcipaddr", "192.168.7.0"), ("srcipmask", "24"),
                             ("state", "NEW")))
        assert rules(xml) == [everything_out, ssh, udp]
        ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        xml = virsh("nwfilter-dumpxml", name).stdout
        assert rules(xml) == [everything_out, udp]
        # A refused change leaves the filter as it was.
        with pytest.raises(ec2.exceptions.ClientError):
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
                {"IpProtocol": "udp", "FromPort": 5000, "ToPort": 5010,
                 "IpRanges": [{"CidrIp": "192.168.7.0/24"}]}])
        assert virsh("nwfilter-dumpxml", name).stdout == xml
    finally:
        ec2.delete_security_group(GroupId=gid)
    assert name not in filters()


def test_new_vpc_default_group_filter(sggw):
    ec2 = sggw.client()
    vid = ec2.create_vpc(CidrBlock=free_block24("10.215.0") + ".0/24")["Vpc"]["VpcId"]
    try:
        got = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vid]}])["SecurityGroups"]
        [g] = got
        name = "cg-sg-" + g["GroupId"]
        xml = virsh("nwfilter-dumpxml", name).stdout
        # The self rule names the group's own set (lv_sg_ipset.h): members
        # come and go in the set, the filter stays as it is.  No member
        # has an address yet: the set is empty and lets nobody in.
        assert rules(xml) == [("in", "all", (("ipset", name), ("ipsetflags", "src"),
                                             ("state", "NEW"))),
                              ("out", "all", (("state", "NEW"),))]
        assert ipset_members(name) == []
    finally:
        ec2.delete_vpc(VpcId=vid)
    # The VPC's groups go at the next listing, and their filters and sets
    # with them.
    assert not ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vid]}])["SecurityGroups"]
    assert name not in filters()
    assert ipset_members(name) is None
    assert ipset_members(name + "-t") is None    # nor its swap partner
