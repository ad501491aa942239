"""Tags on every taggable kind (instances, images, volumes, snapshots, key
pairs, import tasks): CreateTags / DeleteTags / DescribeTags and TagSpecification at
creation, through boto3 and the real /usr/bin/aws, on the real daemon
(libvirt's test:// driver).  Each test names its own resources, so the
module's one gateway can be shared."""
import os
import shutil
import subprocess
import tempfile

import pytest
from botocore.exceptions import ClientError

from cgharness import wait_for
from conftest import wait_running, make_gateway

MISSING = {
    "i-0123456789abcdef0": "InvalidInstanceID.NotFound",
    "ami-0123456789abcdef0": "InvalidAMIID.NotFound",
    "vol-0123456789abcdef0": "InvalidVolume.NotFound",
    "snap-0123456789abcdef0": "InvalidSnapshot.NotFound",
    "key-0123456789abcdef0": "InvalidKeyPair.NotFound",
    "import-ami-0123456789abcdef0": "InvalidConversionTaskId.Malformed",
}


def code(e):
    return e.value.response["Error"]["Code"]


def spec(rtype, **tags):
    return [{"ResourceType": rtype, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def tag_dict(tags):
    return {t["Key"]: t["Value"] for t in tags or []}


@pytest.fixture(scope="module")
def disk():
    d = tempfile.mkdtemp(prefix="cg-tags-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "disk.qcow2")
    subprocess.run(["qemu-img", "create", "-f", "qcow2", path, "16M"], check=True,
                   capture_output=True)
    yield d, path
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def gw(disk):
    g = make_gateway(extra_gateway="import_dirs = %s\n" % disk[0])
    yield g
    assert g.stop() == 0, g.log_text()


@pytest.fixture
def ec2(gw):
    return gw.client()


def tags_of(ec2, rid):
    r = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [rid]}])
    return {t["Key"]: (t["Value"], t["ResourceType"]) for t in r["Tags"]}


def new_volume(ec2, **kw):
    return ec2.create_volume(Size=1, AvailabilityZone="cloudgate-a", **kw)["VolumeId"]


def import_task(ec2, path, **kw):
    return ec2.import_image(DiskContainers=[{"Format": "qcow2", "Url": "file://" + path}],
                            **kw)


def aws_error(gw, *args):
    r = gw.aws(*args, check=False)
    assert r.returncode != 0, r.stdout
    return r.stderr


def test_volume_tags(ec2, gw):
    vid = new_volume(ec2, TagSpecifications=spec("volume", Name="data", env="dev"))
    vol = ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
    assert tag_dict(vol["Tags"]) == {"Name": "data", "env": "dev"}
    assert tags_of(ec2, vid) == {"Name": ("data", "volume"), "env": ("dev", "volume")}

    ec2.create_tags(Resources=[vid], Tags=[{"Key": "env", "Value": "prod"},
                                           {"Key": "owner", "Value": ""}])
    assert tags_of(ec2, vid) == {"Name": ("data", "volume"), "env": ("prod", "volume"),
                                 "owner": ("", "volume")}
    # DeleteTags with a value deletes only that value; without, the key.
    ec2.delete_tags(Resources=[vid], Tags=[{"Key": "env", "Value": "dev"}])
    assert "env" in tags_of(ec2, vid)
    ec2.delete_tags(Resources=[vid], Tags=[{"Key": "env"}])
    assert set(tags_of(ec2, vid)) == {"Name", "owner"}

    # The aws CLI, same store.
    gw.aws("create-tags", "--resources", vid, "--tags", "Key=cli,Value=yes")
    out = gw.aws("describe-tags", "--filters", "Name=resource-id,Values=" + vid)
    assert {t["Key"]: t["Value"] for t in out["Tags"]} == {"Name": "data", "owner": "",
                                                          "cli": "yes"}
    assert {t["ResourceType"] for t in out["Tags"]} == {"volume"}
    gw.aws("delete-tags", "--resources", vid, "--tags", "Key=cli")
    assert set(tags_of(ec2, vid)) == {"Name", "owner"}

    # A cloudgate: key is a plain tag on a volume: it can go again.
    ec2.delete_tags(Resources=[vid])
    other = new_volume(ec2, TagSpecifications=spec("volume", **{"cloudgate:x": "1"}))
    assert tags_of(ec2, other) == {"cloudgate:x": ("1", "volume")}
    ec2.delete_tags(Resources=[other], Tags=[{"Key": "cloudgate:x"}])
    assert tags_of(ec2, other) == {}
    ec2.delete_volume(VolumeId=other)
    with pytest.raises(ClientError) as e:
        ec2.delete_tags(Resources=[gw.image_id], Tags=[{"Key": "cloudgate:display"}])
    assert code(e) == "InvalidParameterValue"

    # CreateVolume makes volumes only; the aws CLI's TagSpecification.
    before = len(ec2.describe_volumes()["Volumes"])
    with pytest.raises(ClientError) as e:
        new_volume(ec2, TagSpecifications=spec("instance", a="b"))
    assert code(e) == "InvalidParameterValue"
    assert "InvalidParameterValue" in aws_error(
        gw, "create-volume", "--size", "1", "--availability-zone", "cloudgate-a",
        "--tag-specifications", "ResourceType=snapshot,Tags=[{Key=a,Value=b}]")
    assert len(ec2.describe_volumes()["Volumes"]) == before
    cli_vol = gw.aws("create-volume", "--size", "1", "--availability-zone", "cloudgate-a",
                     "--tag-specifications", "ResourceType=volume,Tags=[{Key=via,Value=cli}]")
    assert tags_of(ec2, cli_vol["VolumeId"]) == {"via": ("cli", "volume")}
    ec2.delete_volume(VolumeId=cli_vol["VolumeId"])

    # Deleting the volume deletes its tags.
    ec2.create_tags(Resources=[vid], Tags=[{"Key": "last", "Value": "1"}])
    ec2.delete_volume(VolumeId=vid)
    assert tags_of(ec2, vid) == {}
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=[vid], Tags=[{"Key": "a", "Value": "b"}])
    assert code(e) == "InvalidVolume.NotFound"


def test_snapshot_tags(ec2, gw):
    vid = new_volume(ec2)
    sid = ec2.create_snapshot(VolumeId=vid, TagSpecifications=spec("snapshot", Name="nightly"))[
        "SnapshotId"]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid],
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert tags_of(ec2, sid) == {"Name": ("nightly", "snapshot")}
    ec2.create_tags(Resources=[sid, vid], Tags=[{"Key": "team", "Value": "db"}])
    snap = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
    assert tag_dict(snap["Tags"]) == {"Name": "nightly", "team": "db"}
    r = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["snapshot"]},
                                   {"Name": "key", "Values": ["team"]}])
    assert [(t["ResourceId"], t["Value"]) for t in r["Tags"]] == [(sid, "db")]
    out = gw.aws("describe-tags", "--filters", "Name=resource-id,Values=" + sid)
    assert {t["Key"] for t in out["Tags"]} == {"Name", "team"}
    gw.aws("delete-tags", "--resources", sid, "--tags", "Key=Name")
    assert tags_of(ec2, sid) == {"team": ("db", "snapshot")}
    # The snapshot's tags go with it.
    ec2.delete_snapshot(SnapshotId=sid)
    assert tags_of(ec2, sid) == {}
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=[sid], Tags=[{"Key": "a", "Value": "b"}])
    assert code(e) == "InvalidSnapshot.NotFound"
    ec2.delete_volume(VolumeId=vid)


def test_key_pair_tags(ec2, gw, disk):
    kp = ec2.create_key_pair(KeyName="tags-kp", TagSpecifications=spec("key-pair", team="ops"))
    kid = kp["KeyPairId"]
    assert kid.startswith("key-")
    assert tags_of(ec2, kid) == {"team": ("ops", "key-pair")}

    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName="tags-kp-2", TagSpecifications=spec("volume", a="b"))
    assert code(e) == "InvalidParameterValue"
    assert "tags-kp-2" not in [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]

    ec2.create_tags(Resources=[kid], Tags=[{"Key": "Name", "Value": "deploy"}])
    desc = ec2.describe_key_pairs(KeyNames=["tags-kp"])["KeyPairs"][0]
    assert tag_dict(desc["Tags"]) == {"team": "ops", "Name": "deploy"}
    ec2.delete_tags(Resources=[kid], Tags=[{"Key": "team"}])
    assert tags_of(ec2, kid) == {"Name": ("deploy", "key-pair")}

    # ImportKeyPair with TagSpecification, through the aws CLI.
    key = os.path.join(disk[0], "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    out = gw.aws("import-key-pair", "--key-name", "tags-imported",
                 "--public-key-material", "fileb://" + key + ".pub",
                 "--tag-specifications",
                 "ResourceType=key-pair,Tags=[{Key=origin,Value=imported}]")
    assert tags_of(ec2, out["KeyPairId"]) == {"origin": ("imported", "key-pair")}
    err = aws_error(gw, "import-key-pair", "--key-name", "tags-imported-2",
                    "--public-key-material", "fileb://" + key + ".pub",
                    "--tag-specifications", "ResourceType=volume,Tags=[{Key=a,Value=b}]")
    assert "InvalidParameterValue" in err
    assert "tags-imported-2" not in [k["KeyName"] for k in
                                     ec2.describe_key_pairs()["KeyPairs"]]

    # Deleting the key pair deletes its tags.
    ec2.delete_key_pair(KeyName="tags-kp")
    ec2.delete_key_pair(KeyName="tags-imported")
    assert tags_of(ec2, kid) == {}
    assert tags_of(ec2, out["KeyPairId"]) == {}
    with pytest.raises(ClientError) as e:
        ec2.delete_tags(Resources=[kid])
    assert code(e) == "InvalidKeyPair.NotFound"


def test_instance_and_image_tags(ec2, gw):
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                          BlockDeviceMappings=[
                              {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}},
                              {"DeviceName": "/dev/sdg", "Ebs": {"VolumeSize": 1,
                                                                 "DeleteOnTermination": False}}],
                          TagSpecifications=spec("instance", Name="web")
                          + spec("volume", disk="data"))
    iid = r["Instances"][0]["InstanceId"]
    assert tag_dict(r["Instances"][0].get("Tags")) == {"Name": "web"}
    wait_running(ec2, [iid])   # its volumes are made by the launch
    assert tags_of(ec2, iid) == {"Name": ("web", "instance")}
    # The volumes the launch made carry the volume tags (the root disk is
    # no volume resource here).
    vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                          "Values": [iid]}])["Volumes"]
    assert len(vols) == 2
    for v in vols:
        assert tag_dict(v["Tags"]) == {"disk": "data"}
        assert tags_of(ec2, v["VolumeId"]) == {"disk": ("data", "volume")}
    kept = [v["VolumeId"] for v in vols
            if not v["Attachments"][0]["DeleteOnTermination"]]
    # Without a mapping, volume tags are accepted and have nothing to tag.
    plain = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                              TagSpecifications=spec("volume", a="b")
                              )["Instances"][0]["InstanceId"]
    assert tags_of(ec2, plain) == {}
    ec2.terminate_instances(InstanceIds=[plain])
    for bad in (spec("key-pair", a="b"), spec("image", a="b")):
        with pytest.raises(ClientError) as e:
            ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                              TagSpecifications=bad)
        assert code(e) == "InvalidParameterValue"

    ec2.stop_instances(InstanceIds=[iid], Force=True)
    ami = ec2.create_image(InstanceId=iid, Name="tags-image",
                           TagSpecifications=spec("image", os="demo"))["ImageId"]
    assert tags_of(ec2, ami) == {"os": ("demo", "image")}
    with pytest.raises(ClientError) as e:
        ec2.create_image(InstanceId=iid, Name="tags-image-2",
                         TagSpecifications=spec("instance", a="b"))
    assert code(e) == "InvalidParameterValue"
    # (the capture holds the instance: tag it once the image is made)
    ec2.get_waiter("image_available").wait(ImageIds=[ami],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    # One CreateTags over two kinds; DescribeTags filters by type.
    ec2.create_tags(Resources=[iid, ami], Tags=[{"Key": "stack", "Value": "blue"}])
    rows = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["stack"]},
                                      {"Name": "resource-id", "Values": [iid, ami]}])["Tags"]
    assert sorted((t["ResourceId"], t["ResourceType"]) for t in rows) == sorted(
        [(iid, "instance"), (ami, "image")])
    assert tags_of(ec2, ami) == {"os": ("demo", "image"), "stack": ("blue", "image")}
    ec2.terminate_instances(InstanceIds=[iid])
    # The volume kept at termination keeps its tags; deleted, they go.
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    wait_for("volume detached", lambda: ec2.describe_volumes(
        VolumeIds=kept)["Volumes"][0]["State"] == "available", 30, 0.5)
    assert tags_of(ec2, kept[0]) == {"disk": ("data", "volume")}
    ec2.delete_volume(VolumeId=kept[0])
    assert tags_of(ec2, kept[0]) == {}
    # A deregistered image's tags go with it.
    ec2.deregister_image(ImageId=ami)
    assert tags_of(ec2, ami) == {}
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=[ami], Tags=[{"Key": "a", "Value": "b"}])
    assert code(e) == "InvalidAMIID.NotFound"


def test_import_task_tags(ec2, gw, disk):
    r = import_task(ec2, disk[1], TagSpecifications=spec("import-image-task", src="file",
                                                           Name="imp"))
    tid = r["ImportTaskId"]
    assert tag_dict(r.get("Tags")) == {"src": "file", "Name": "imp"}
    t = ec2.describe_import_image_tasks(ImportTaskIds=[tid])["ImportImageTasks"][0]
    assert tag_dict(t["Tags"]) == {"src": "file", "Name": "imp"}
    assert tags_of(ec2, tid) == {"src": ("file", "import-image-task"),
                                 "Name": ("imp", "import-image-task")}

    ec2.create_tags(Resources=[tid], Tags=[{"Key": "extra", "Value": "1"}])
    ec2.delete_tags(Resources=[tid], Tags=[{"Key": "Name"}])
    assert set(tags_of(ec2, tid)) == {"src", "extra"}

    # tag:KEY and tag-key filters of DescribeImportImageTasks.
    def ids(filters):
        return [x["ImportTaskId"] for x in
                ec2.describe_import_image_tasks(Filters=filters)["ImportImageTasks"]]
    assert tid in ids([{"Name": "tag:src", "Values": ["file"]}])
    assert tid not in ids([{"Name": "tag:src", "Values": ["glance"]}])
    assert tid in ids([{"Name": "tag-key", "Values": ["extra"]}])
    assert tid not in ids([{"Name": "tag-key", "Values": ["Name"]}])
    out = gw.aws("describe-import-image-tasks", "--filters", "Name=tag:extra,Values=1")
    assert tid in [x["ImportTaskId"] for x in out["ImportImageTasks"]]

    with pytest.raises(ClientError) as e:
        import_task(ec2, disk[1], TagSpecifications=spec("image", a="b"))
    assert code(e) == "InvalidParameterValue"
    # The image made carries the task's TagSpecification tags too.
    wait_for("import " + tid, lambda: ec2.describe_import_image_tasks(
        ImportTaskIds=[tid])["ImportImageTasks"][0]["Status"] != "active", 60, 0.2)
    t = ec2.describe_import_image_tasks(ImportTaskIds=[tid])["ImportImageTasks"][0]
    assert t["Status"] == "completed", t
    img_tags = tag_dict(ec2.describe_images(ImageIds=[t["ImageId"]])["Images"][0]["Tags"])
    # (cloudgate:display is a setting DescribeImages shows as a tag)
    assert {k: v for k, v in img_tags.items() if not k.startswith("cloudgate:")} \
        == {"src": "file", "Name": "imp"}
    # The task keeps its tags once it has ended.
    assert set(tags_of(ec2, tid)) == {"src", "extra"}


def test_errors(ec2, gw):
    vid = new_volume(ec2)
    ok = [{"Key": "k", "Value": "v"}]
    for rid, want in MISSING.items():
        for call in (ec2.create_tags, ec2.delete_tags):
            with pytest.raises(ClientError) as e:
                call(Resources=[rid], Tags=ok)
            assert code(e) == want, rid
            assert rid in e.value.response["Error"]["Message"]
    for rid, want in [("sg-0123456789abcdef0", "InvalidGroup.NotFound"), ("vol-12", "InvalidID"),
                      ("key-xyz", "InvalidID"), ("import-ami-1", "InvalidID"),
                      ("nonsense", "InvalidID"), ("i-zz", "InvalidInstanceID.Malformed"),
                      ("ami-zz", "InvalidAMIID.Malformed"),
                      ("snap-zz", "InvalidSnapshotID.Malformed")]:
        with pytest.raises(ClientError) as e:
            ec2.create_tags(Resources=[rid], Tags=ok)
        assert code(e) == want, rid

    # Nothing changes when any resource or tag is refused.
    for resources, tags, want in [
            ([vid, "vol-0123456789abcdef0"], ok, "InvalidVolume.NotFound"),
            ([vid], [{"Key": "aws:x", "Value": "v"}], "InvalidParameterValue"),
            ([vid], [{"Key": "k" * 129, "Value": "v"}], "InvalidParameterValue"),
            ([vid], [{"Key": "k", "Value": "v" * 257}], "InvalidParameterValue"),
            ([vid], [{"Key": "t%d" % i, "Value": ""} for i in range(51)], "TagLimitExceeded")]:
        with pytest.raises(ClientError) as e:
            ec2.create_tags(Resources=resources, Tags=tags)
        assert code(e) == want
        assert tags_of(ec2, vid) == {}
    # cloudgate:display is a setting of instances and images only.
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"]
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=[iid, vid], Tags=[{"Key": "cloudgate:display", "Value": "vnc"}])
    assert code(e) == "InvalidParameterValue"
    assert tags_of(ec2, vid) == {}
    assert tags_of(ec2, iid) == {}
    ec2.terminate_instances(InstanceIds=[iid])
    # 50 is the limit, counting the tags already there.
    ec2.create_tags(Resources=[vid], Tags=[{"Key": "t%d" % i, "Value": ""} for i in range(49)])
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=[vid], Tags=[{"Key": "x", "Value": ""},
                                               {"Key": "y", "Value": ""}])
    assert code(e) == "TagLimitExceeded"
    ec2.create_tags(Resources=[vid], Tags=[{"Key": "t0", "Value": "again"},
                                           {"Key": "x", "Value": ""}])
    assert len(tags_of(ec2, vid)) == 50
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=[vid], Tags=[{"Key": "t1", "Value": "dry"}], DryRun=True)
    assert code(e) == "DryRunOperation"
    assert tags_of(ec2, vid)["t1"] == ("", "volume")

    # The same errors through the aws CLI.
    assert "InvalidVolume.NotFound" in aws_error(
        gw, "create-tags", "--resources", "vol-0123456789abcdef0", "--tags", "Key=a,Value=b")
    assert "InvalidKeyPair.NotFound" in aws_error(
        gw, "delete-tags", "--resources", "key-0123456789abcdef0")
    assert "InvalidGroup.NotFound" in aws_error(
        gw, "create-tags", "--resources", "sg-0123456789abcdef0", "--tags", "Key=a,Value=b")
    assert "InvalidParameterValue" in aws_error(gw, "describe-tags", "--max-results", "4")
    ec2.delete_volume(VolumeId=vid)


def test_paging_over_mixed_kinds(ec2, gw, disk):
    vid = new_volume(ec2, TagSpecifications=spec("volume", **{"p%d" % i: "v" for i in range(5)}))
    kid = ec2.create_key_pair(KeyName="tags-pager", TagSpecifications=spec(
        "key-pair", **{"p%d" % i: "k" for i in range(4)}))["KeyPairId"]
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            TagSpecifications=spec("instance", p0="i", p1="i", p2="i")
                            )["Instances"][0]["InstanceId"]
    tid = import_task(ec2, disk[1], TagSpecifications=spec("import-image-task", p0="t",
                                                             p1="t"))["ImportTaskId"]
    ec2.create_tags(Resources=[gw.image_id], Tags=[{"Key": "p0", "Value": "a"}])

    # Only this test's resources: others' instances may end meanwhile.
    mine = [{"Name": "resource-id", "Values": [vid, kid, iid, tid, gw.image_id]}]
    want = ec2.describe_tags(Filters=mine)["Tags"]
    keys = [(t["ResourceId"], t["Key"]) for t in want]
    assert len(keys) == len(set(keys)) == 15
    assert {t["ResourceType"] for t in want} == {"volume", "key-pair", "instance",
                                                 "import-image-task", "image"}

    def walk(filters):
        got, token, pages = [], None, 0
        while True:
            kw = {"MaxResults": 5, "Filters": filters}
            if token:
                kw["NextToken"] = token
            r = ec2.describe_tags(**kw)
            assert len(r["Tags"]) <= 5
            got += r["Tags"]
            pages += 1
            token = r.get("NextToken")
            if not token:
                return got, pages
    got, pages = walk(mine)
    assert pages == 3
    assert got == want  # every tag once, in the same stable order
    # Unfiltered: each tag at most once, and all of ours among them.
    every, _ = walk([])
    seen = [(t["ResourceId"], t["Key"]) for t in every]
    assert len(seen) == len(set(seen))
    assert set(keys) <= set(seen)

    # A filtered walk with the paginator.
    pager = ec2.get_paginator("describe_tags").paginate(
        Filters=mine + [{"Name": "key", "Values": ["p*"]}], PaginationConfig={"PageSize": 5})
    walked = [t for page in pager for t in page["Tags"]]
    assert walked == [t for t in want if t["Key"].startswith("p")]
    assert len(walked) == 15

    # The aws CLI follows nextToken itself.
    out = gw.aws("describe-tags", "--page-size", "5", "--filters",
                 "Name=resource-id,Values=%s,%s,%s,%s,%s" % (vid, kid, iid, tid, gw.image_id))
    assert out["Tags"] == want

    for bad in (4, 1001, 0):
        with pytest.raises(ClientError) as e:
            ec2.describe_tags(MaxResults=bad)
        assert code(e) == "InvalidParameterValue"

    ec2.delete_tags(Resources=[gw.image_id], Tags=[{"Key": "p0"}])
    ec2.delete_key_pair(KeyName="tags-pager")
    ec2.delete_volume(VolumeId=vid)
    ec2.terminate_instances(InstanceIds=[iid])
    assert set(tags_of(ec2, tid)) == {"p0", "p1"}


def test_describe_filters(ec2, gw):
    vid = new_volume(ec2, TagSpecifications=spec("volume", role="db-primary", tier="back"))
    kid = ec2.create_key_pair(KeyName="tags-filter",
                              TagSpecifications=spec("key-pair", role="db-admin"))["KeyPairId"]

    def rows(*filters):
        r = ec2.describe_tags(Filters=[{"Name": n, "Values": v} for n, v in filters])
        return sorted((t["ResourceId"], t["Key"], t["Value"]) for t in r["Tags"])

    mine = ("resource-id", [vid, kid])
    assert rows(mine, ("value", ["db-*"])) == sorted([(vid, "role", "db-primary"),
                                                      (kid, "role", "db-admin")])
    assert rows(mine, ("value", ["db-?dmin"])) == [(kid, "role", "db-admin")]
    assert rows(mine, ("resource-type", ["key-pair"])) == [(kid, "role", "db-admin")]
    assert rows(mine, ("resource-type", ["volume"]), ("key", ["tier"])) == [
        (vid, "tier", "back")]
    assert rows(mine, ("key", ["nothing"])) == []
    # tag:KEY picks every tag of the resources whose KEY matches.
    assert rows(mine, ("tag:tier", ["back"])) == sorted([(vid, "role", "db-primary"),
                                                         (vid, "tier", "back")])
    out = gw.aws("describe-tags", "--filters", "Name=resource-type,Values=key-pair",
                 "Name=resource-id,Values=" + kid)
    assert [(t["ResourceId"], t["Key"]) for t in out["Tags"]] == [(kid, "role")]
    with pytest.raises(ClientError) as e:
        ec2.describe_tags(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert code(e) == "InvalidParameterValue"
    ec2.delete_key_pair(KeyName="tags-filter")
    ec2.delete_volume(VolumeId=vid)
