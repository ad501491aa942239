"""CIMI Networks and NetworkPorts, and a machine's network and security groups,
on the real daemon over libvirt's test:// driver.  The VPC, subnet, security
group and instances are made through EC2 (boto3 and the aws CLI), then read
through /cimi in JSON and XML (every XML answer validated against DSP8009):
one Network per VPC with its subnets as properties, one NetworkPort per
instance interface, $filter / $select / $expand, 404 for unknown ids and 405
for every mutation (nothing changed by them)."""
import botocore.exceptions
import pytest
import requests

from cgharness import wait_for
from test_cimi import JSON, NS, XML, Cimi

P = "{%s}" % NS


@pytest.fixture(scope="module")
def cimi(gw):
    return Cimi(gw)


@pytest.fixture(scope="module")
def world(gw):
    """A VPC (tagged Name=cnet-lab) with a subnet, a security group made with
    the aws CLI, an instance in them and one in the default VPC."""
    ec2 = gw.client()
    vid = ec2.create_vpc(CidrBlock="10.91.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vid], Tags=[{"Key": "Name", "Value": "cnet-lab"},
                                           {"Key": "team", "Value": "net"}])
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.91.1.0/24")["Subnet"]["SubnetId"]
    gid = gw.aws("create-security-group", "--group-name", "cnet-web",
                 "--description", "cimi networks test", "--vpc-id", vid)["GroupId"]
    inst = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                             InstanceType="m1.small", SubnetId=sid,
                             SecurityGroupIds=[gid])["Instances"][0]
    other = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                              InstanceType="m1.small")["Instances"][0]
    iid, oid = inst["InstanceId"], other["InstanceId"]
    wait_for("instances running", lambda: all(
        i["State"]["Name"] == "running"
        for r in ec2.describe_instances(InstanceIds=[iid, oid])["Reservations"]
        for i in r["Instances"]), 60)
    dvpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    yield {"vpc": vid, "subnet": sid, "group": gid, "instance": iid, "other": oid,
           "default_vpc": dvpc["VpcId"]}
    ec2.terminate_instances(InstanceIds=[iid, oid])
    wait_for("instances terminated", lambda: all(
        i["State"]["Name"] == "terminated"
        for r in ec2.describe_instances(InstanceIds=[iid, oid])["Reservations"]
        for i in r["Instances"]), 60)
    ec2.delete_security_group(GroupId=gid)
    ec2.delete_subnet(SubnetId=sid)
    ec2.delete_vpc(VpcId=vid)


def instance(ec2, iid):
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def props_xml(elem):
    return {p.get("name"): p.text for p in elem.findall(P + "property")}


def test_entry_point_links(gw, cimi):
    cep = cimi.json("/cimi/cloudEntryPoint")
    base = gw.endpoint + "/cimi/"
    assert cep["networks"]["href"] == base + "networks"
    assert cep["networkPorts"]["href"] == base + "networkPorts"
    root = cimi.xml("/cimi/cloudEntryPoint")
    assert root.find(P + "networks").get("href") == base + "networks"
    assert root.find(P + "networkPorts").get("href") == base + "networkPorts"


def test_networks_one_per_vpc(gw, ec2, cimi, world):
    base = gw.endpoint + "/cimi/"
    coll = cimi.json("/cimi/networks")
    assert coll["resourceURI"] == NS + "/NetworkCollection"
    assert coll["id"] == base + "networks"
    vpcs = {v["VpcId"]: v for v in ec2.describe_vpcs()["Vpcs"]}
    nets = {n["id"].rsplit("/", 1)[-1]: n for n in coll["networks"]}
    assert set(nets) == set(vpcs) and coll["count"] == len(vpcs)
    assert "operations" not in coll  # read-only: no "add"

    net = nets[world["vpc"]]
    assert net["resourceURI"] == NS + "/Network"
    assert net["name"] == "cnet-lab"
    assert net["state"] == "STARTED" and net["networkType"] == "PRIVATE"
    assert net["classOfService"]
    assert "operations" not in net
    p = net["properties"]
    assert p["cidr"] == "10.91.0.0/16" and p["isDefault"] == "false"
    assert p["team"] == "net" and "Name" not in p
    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [world["vpc"]]}])["Subnets"]}
    assert p["subnets"].split(",") == list(subnets) == [world["subnet"]]
    assert p["subnet.%s.cidr" % world["subnet"]] == "10.91.1.0/24"
    assert p["subnet.%s.zone" % world["subnet"]] == subnets[world["subnet"]]["AvailabilityZone"]
    assert net["networkPorts"]["href"] == base + "networks/%s/networkPorts" % world["vpc"]

    dflt = nets[world["default_vpc"]]
    assert dflt["properties"]["isDefault"] == "true"
    assert dflt["properties"]["cidr"] == vpcs[world["default_vpc"]]["CidrBlock"]
    # The default VPC's subnets (one per zone) are its properties, not the lab's.
    dsubs = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [world["default_vpc"]]}])["Subnets"]]
    assert sorted(dflt["properties"]["subnets"].split(",")) == sorted(dsubs)

    # The single entry is the same, in JSON and in XML.
    assert cimi.json("/cimi/networks/" + world["vpc"]) == net
    root = cimi.xml("/cimi/networks/" + world["vpc"])
    assert root.tag == P + "Network"
    assert root.find(P + "name").text == "cnet-lab"
    assert root.find(P + "state").text == "STARTED"
    assert props_xml(root)["cidr"] == "10.91.0.0/16"
    root = cimi.xml("/cimi/networks")
    assert root.tag == P + "Collection"
    assert root.get("resourceURI") == NS + "/NetworkCollection"
    assert len(root.findall(P + "Network")) == len(vpcs)


def test_networks_query(cimi, world):
    def ids(**params):
        coll = cimi.json("/cimi/networks", params=params)
        return coll["count"], sorted(n["id"].rsplit("/", 1)[-1] for n in coll["networks"])

    assert ids(**{"$filter": "name='cnet-lab'"}) == (1, [world["vpc"]])
    assert ids(**{"$filter": "property['isDefault']='true'"}) == (1, [world["default_vpc"]])
    assert ids(**{"$filter": "property['cidr']='10.91.0.0/16' and state='STARTED'"}) == (
        1, [world["vpc"]])
    assert ids(**{"$filter": "name='no-such-network'"}) == (0, [])
    coll = cimi.json("/cimi/networks", params={"$filter": "name='cnet-lab'",
                                               "$select": "name,networkType"})
    assert coll["networks"] == [{"resourceURI": NS + "/Network", "name": "cnet-lab",
                                 "networkType": "PRIVATE"}]
    root = cimi.xml("/cimi/networks", params={"$filter": "name='cnet-lab'", "$select": "state"})
    [net] = root.findall(P + "Network")
    assert [c.tag for c in net] == [P + "state"]
    one = cimi.json("/cimi/networks/" + world["vpc"], params={"$select": "cidr,state"})
    assert one == {"resourceURI": NS + "/Network", "state": "STARTED"}
    # Paging and order: count is the filtered whole.
    coll = cimi.json("/cimi/networks", params={"$orderby": "name", "$first": "1",
                                               "$last": "1"})
    assert coll["count"] >= 2 and len(coll["networks"]) == 1
    r = cimi.get("/cimi/networks?$filter=name%3D")
    assert r.status_code == 400 and "$filter" in r.json()["message"]


def test_network_ports(gw, ec2, cimi, world):
    base = gw.endpoint + "/cimi/"
    inst = instance(ec2, world["instance"])
    [nic] = inst["NetworkInterfaces"]
    eni = nic["NetworkInterfaceId"]
    coll = cimi.json("/cimi/networkPorts")
    assert coll["resourceURI"] == NS + "/NetworkPortCollection"
    assert "operations" not in coll
    ports = {p["name"]: p for p in coll["networkPorts"]}
    live = {i["NetworkInterfaceId"] for i in ec2.describe_network_interfaces()[
        "NetworkInterfaces"]}
    assert set(ports) == live and coll["count"] == len(live)
    assert eni in ports
    port = ports[eni]
    assert port["id"] == base + "networkPorts/" + eni
    assert port["resourceURI"] == NS + "/NetworkPort"
    assert port["state"] == "STARTED" and port["portType"] == "ACCESS"
    assert port["network"]["href"] == base + "networks/" + world["vpc"]
    p = port["properties"]
    assert p["mac"] == nic["MacAddress"]
    assert p["subnet"] == world["subnet"]
    assert p["machine"] == base + "machines/" + world["instance"]
    assert p["securityGroups"] == world["group"]
    assert p["securityGroup." + world["group"]] == "cnet-web"
    if nic.get("PrivateIpAddress"):
        assert p["ip"] == nic["PrivateIpAddress"]
    assert "operations" not in port

    root = cimi.xml("/cimi/networkPorts/" + eni)
    assert root.tag == P + "NetworkPort"
    assert root.find(P + "network").get("href") == base + "networks/" + world["vpc"]
    assert props_xml(root)["mac"] == nic["MacAddress"]

    # The port of the instance in the default VPC is on the default network.
    other = instance(ec2, world["other"])["NetworkInterfaces"][0]["NetworkInterfaceId"]
    assert ports[other]["network"]["href"] == base + "networks/" + world["default_vpc"]
    flt = cimi.json("/cimi/networkPorts",
                    params={"$filter": "property['subnet']='%s'" % world["subnet"]})
    assert [q["name"] for q in flt["networkPorts"]] == [eni]
    # A port's network reference expands to the Network itself.
    exp = cimi.json("/cimi/networkPorts/" + eni, params={"$expand": "network"})
    assert exp["network"]["href"] == base + "networks/" + world["vpc"]
    assert exp["network"]["name"] == "cnet-lab"
    root = cimi.xml("/cimi/networkPorts/" + eni, params={"$expand": "*"})
    assert root.find(P + "network/" + P + "name").text == "cnet-lab"
    everything = cimi.json("/cimi/networks", params={"$expand": "*"})
    assert sum(n["networkPorts"]["count"] for n in everything["networks"]) == len(live)
    cimi.xml("/cimi/networks", params={"$expand": "*"})
    sel = cimi.json("/cimi/networkPorts/" + eni, params={"$select": "state"})
    assert sel == {"resourceURI": NS + "/NetworkPort", "state": "STARTED"}

    # A network's ports: only those in its VPC; $expand inlines them.
    sub = cimi.json("/cimi/networks/%s/networkPorts" % world["vpc"])
    assert sub["resourceURI"] == NS + "/NetworkPortCollection"
    assert [q["name"] for q in sub["networkPorts"]] == [eni]
    assert other in [q["name"] for q in cimi.json(
        "/cimi/networks/%s/networkPorts" % world["default_vpc"])["networkPorts"]]
    cimi.xml("/cimi/networks/%s/networkPorts" % world["vpc"])
    net = cimi.json("/cimi/networks/" + world["vpc"], params={"$expand": "networkPorts"})
    assert net["networkPorts"]["count"] == 1
    assert net["networkPorts"]["networkPorts"][0]["name"] == eni
    cimi.xml("/cimi/networks/" + world["vpc"], params={"$expand": "networkPorts"})


def test_machine_network_and_groups(gw, ec2, cimi, world):
    base = gw.endpoint + "/cimi/"
    iid = world["instance"]
    nic = instance(ec2, iid)["NetworkInterfaces"][0]
    m = cimi.json("/cimi/machines/" + iid)
    assert m["properties"]["securityGroups"] == world["group"]
    assert m["properties"]["securityGroup." + world["group"]] == "cnet-web"
    [ni] = m["networkInterfaces"]["networkInterfaces"]
    assert ni["network"]["href"] == base + "networks/" + world["vpc"]
    assert ni["networkPort"]["href"] == base + "networkPorts/" + nic["NetworkInterfaceId"]
    sub = cimi.json("/cimi/machines/%s/networkInterfaces" % iid)
    assert sub["networkInterfaces"] == m["networkInterfaces"]["networkInterfaces"]
    root = cimi.xml("/cimi/machines/%s/networkInterfaces" % iid)
    assert root.find(P + "NetworkInterface/" + P + "networkPort").get("href") == \
        base + "networkPorts/" + nic["NetworkInterfaceId"]
    assert props_xml(cimi.xml("/cimi/machines/" + iid))["securityGroups"] == world["group"]
    # Filter machines by group membership.
    flt = cimi.json("/cimi/machines", params={
        "$filter": "property['securityGroup.%s']='cnet-web'" % world["group"]})
    assert [x["id"] for x in flt["machines"]] == [base + "machines/" + iid]

    # A change of groups through EC2 shows at once.
    dflt = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [world["vpc"]]},
        {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
    ec2.modify_instance_attribute(InstanceId=iid, Groups=[world["group"], dflt])
    try:
        p = cimi.json("/cimi/machines/" + iid)["properties"]
        assert sorted(p["securityGroups"].split(",")) == sorted([world["group"], dflt])
        assert p["securityGroup." + dflt] == "default"
        port = cimi.json("/cimi/networkPorts/" + nic["NetworkInterfaceId"])
        assert port["properties"]["securityGroup." + dflt] == "default"
    finally:
        ec2.modify_instance_attribute(InstanceId=iid, Groups=[world["group"]])

    # A machine read and PUT back: the group properties do not become tags.
    m = cimi.json("/cimi/machines/" + iid)
    props = dict(m["properties"], env="lab")
    props["securityGroup.sg-00000000000000000"] = "bogus"
    r = requests.put(gw.endpoint + "/cimi/machines/" + iid, auth=cimi.auth,
                     json={"resourceURI": NS + "/Machine", "properties": props},
                     headers={"Accept": JSON}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["securityGroups"] == world["group"]
    assert "securityGroup.sg-00000000000000000" not in r.json()["properties"]
    tags = {t["Key"]: t["Value"] for t in instance(ec2, iid).get("Tags", [])}
    assert tags.get("env") == "lab"
    assert not any(k.startswith("securityGroup") for k in tags), tags


@pytest.mark.parametrize("path", ["networks/vpc-00000000000000000",
                                  "networks/nope",
                                  "networkPorts/eni-00000000000000000",
                                  "networks/vpc-00000000000000000/networkPorts",
                                  "networks/{vpc}/nothing",
                                  "networks/{vpc}/networkPorts/x",
                                  "networks/" + "v" * 300,
                                  "networks/%s/networkPorts" % ("v" * 100),
                                  "networkPorts/eni-%00",
                                  "networks/vpc-'%20or%20'1'%3D'1"])
def test_unknown_is_404(cimi, world, path):
    path = path.format(vpc=world["vpc"])
    for accept in (JSON, XML):
        r = cimi.get("/cimi/" + path, accept)
        assert r.status_code == 404, (path, r.text)


def test_mutations_are_405(gw, ec2, cimi, world):
    eni = instance(ec2, world["instance"])["NetworkInterfaces"][0]["NetworkInterfaceId"]
    before_vpcs = ec2.describe_vpcs()["Vpcs"]
    before_ports = cimi.json("/cimi/networkPorts")
    body = {"resourceURI": NS + "/NetworkCreate", "name": "x",
            "networkTemplate": {"networkConfig": {"networkType": "PRIVATE"}}}
    cases = [("POST", "networks"), ("PUT", "networks"), ("DELETE", "networks"),
             ("POST", "networks/" + world["vpc"]), ("PUT", "networks/" + world["vpc"]),
             ("DELETE", "networks/" + world["vpc"]),
             ("POST", "networks/%s/networkPorts" % world["vpc"]),
             ("DELETE", "networks/%s/networkPorts" % world["vpc"]),
             ("POST", "networkPorts"), ("DELETE", "networkPorts/" + eni),
             ("PUT", "networkPorts/" + eni), ("POST", "networkPorts/" + eni)]
    for method, path in cases:
        for accept in (JSON, XML):
            r = requests.request(method, gw.endpoint + "/cimi/" + path, auth=cimi.auth,
                                 json=body, headers={"Accept": accept}, timeout=30)
            assert r.status_code == 405, (method, path, r.text)
            assert r.headers["Allow"] == "GET", (method, path)
    assert ec2.describe_vpcs()["Vpcs"] == before_vpcs
    assert cimi.json("/cimi/networkPorts") == before_ports
    # Without credentials: 401 before anything else.
    r = requests.delete(gw.endpoint + "/cimi/networks/" + world["vpc"], timeout=30)
    assert r.status_code == 401


def test_networks_follow_ec2(gw, ec2, cimi, world):
    """A VPC made with the aws CLI is a Network at once and gone once
    deleted; a new instance's port comes and goes with it."""
    vid = gw.aws("create-vpc", "--cidr-block", "10.93.0.0/16")["Vpc"]["VpcId"]
    try:
        net = cimi.json("/cimi/networks/" + vid)
        assert net["name"] == vid  # no Name tag: the id
        assert net["properties"]["cidr"] == "10.93.0.0/16"
        assert "subnets" not in net["properties"]
        assert cimi.json("/cimi/networks/%s/networkPorts" % vid)["count"] == 0
    finally:
        gw.aws("delete-vpc", "--vpc-id", vid)
    assert cimi.get("/cimi/networks/" + vid).status_code == 404

    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="m1.small", SubnetId=world["subnet"])[
        "Instances"][0]["InstanceId"]
    eni = "eni-" + iid[2:]
    try:
        assert cimi.json("/cimi/networkPorts/" + eni)["network"]["href"].endswith(world["vpc"])
        assert cimi.json("/cimi/networks/%s/networkPorts" % world["vpc"])["count"] == 2
        # Launched without groups: its VPC's default group.
        p = cimi.json("/cimi/machines/" + iid)["properties"]
        assert p[("securityGroup." + p["securityGroups"])] == "default"
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
    wait_for("instance terminated",
             lambda: instance(ec2, iid)["State"]["Name"] == "terminated", 60)
    assert cimi.get("/cimi/networkPorts/" + eni).status_code == 404
    assert cimi.json("/cimi/networks/%s/networkPorts" % world["vpc"])["count"] == 1


def test_errors_through_ec2_leave_cimi_unchanged(gw, ec2, cimi, world):
    """EC2 refusals (aws CLI and boto3) change nothing CIMI shows."""
    before = cimi.json("/cimi/networks")
    r = gw.aws("create-subnet", "--vpc-id", world["vpc"], "--cidr-block",
               "10.99.0.0/24", check=False)
    assert r.returncode != 0 and "InvalidSubnet.Range" in r.stderr, r.stderr
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.delete_vpc(VpcId=world["vpc"])
    assert e.value.response["Error"]["Code"] == "DependencyViolation"
    assert cimi.json("/cimi/networks") == before
