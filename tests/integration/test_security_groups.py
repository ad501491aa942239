"""Security groups (test:// driver, which has no nwfilter: the EC2 bookkeeping
only; tests/system/test_sg_filters_qemu.py checks the filters on
qemu:///system): every VPC's default group, Create/Delete/Describe,
Authorize/Revoke Ingress/Egress, DescribeSecurityGroupRules, their errors,
with boto3 and the aws CLI."""
import botocore.exceptions
import pytest


def code_of(exc_info):
    return exc_info.value.response["Error"]["Code"]


def error(fn, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn(**kw)
    return code_of(e)


def default_vpc_id(ec2):
    return ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
        "Vpcs"][0]["VpcId"]


def group(ec2, gid):
    return ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]


def perm(proto, lo=None, hi=None, cidrs=(), groups=(), desc=None):
    p = {"IpProtocol": proto}
    if lo is not None:
        p["FromPort"] = lo
    if hi is not None:
        p["ToPort"] = hi
    if cidrs:
        p["IpRanges"] = [dict({"CidrIp": c}, **({"Description": desc} if desc else {}))
                         for c in cidrs]
    if groups:
        p["UserIdGroupPairs"] = [{"GroupId": g} for g in groups]
    return p


@pytest.fixture
def sg(ec2):
    made = []

    def make(name, vpc=None, desc="test group"):
        kw = {"GroupName": name, "Description": desc}
        if vpc:
            kw["VpcId"] = vpc
        gid = ec2.create_security_group(**kw)["GroupId"]
        made.append(gid)
        return gid
    yield make
    for gid in reversed(made):
        try:
            ec2.delete_security_group(GroupId=gid)
        except botocore.exceptions.ClientError:
            pass


def test_default_group_of_default_vpc(ec2):
    vpc = default_vpc_id(ec2)
    got = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])
    [g] = got["SecurityGroups"]
    assert g["GroupId"].startswith("sg-")
    # Members reach each other; all egress is allowed.
    assert g["IpPermissions"] == [{
        "IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
        "UserIdGroupPairs": [{"GroupId": g["GroupId"], "UserId": g["OwnerId"]}]}]
    assert g["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    # By name alone: the default VPC's group.
    by_name = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    assert [x["GroupId"] for x in by_name] == [g["GroupId"]]
    assert error(ec2.delete_security_group, GroupId=g["GroupId"]) == "CannotDelete"
    assert error(ec2.delete_security_group, GroupName="default") == "CannotDelete"


def test_new_vpc_gets_default_group(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.91.0.0/16")["Vpc"]["VpcId"]
    try:
        got = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
        assert [g["GroupName"] for g in got] == ["default"]
        gid = ec2.create_security_group(GroupName="web", Description="w", VpcId=vpc)["GroupId"]
        # The same name in another VPC is fine; twice in one VPC is not.
        other = ec2.create_security_group(GroupName="web", Description="w")["GroupId"]
        assert error(ec2.create_security_group, GroupName="web", Description="w",
                     VpcId=vpc) == "InvalidGroup.Duplicate"
        assert error(ec2.create_security_group, GroupName="default", Description="w",
                     VpcId=vpc) == "InvalidGroup.Duplicate"
        # A group of another VPC may not be a source.
        assert error(ec2.authorize_security_group_ingress, GroupId=gid,
                     IpPermissions=[perm("-1", groups=[other])]) == "InvalidParameterValue"
        ec2.delete_security_group(GroupId=other)
        # A VPC with a group of its own (not its default one) stays.
        assert error(ec2.delete_vpc, VpcId=vpc) == "DependencyViolation"
        ec2.delete_security_group(GroupId=gid)
    finally:
        ec2.delete_vpc(VpcId=vpc)
    # The VPC's groups went with it.
    assert not ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]


def test_create_describe_delete(ec2, sg):
    r = ec2.create_security_group(
        GroupName="web tier", Description="web (public) #1",
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": [{"Key": "Name", "Value": "w"}]}])
    gid = r["GroupId"]
    assert r["Tags"] == [{"Key": "Name", "Value": "w"}]
    g = group(ec2, gid)
    assert g["GroupName"] == "web tier" and g["Description"] == "web (public) #1"
    assert g["VpcId"] == default_vpc_id(ec2)
    # AWS's default egress rule, no ingress.
    assert g["IpPermissions"] == []
    assert [p["IpProtocol"] for p in g["IpPermissionsEgress"]] == ["-1"]
    assert g["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert g["Tags"] == [{"Key": "Name", "Value": "w"}]
    ec2.create_tags(Resources=[gid], Tags=[{"Key": "tier", "Value": "front"}])
    got = ec2.describe_security_groups(Filters=[{"Name": "tag:tier", "Values": ["front"]}])
    assert [x["GroupId"] for x in got["SecurityGroups"]] == [gid]
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [gid]}])["Tags"]
    assert {t["Key"] for t in tags} == {"Name", "tier"}
    assert all(t["ResourceType"] == "security-group" for t in tags)
    ec2.delete_security_group(GroupId=gid)
    assert error(ec2.describe_security_groups, GroupIds=[gid]) == "InvalidGroup.NotFound"
    assert error(ec2.delete_security_group, GroupId=gid) == "InvalidGroup.NotFound"
    # By name, in the default VPC.
    sg("byname")
    ec2.delete_security_group(GroupName="byname")
    assert error(ec2.delete_security_group, GroupName="byname") == "InvalidGroup.NotFound"


@pytest.mark.parametrize("kw, code", [
    ({"GroupName": "", "Description": "d"}, "MissingParameter"),
    ({"GroupName": "x", "Description": ""}, "MissingParameter"),
    ({"GroupName": "x" * 256, "Description": "d"}, "InvalidParameterValue"),
    ({"GroupName": "x", "Description": "d" * 256}, "InvalidParameterValue"),
    ({"GroupName": "caf\u00e9", "Description": "d"}, "InvalidParameterValue"),
    ({"GroupName": "a<b>", "Description": "d"}, "InvalidParameterValue"),
    ({"GroupName": "x", "Description": "line\nbreak"}, "InvalidParameterValue"),
    ({"GroupName": "sg-1234", "Description": "d"}, "InvalidParameterValue"),
    ({"GroupName": "x", "Description": "d", "VpcId": "vpc-nope"}, "InvalidVpcID.Malformed"),
    ({"GroupName": "x", "Description": "d", "VpcId": "vpc-0123456789abcdef0"},
     "InvalidVpcID.NotFound"),
    ({"GroupName": "x", "Description": "d", "TagSpecifications": [
        {"ResourceType": "security-group", "Tags": [{"Key": "aws:x", "Value": "y"}]}]},
     "InvalidParameterValue"),
])
def test_create_refused(ec2, kw, code):
    before = len(ec2.describe_security_groups()["SecurityGroups"])
    assert error(ec2.create_security_group, **kw) == code
    assert len(ec2.describe_security_groups()["SecurityGroups"]) == before


def test_authorize_revoke_ingress(ec2, sg):
    gid = sg("ingress")
    src = sg("source")
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        perm("tcp", 22, 22, cidrs=["10.0.0.0/8", "192.168.1.0/24"], desc="ssh"),
        perm("udp", 5000, 5010, cidrs=["0.0.0.0/0"]),
        perm("icmp", 8, -1, cidrs=["10.1.0.0/16"]),
        perm("-1", groups=[src])])
    g = group(ec2, gid)
    by_proto = {p["IpProtocol"]: p for p in g["IpPermissions"]}
    assert set(by_proto) == {"tcp", "udp", "icmp", "-1"}
    assert by_proto["tcp"]["FromPort"] == 22 and by_proto["tcp"]["ToPort"] == 22
    assert by_proto["tcp"]["IpRanges"] == [{"CidrIp": "10.0.0.0/8", "Description": "ssh"},
                                           {"CidrIp": "192.168.1.0/24", "Description": "ssh"}]
    assert by_proto["icmp"]["FromPort"] == 8 and by_proto["icmp"]["ToPort"] == -1
    assert [p["GroupId"] for p in by_proto["-1"]["UserIdGroupPairs"]] == [src]
    # Numbers mean the same protocols: a duplicate.
    assert error(ec2.authorize_security_group_ingress, GroupId=gid,
                 IpPermissions=[perm("6", 22, 22, cidrs=["10.0.0.0/8"])]) \
        == "InvalidPermission.Duplicate"
    # All or nothing: one new rule with one duplicate adds neither.
    assert error(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=[
        perm("tcp", 80, 80, cidrs=["0.0.0.0/0"]),
        perm("tcp", 22, 22, cidrs=["10.0.0.0/8"])]) == "InvalidPermission.Duplicate"
    assert 80 not in [p.get("FromPort") for p in group(ec2, gid)["IpPermissions"]]
    # A source group in use by a rule cannot go.
    assert error(ec2.delete_security_group, GroupId=src) == "DependencyViolation"
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[
        perm("tcp", 22, 22, cidrs=["10.0.0.0/8"]), perm("-1", groups=[src])])
    g = group(ec2, gid)
    by_proto = {p["IpProtocol"]: p for p in g["IpPermissions"]}
    assert set(by_proto) == {"tcp", "udp", "icmp"}
    assert by_proto["tcp"]["IpRanges"] == [{"CidrIp": "192.168.1.0/24", "Description": "ssh"}]
    assert error(ec2.revoke_security_group_ingress, GroupId=gid,
                 IpPermissions=[perm("tcp", 22, 22, cidrs=["10.0.0.0/8"])]) \
        == "InvalidPermission.NotFound"
    ec2.delete_security_group(GroupId=src)
    # The older top-level form (IpProtocol, ports, CidrIp).
    ec2.authorize_security_group_ingress(GroupId=gid, IpProtocol="tcp", FromPort=443,
                                         ToPort=443, CidrIp="172.16.0.0/12")
    assert any(p.get("FromPort") == 443 for p in group(ec2, gid)["IpPermissions"])


def test_authorize_revoke_egress(ec2, sg):
    gid = sg("egress")
    everything = perm("-1", cidrs=["0.0.0.0/0"])
    ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[everything])
    assert group(ec2, gid)["IpPermissionsEgress"] == []
    r = ec2.authorize_security_group_egress(
        GroupId=gid, IpPermissions=[perm("tcp", 443, 443, cidrs=["10.2.0.0/16"])])
    assert r["Return"] is True
    [rule] = r["SecurityGroupRules"]
    assert rule["IsEgress"] is True and rule["CidrIpv4"] == "10.2.0.0/16"
    assert rule["SecurityGroupRuleId"].startswith("sgr-")
    [p] = group(ec2, gid)["IpPermissionsEgress"]
    assert (p["IpProtocol"], p["FromPort"], p["ToPort"]) == ("tcp", 443, 443)
    assert error(ec2.authorize_security_group_egress, GroupId=gid,
                 IpPermissions=[perm("tcp", 443, 443, cidrs=["10.2.0.0/16"])]) \
        == "InvalidPermission.Duplicate"
    assert error(ec2.revoke_security_group_egress, GroupId=gid,
                 IpPermissions=[everything]) == "InvalidPermission.NotFound"


@pytest.mark.parametrize("p, code", [
    (perm("tcp", 22, 22, cidrs=["10.0.0.0/33"]), "InvalidParameterValue"),
    (perm("tcp", 22, 22, cidrs=["10.0.0.1/8"]), "InvalidParameterValue"),
    (perm("tcp", 22, 22, cidrs=["not-a-cidr"]), "InvalidParameterValue"),
    (perm("tcp", 0, 65536, cidrs=["10.0.0.0/8"]), "InvalidParameterValue"),
    (perm("tcp", -1, 22, cidrs=["10.0.0.0/8"]), "InvalidParameterValue"),
    (perm("tcp", 80, 22, cidrs=["10.0.0.0/8"]), "InvalidParameterValue"),
    (perm("tcp", cidrs=["10.0.0.0/8"]), "InvalidParameterValue"),
    (perm("udp", 53, None, cidrs=["10.0.0.0/8"]), "InvalidParameterValue"),
    (perm("icmp", 256, -1, cidrs=["10.0.0.0/8"]), "InvalidParameterValue"),
    (perm("icmp", -1, 3, cidrs=["10.0.0.0/8"]), "InvalidParameterValue"),
    (perm("gre", cidrs=["10.0.0.0/8"]), "InvalidParameterValue"),
    (perm("tcp", 22, 22), "InvalidParameterValue"),
    (perm("-1", groups=["sg-0123456789abcdef0"]), "InvalidGroup.NotFound"),
    (perm("-1", groups=["sg-bad"]), "InvalidGroupId.Malformed"),
    ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2,
      "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}, "InvalidParameterValue"),
    (perm("tcp", 22, 22, cidrs=["10.0.0.0/8"], desc="bad\u00e9"), "InvalidParameterValue"),
    (perm("tcp", 22, 22, cidrs=["10.0.0.0/8"], desc="x" * 256), "InvalidParameterValue"),
])
def test_bad_permissions(ec2, sg, p, code):
    gid = sg("bad")
    before = group(ec2, gid)
    assert error(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=[p]) == code
    assert group(ec2, gid) == before


def test_group_errors(ec2):
    p = [perm("tcp", 22, 22, cidrs=["10.0.0.0/8"])]
    assert error(ec2.authorize_security_group_ingress, GroupId="sg-0123456789abcdef0",
                 IpPermissions=p) == "InvalidGroup.NotFound"
    assert error(ec2.authorize_security_group_ingress, GroupId="sg-xyz",
                 IpPermissions=p) == "InvalidGroupId.Malformed"
    assert error(ec2.authorize_security_group_egress, GroupId="sg-0123456789abcdef0",
                 IpPermissions=p) == "InvalidGroup.NotFound"
    assert error(ec2.delete_security_group, GroupId="sg-bad") == "InvalidGroupId.Malformed"
    assert error(ec2.describe_security_groups, GroupIds=["sg-bad"]) \
        == "InvalidGroupId.Malformed"
    assert error(ec2.describe_security_groups, GroupNames=["no-such-group"]) \
        == "InvalidGroup.NotFound"
    assert error(ec2.describe_security_group_rules, SecurityGroupRuleIds=["sgr-nope"]) \
        == "InvalidSecurityGroupRuleId.Malformed"
    assert error(ec2.describe_security_group_rules,
                 SecurityGroupRuleIds=["sgr-0123456789abcdef0"]) \
        == "InvalidSecurityGroupRuleId.NotFound"
    assert error(ec2.describe_security_groups, Filters=[{"Name": "nope", "Values": ["x"]}]) \
        == "InvalidParameterValue"


def test_rule_limit(ec2, sg):
    gid = sg("limit")
    many = [perm("tcp", 1000 + i, 1000 + i, cidrs=["10.0.0.0/8"]) for i in range(60)]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=many)
    assert error(ec2.authorize_security_group_ingress, GroupId=gid,
                 IpPermissions=[perm("tcp", 1, 1, cidrs=["10.0.0.0/8"])]) \
        == "RulesPerSecurityGroupLimitExceeded"
    assert len(group(ec2, gid)["IpPermissions"]) == 60


def test_dry_run(ec2, sg):
    gid = sg("dry")
    assert error(ec2.create_security_group, GroupName="d2", Description="d",
                 DryRun=True) == "DryRunOperation"
    assert error(ec2.authorize_security_group_ingress, GroupId=gid, DryRun=True,
                 IpPermissions=[perm("tcp", 1, 1, cidrs=["10.0.0.0/8"])]) == "DryRunOperation"
    assert group(ec2, gid)["IpPermissions"] == []
    assert error(ec2.delete_security_group, GroupId=gid, DryRun=True) == "DryRunOperation"
    assert error(ec2.describe_security_groups, GroupNames=["d2"]) == "InvalidGroup.NotFound"


def test_describe_filters_and_pages(ec2, sg):
    a = sg("filt-a", desc="alpha")
    b = sg("filt-b", desc="beta")
    ec2.authorize_security_group_ingress(GroupId=a, IpPermissions=[
        perm("tcp", 8080, 8080, cidrs=["10.9.0.0/16"])])

    def ids(*filters):
        got = ec2.describe_security_groups(Filters=list(filters))["SecurityGroups"]
        return sorted(g["GroupId"] for g in got if g["GroupId"] in (a, b))
    assert ids({"Name": "group-name", "Values": ["filt-*"]}) == sorted([a, b])
    assert ids({"Name": "group-id", "Values": [b]}) == [b]
    assert ids({"Name": "description", "Values": ["alpha"]}) == [a]
    assert ids({"Name": "ip-permission.protocol", "Values": ["tcp"]}) == [a]
    assert ids({"Name": "ip-permission.from-port", "Values": ["8080"]}) == [a]
    assert ids({"Name": "ip-permission.to-port", "Values": ["8080"]}) == [a]
    assert ids({"Name": "ip-permission.cidr", "Values": ["10.9.0.0/16"]}) == [a]
    assert ids({"Name": "ip-permission.cidr", "Values": ["10.8.0.0/16"]}) == []
    assert ids({"Name": "egress.ip-permission.cidr", "Values": ["0.0.0.0/0"]}) == sorted([a, b])
    assert ids({"Name": "tag-key", "Values": ["none"]}) == []
    # Pages of 5 cover every group once.
    total = len(ec2.describe_security_groups()["SecurityGroups"])
    seen = []
    for page in ec2.get_paginator("describe_security_groups").paginate(
            PaginationConfig={"PageSize": 5}):
        assert len(page["SecurityGroups"]) <= 5
        seen += [g["GroupId"] for g in page["SecurityGroups"]]
    assert len(seen) == len(set(seen)) == total
    # Rules: by group and by rule id.
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [a]}])["SecurityGroupRules"]
    assert sorted((r["IsEgress"], r["IpProtocol"]) for r in rules) == [
        (False, "tcp"), (True, "-1")]
    rid = [r for r in rules if not r["IsEgress"]][0]["SecurityGroupRuleId"]
    one = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])["SecurityGroupRules"]
    assert [(r["GroupId"], r["FromPort"], r["CidrIpv4"]) for r in one] == [
        (a, 8080, "10.9.0.0/16")]
    one = ec2.describe_security_group_rules(Filters=[
        {"Name": "security-group-rule-id", "Values": [rid]}])["SecurityGroupRules"]
    assert [r["SecurityGroupRuleId"] for r in one] == [rid]
    # Rules carry tags of their own.
    ec2.create_tags(Resources=[rid], Tags=[{"Key": "why", "Value": "proxy"}])
    one = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])["SecurityGroupRules"]
    assert one[0]["Tags"] == [{"Key": "why", "Value": "proxy"}]
    one = ec2.describe_security_group_rules(Filters=[
        {"Name": "tag:why", "Values": ["proxy"]}])["SecurityGroupRules"]
    assert [r["SecurityGroupRuleId"] for r in one] == [rid]
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [rid]}])["Tags"]
    assert [(t["ResourceType"], t["Key"]) for t in tags] == [("security-group-rule", "why")]
    assert error(ec2.create_tags, Resources=["sgr-0123456789abcdef0"],
                 Tags=[{"Key": "a", "Value": "b"}]) == "InvalidSecurityGroupRuleId.NotFound"
    ec2.delete_tags(Resources=[rid], Tags=[{"Key": "why"}])
    one = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])["SecurityGroupRules"]
    assert one[0]["Tags"] == []


def test_hostile_parameters(ec2, sg):
    gid = sg("hostile")
    # Many permissions at once are refused before anything is written.
    many = [perm("tcp", i, i, cidrs=["10.0.0.0/8"]) for i in range(1, 200)]
    assert error(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=many) \
        == "RulesPerSecurityGroupLimitExceeded"
    assert group(ec2, gid)["IpPermissions"] == []
    assert error(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
         "IpRanges": [{"CidrIp": "10.0.0.0/8' OR 1=1 --"}]}]) == "InvalidParameterValue"
    assert error(ec2.create_security_group, GroupName="x'); DROP TABLE security_groups; --",
                 Description="d") == "InvalidParameterValue"
    assert ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]


def test_aws_cli(gw):
    vpc = gw.aws("describe-vpcs", "--filters", "Name=is-default,Values=true")["Vpcs"][0]
    gid = gw.aws("create-security-group", "--group-name", "cli", "--description",
                 "from the cli")["GroupId"]
    gw.aws("authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
           "--port", "22", "--cidr", "10.0.0.0/8")
    gw.aws("authorize-security-group-ingress", "--group-id", gid, "--ip-permissions",
           "IpProtocol=udp,FromPort=53,ToPort=53,IpRanges=[{CidrIp=10.1.0.0/16}]")
    g = gw.aws("describe-security-groups", "--group-ids", gid)["SecurityGroups"][0]
    assert g["VpcId"] == vpc["VpcId"]
    assert sorted((p["IpProtocol"], p["FromPort"]) for p in g["IpPermissions"]) == [
        ("tcp", 22), ("udp", 53)]
    r = gw.aws("authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
               "--port", "22", "--cidr", "10.0.0.0/8", check=False)
    assert r.returncode != 0 and "InvalidPermission.Duplicate" in r.stderr
    r = gw.aws("authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
               "--port", "22", "--cidr", "10.0.0.0/99", check=False)
    assert r.returncode != 0 and "InvalidParameterValue" in r.stderr
    rules = gw.aws("describe-security-group-rules", "--filters",
                   "Name=group-id,Values=" + gid)["SecurityGroupRules"]
    assert len(rules) == 3
    gw.aws("revoke-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
           "--port", "22", "--cidr", "10.0.0.0/8")
    r = gw.aws("revoke-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
               "--port", "22", "--cidr", "10.0.0.0/8", check=False)
    assert r.returncode != 0 and "InvalidPermission.NotFound" in r.stderr
    gw.aws("revoke-security-group-egress", "--group-id", gid, "--ip-permissions",
           "IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]")
    gw.aws("authorize-security-group-egress", "--group-id", gid, "--ip-permissions",
           "IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{CidrIp=10.3.0.0/16}]")
    g = gw.aws("describe-security-groups", "--group-ids", gid)["SecurityGroups"][0]
    assert [(p["IpProtocol"], p["FromPort"]) for p in g["IpPermissionsEgress"]] == [
        ("tcp", 443)]
    r = gw.aws("create-security-group", "--group-name", "cli", "--description", "again",
               check=False)
    assert r.returncode != 0 and "InvalidGroup.Duplicate" in r.stderr
    gw.aws("delete-security-group", "--group-id", gid)
    r = gw.aws("describe-security-groups", "--group-ids", gid, check=False)
    assert r.returncode != 0 and "InvalidGroup.NotFound" in r.stderr
    dflt = gw.aws("describe-security-groups", "--group-names", "default")["SecurityGroups"][0]
    r = gw.aws("delete-security-group", "--group-id", dflt["GroupId"], check=False)
    assert r.returncode != 0 and "CannotDelete" in r.stderr
