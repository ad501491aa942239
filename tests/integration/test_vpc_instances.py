"""Instances in subnets: RunInstances with SubnetId / NetworkInterface.1,
DescribeInstances' vpcId, subnetId and networkInterfaceSet, the vpc-id and
subnet-id filters, DescribeNetworkInterfaces, DependencyViolation while an
instance uses a subnet, zones that disagree.

The domain's NIC is checked in libvirt itself: a private libvirtd (as in
test_reconnect.py, stopped by PID) serves test:///default, one world shared
by all its connections, so virsh sees what the gateway defined."""
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile

import botocore.exceptions
import pytest

from cgharness import Gateway, wait_for
from conftest import NODE, wait_running
from test_reconnect import VIRSH, PrivateLibvirtd, _why_no_private_libvirtd


def error(fn, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn(**kw)
    return e.value.response["Error"]["Code"]


def instance(ec2, iid):
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def ids_of(ec2, **kw):
    return {i["InstanceId"] for r in ec2.describe_instances(**kw)["Reservations"]
            for i in r["Instances"]}


def test_launch_in_subnet(gw, ec2):
    vid = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.90.1.0/24")["Subnet"]["SubnetId"]
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1, InstanceType="m1.small",
                          SubnetId=sid)
    iid = r["Instances"][0]["InstanceId"]
    assert r["Instances"][0]["SubnetId"] == sid and r["Instances"][0]["VpcId"] == vid
    other = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                              InstanceType="m1.small")["Instances"][0]["InstanceId"]
    try:
        inst = instance(ec2, iid)
        assert inst["VpcId"] == vid and inst["SubnetId"] == sid
        nics = inst["NetworkInterfaces"]
        assert len(nics) == 1
        nic = nics[0]
        assert nic["NetworkInterfaceId"] == "eni-" + iid[2:]
        assert nic["SubnetId"] == sid and nic["VpcId"] == vid
        assert nic["Attachment"]["DeviceIndex"] == 0
        assert nic["Attachment"]["Status"] == "attached"
        assert re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", nic["MacAddress"])
        # An instance launched without a subnet is in the default VPC.
        dvpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        assert instance(ec2, other)["VpcId"] == dvpc[0]["VpcId"]

        assert ids_of(ec2, Filters=[{"Name": "vpc-id", "Values": [vid]}]) == {iid}
        assert ids_of(ec2, Filters=[{"Name": "subnet-id", "Values": [sid]}]) == {iid}
        assert other in ids_of(ec2, Filters=[{"Name": "vpc-id", "Values": [dvpc[0]["VpcId"]]}])

        enis = ec2.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["NetworkInterfaces"]
        assert [e["NetworkInterfaceId"] for e in enis] == [nic["NetworkInterfaceId"]]
        assert enis[0]["Attachment"]["InstanceId"] == iid
        assert enis[0]["AvailabilityZone"] == "cloudgate-a"
        for flt, want in [("vpc-id", vid), ("subnet-id", sid),
                          ("network-interface-id", nic["NetworkInterfaceId"])]:
            got = ec2.describe_network_interfaces(
                Filters=[{"Name": flt, "Values": [want]}])["NetworkInterfaces"]
            assert [e["Attachment"]["InstanceId"] for e in got] == [iid], flt
        got = ec2.describe_network_interfaces(NetworkInterfaceIds=[nic["NetworkInterfaceId"]])
        assert len(got["NetworkInterfaces"]) == 1
        assert error(ec2.describe_network_interfaces,
                     NetworkInterfaceIds=["eni-0123456789abcdef0"]) \
            == "InvalidNetworkInterfaceID.NotFound"
        assert error(ec2.describe_network_interfaces, NetworkInterfaceIds=["eni-x"]) \
            == "InvalidNetworkInterfaceID.Malformed"

        sub = ec2.describe_subnets(SubnetIds=[sid])["Subnets"][0]
        assert sub["AvailableIpAddressCount"] == 251 - 1
        assert error(ec2.delete_subnet, SubnetId=sid) == "DependencyViolation"
        assert error(ec2.delete_vpc, VpcId=vid) == "DependencyViolation"
    finally:
        ec2.terminate_instances(InstanceIds=[iid, other])
    # A terminated instance holds no address and no interface.
    assert ec2.describe_subnets(SubnetIds=[sid])["Subnets"][0]["AvailableIpAddressCount"] == 251
    assert not ec2.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["NetworkInterfaces"]
    ec2.delete_subnet(SubnetId=sid)
    ec2.delete_vpc(VpcId=vid)


def test_launch_subnet_errors(gw, ec2):
    vid = ec2.create_vpc(CidrBlock="10.91.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.91.1.0/24")["Subnet"]["SubnetId"]
    before = ids_of(ec2)
    run = dict(ImageId=gw.image_id, MinCount=1, MaxCount=1, InstanceType="m1.small")
    try:
        assert error(ec2.run_instances, SubnetId="subnet-0123456789abcdef0", **run) \
            == "InvalidSubnetID.NotFound"
        assert error(ec2.run_instances, SubnetId="subnet-nope", **run) \
            == "InvalidSubnetID.Malformed"
        assert error(ec2.run_instances, SubnetId=sid, NetworkInterfaces=[
            {"DeviceIndex": 0, "SubnetId": sid}], **run) == "InvalidParameterCombination"
        assert error(ec2.run_instances, NetworkInterfaces=[
            {"DeviceIndex": 1, "SubnetId": sid}], **run) == "InvalidParameterValue"
        assert error(ec2.run_instances, NetworkInterfaces=[
            {"DeviceIndex": 0, "SubnetId": sid}, {"DeviceIndex": 1, "SubnetId": sid}], **run) \
            == "UnsupportedOperation"
        assert error(ec2.run_instances, SubnetId=sid, DryRun=True, **run) == "DryRunOperation"
        assert ids_of(ec2) == before
        # NetworkInterface.1 is the other way to name the subnet.
        r = ec2.run_instances(NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": sid}], **run)
        iid = r["Instances"][0]["InstanceId"]
        assert instance(ec2, iid)["SubnetId"] == sid
        ec2.terminate_instances(InstanceIds=[iid])
    finally:
        ec2.delete_subnet(SubnetId=sid)
        ec2.delete_vpc(VpcId=vid)


def test_subnet_zone_must_match_placement():
    uri = "test://" + NODE
    g = Gateway(zones=[("cloudgate-a", uri), ("cloudgate-b", uri)], domain_type="test")
    r = g.admin("image-register", "--name", "demo", "--volume", "demo.qcow2")
    g.image_id = r.stdout.strip().split()[-1]
    g.start()
    try:
        ec2 = g.client()
        subs = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
        assert sorted(s["AvailabilityZone"] for s in subs["Subnets"]) \
            == ["cloudgate-a", "cloudgate-b"]
        vid = ec2.create_vpc(CidrBlock="10.92.0.0/16")["Vpc"]["VpcId"]
        sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.92.1.0/24",
                                AvailabilityZone="cloudgate-b")["Subnet"]["SubnetId"]
        run = dict(ImageId=g.image_id, MinCount=1, MaxCount=1, InstanceType="m1.small")
        assert error(ec2.run_instances, SubnetId=sid,
                     Placement={"AvailabilityZone": "cloudgate-a"}, **run) \
            == "InvalidParameterCombination"
        # Without Placement the subnet decides the zone.
        inst = ec2.run_instances(SubnetId=sid, **run)["Instances"][0]
        assert inst["Placement"]["AvailabilityZone"] == "cloudgate-b"
        ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])
        ec2.delete_subnet(SubnetId=sid)
        ec2.delete_vpc(VpcId=vid)
    finally:
        assert g.stop() == 0, g.log_text()


@pytest.fixture
def shared_libvirtd(monkeypatch):
    """A private libvirtd serving test:///default, held open by one virsh."""
    why = _why_no_private_libvirtd()
    if why:
        pytest.skip("cannot run a private libvirtd: " + why)
    monkeypatch.setenv("LIBVIRT_AUTOSTART", "0")
    top = tempfile.mkdtemp(prefix="cg-vpc-")
    os.chmod(top, 0o755)
    lvd = PrivateLibvirtd(top)
    lvd.write_node()
    lvd.start()
    lvd.uri = "test+unix:///default?socket=" + lvd.sock
    # The default world lives while a connection to it does.
    hold = subprocess.Popen([VIRSH, "-q", "-c", lvd.uri], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, LIBVIRT_AUTOSTART="0"))
    try:
        hold.stdin.write("echo connected\n")
        hold.stdin.flush()
        assert "connected" in hold.stdout.readline()
        net = os.path.join(top, "net.xml")
        with open(net, "w") as f:
            f.write("<network><name>cloudgate-isolated</name><ip address='192.168.250.1' "
                    "netmask='255.255.255.0'><dhcp><range start='192.168.250.10' "
                    "end='192.168.250.200'/></dhcp></ip></network>")
        lvd.virsh("net-define", net)
        lvd.virsh("net-start", "cloudgate-isolated")
        lvd.virsh("pool-define-as", "cloudgate", "dir", "--target", "/var/lib/cloudgate/pool")
        lvd.virsh("pool-start", "cloudgate")
        lvd.virsh("vol-create-as", "cloudgate", "demo.qcow2", "512M", "--format", "qcow2")
        yield lvd
    finally:
        hold.stdin.close()
        hold.wait(timeout=30)
        lvd.stop()
        shutil.rmtree(top, ignore_errors=True)


def test_instance_nic_on_vpc_network(shared_libvirtd):
    lvd = shared_libvirtd
    g = Gateway(zones=[("cloudgate-a", lvd.uri)], domain_type="test")
    r = g.admin("image-register", "--name", "demo", "--volume", "demo.qcow2")
    g.image_id = r.stdout.strip().split()[-1]
    g.start()
    try:
        ec2 = g.client()
        vpc = ec2.create_vpc(CidrBlock="10.93.0.0/16")["Vpc"]
        vid = vpc["VpcId"]
        net = "cg-" + vid
        # An isolated network (no <forward>), the VPC's first address as gateway.
        xml = virsh(lvd, "net-dumpxml", net)
        assert "<forward" not in xml
        assert re.search(r"<ip address='10\.93\.0\.1' prefix='16'", xml), xml
        assert "<range" not in xml      # no DHCP until a subnet exists
        sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.93.1.0/24")["Subnet"]["SubnetId"]
        xml = virsh(lvd, "net-dumpxml", net)
        assert "<range start='10.93.1.4' end='10.93.1.254'/>" in xml, xml
        iid = ec2.run_instances(ImageId=g.image_id, MinCount=1, MaxCount=1,
                                InstanceType="t2.micro", SubnetId=sid)["Instances"][0]["InstanceId"]
        wait_running(ec2, [iid])   # the domain is defined by the launch worker
        dom = virsh(lvd, "dumpxml", iid)
        assert re.search(r"<source network='%s'" % re.escape(net), dom), dom
        mac = instance(ec2, iid)["NetworkInterfaces"][0]["MacAddress"]
        assert "<mac address='%s'/>" % mac in dom
        default = ec2.run_instances(ImageId=g.image_id, MinCount=1, MaxCount=1,
                                    InstanceType="t2.micro")["Instances"][0]["InstanceId"]
        wait_running(ec2, [default])
        assert "<source network='cloudgate-isolated'" in virsh(lvd, "dumpxml", default)
        ec2.terminate_instances(InstanceIds=[iid, default])
        ec2.delete_subnet(SubnetId=sid)
        assert "<range" not in virsh(lvd, "net-dumpxml", net)
        ec2.delete_vpc(VpcId=vid)
        assert net not in virsh(lvd, "net-list", "--all", "--name").split()

        # Crash leftovers, reconciled at the next start.  A create that died
        # between defining its network and writing its row left an intent:
        # the network goes.  A network nobody announced (another gateway's)
        # stays.  A VPC whose network was removed behind our back goes.
        kept = ec2.create_vpc(CidrBlock="10.95.0.0/16")["Vpc"]["VpcId"]
        removed = ec2.create_vpc(CidrBlock="10.96.0.0/16")["Vpc"]["VpcId"]
        for name, block in (("cg-vpc-0123456789abcdef0", "10.94"),
                            ("cg-vpc-0fedcba9876543210", "10.97")):
            path = os.path.join(g.dir, name + ".xml")
            with open(path, "w") as f:
                f.write("<network><name>%s</name><ip address='%s.0.1' prefix='16'/></network>"
                        % (name, block))
            lvd.virsh("net-define", path)
        assert g.stop() == 0
        db = sqlite3.connect(os.path.join(g.dir, "state", "cloudgate.db"))
        db.execute("INSERT INTO intents (name, kind, zone, data, created) VALUES"
                   " (?, 'vpc-network', 'cloudgate-a', ?, 0)",
                   ("cg-vpc-0123456789abcdef0@cloudgate-a", "cg-vpc-0123456789abcdef0"))
        db.commit()
        db.close()
        lvd.virsh("net-destroy", "cg-" + removed)
        lvd.virsh("net-undefine", "cg-" + removed)
        g.start()
        ec2 = g.client()
        wait_for("zone available", lambda: ec2.describe_availability_zones()[
            "AvailabilityZones"][0]["State"] == "available", 30, 0.2)
        nets = virsh(lvd, "net-list", "--all", "--name").split()
        assert "cg-vpc-0123456789abcdef0" not in nets
        assert "cg-vpc-0fedcba9876543210" in nets
        assert "cg-" + kept in nets
        assert [v["VpcId"] for v in ec2.describe_vpcs(VpcIds=[kept])["Vpcs"]] == [kept]
        assert error(ec2.describe_vpcs, VpcIds=[removed]) == "InvalidVpcID.NotFound"
        ec2.delete_vpc(VpcId=kept)
    finally:
        assert g.stop() == 0, g.log_text()


def virsh(lvd, *args):
    return lvd.virsh(*args).stdout
