"""Placement capacity on the real daemon (test:// node: 32 GiB, 8 CPUs):
committed memory and vCPUs of every defined instance, stopped ones
included, against the host's totals times the configured overcommit;
concurrent launches never share the last slot; refusals name what is short."""
import concurrent.futures

import botocore.exceptions
import pytest

from conftest import wait_running, make_gateway


@pytest.fixture(scope="module")
def cgw():
    # 32 GiB x 0.5 = 16 GiB; 8 CPUs x 1 = 8 vCPUs.
    g = make_gateway(extra_libvirt="memory_overcommit = 0.5\ncpu_overcommit = 1\n")
    yield g
    assert g.stop() == 0, g.log_text()


def live(ec2):
    return [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] != "terminated"]


def run(ec2, n_min, n_max, itype="t2.micro"):
    insts = ec2.run_instances(ImageId=ec2.image_id, MinCount=n_min, MaxCount=n_max,
                              InstanceType=itype)["Instances"]
    wait_running(ec2, [i["InstanceId"] for i in insts])
    return insts


def refused(ec2, *a):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        run(ec2, *a)
    assert e.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"
    return e.value.response["Error"]["Message"]


def test_committed_capacity_counts_stopped_instances_and_names_the_shortage(cgw):
    ec2 = cgw.client()
    ec2.image_id = cgw.image_id
    six = [i["InstanceId"] for i in run(ec2, 6, 6)]
    ec2.stop_instances(InstanceIds=six[:2], Force=True)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=six[:2],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    before = len(live(ec2))
    # 6 vCPUs committed (2 of them stopped): 3 more do not fit, nothing is made.
    msg = refused(ec2, 3, 3)
    assert "cloudgate-a" in msg and "vCPUs: 2 left of 8" in msg, msg
    assert len(live(ec2)) == before
    # Between MinCount and MaxCount: as many as fit, as AWS does.
    got = run(ec2, 1, 5)
    assert len(got) == 2
    ec2.terminate_instances(InstanceIds=six + [i["InstanceId"] for i in got])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=six,
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    # Memory: t2.large is 8 GiB and 2 vCPUs: two fit, the third is short of memory.
    two = run(ec2, 2, 2, "t2.large")
    msg = refused(ec2, 1, 1, "t2.large")
    assert "memory: 0 MiB left of 32768 MiB x 0.5 overcommit" in msg, msg
    ec2.terminate_instances(InstanceIds=[i["InstanceId"] for i in two])


def test_concurrent_launches_take_each_slot_once(cgw):
    ec2 = cgw.client()
    ec2.image_id = cgw.image_id
    ids = [i["InstanceId"] for i in live(ec2)]
    if ids:
        ec2.terminate_instances(InstanceIds=ids)
        ec2.get_waiter("instance_terminated").wait(
            InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    def one(_):
        c = cgw.client()
        c.image_id = cgw.image_id
        try:
            return len(run(c, 2, 2))    # t2.micro x 2: 4 such launches fit
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "InsufficientInstanceCapacity"
            return 0

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert sorted(results) == [0, 0, 0, 0, 2, 2, 2, 2], results
    assert len(live(ec2)) == 8


def test_aws_cli_reports_the_zone_and_the_shortage(cgw):
    r = cgw.aws("run-instances", "--image-id", cgw.image_id, "--count", "1",
                "--instance-type", "t2.micro", check=False)
    assert r.returncode != 0
    assert "InsufficientInstanceCapacity" in r.stderr and "vCPUs: 0 left of 8" in r.stderr, \
        r.stderr


def test_launches_without_a_zone_spread_to_the_least_committed_zone():
    """Two zones: a launch that names none goes where the least memory is
    committed (the first zone on a tie); one that names a zone goes there."""
    from cgharness import Gateway
    from conftest import NODE
    g = Gateway(zones=[("cloudgate-a", "test://" + NODE), ("cloudgate-b", "test://" + NODE)],
                domain_type="test")
    r = g.admin("image-register", "--name", "demo", "--volume", "demo.qcow2")
    ami = r.stdout.strip().split()[-1]
    g.start()
    try:
        ec2 = g.client()

        def zone_of(inst):
            return inst["Placement"]["AvailabilityZone"]
        first = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                                  InstanceType="t2.micro")["Instances"][0]
        assert zone_of(first) == "cloudgate-a"
        # cloudgate-a now holds 1 GiB, cloudgate-b nothing.
        second = g.aws("run-instances", "--image-id", ami, "--instance-type", "t2.micro",
                       "--count", "1")["Instances"][0]
        assert zone_of(second) == "cloudgate-b"
        # Asked for: cloudgate-b, where a tie (1 GiB each) would have picked cloudgate-a.
        asked = g.aws("run-instances", "--image-id", ami, "--instance-type", "t2.micro",
                      "--placement", "AvailabilityZone=cloudgate-b")["Instances"][0]
        assert zone_of(asked) == "cloudgate-b"
        # b now holds 2 GiB, a 1 GiB: one launch of two goes to a, as a whole.
        big = ec2.run_instances(ImageId=ami, MinCount=2, MaxCount=2,
                                InstanceType="t2.micro")["Instances"]
        assert {zone_of(i) for i in big} == {"cloudgate-a"}
        ids = [first["InstanceId"], second["InstanceId"], asked["InstanceId"]] + \
            [i["InstanceId"] for i in big]
        seen = {i["InstanceId"]: zone_of(i)
                for res in ec2.describe_instances(InstanceIds=ids)["Reservations"]
                for i in res["Instances"]}
        assert sorted(seen.values()) == ["cloudgate-a"] * 3 + ["cloudgate-b"] * 2
        # An unknown zone is refused, nothing made.
        with pytest.raises(botocore.exceptions.ClientError) as e:
            ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro",
                              Placement={"AvailabilityZone": "cloudgate-z"})
        assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
        assert len(live(ec2)) == 5
        ec2.terminate_instances(InstanceIds=ids)
    finally:
        assert g.stop() == 0, g.log_text()


def test_pack_fills_one_zone_then_the_next_and_names_every_shortage():
    """placement = pack: launches that name no zone go to the most committed
    zone with room; a zone without room is passed over; when none has room
    the refusal names each zone and what it is short of."""
    from cgharness import Gateway
    from conftest import NODE
    # 32 GiB x 0.1 = 3.2 GiB per zone: three t2.micro each.
    g = Gateway(zones=[("cloudgate-a", "test://" + NODE), ("cloudgate-b", "test://" + NODE)],
                domain_type="test",
                extra_libvirt="memory_overcommit = 0.1\nplacement = pack\n")
    r = g.admin("image-register", "--name", "demo", "--volume", "demo.qcow2")
    ami = r.stdout.strip().split()[-1]
    g.start()
    try:
        ec2 = g.client()
        zones = []
        for _ in range(4):
            inst = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                                     InstanceType="t2.micro")["Instances"][0]
            zones.append(inst["Placement"]["AvailabilityZone"])
        # a on the tie, a again (most committed) until full, then b.
        assert zones == ["cloudgate-a"] * 3 + ["cloudgate-b"], zones
        # b has room for two more, a for none: three at once fit nowhere.
        with pytest.raises(botocore.exceptions.ClientError) as e:
            ec2.run_instances(ImageId=ami, MinCount=3, MaxCount=3, InstanceType="t2.micro")
        err = e.value.response["Error"]
        assert err["Code"] == "InsufficientInstanceCapacity", err
        assert "zone cloudgate-a has room for 0" in err["Message"], err
        assert "zone cloudgate-b has room for 2" in err["Message"], err
        assert "memory" in err["Message"], err
        assert len(live(ec2)) == 4
        # MaxCount above the room is trimmed, as on one zone: two land in b.
        two = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=3,
                                InstanceType="t2.micro")["Instances"]
        assert [i["Placement"]["AvailabilityZone"] for i in two] == ["cloudgate-b"] * 2
        ids = [i["InstanceId"] for i in live(ec2)]
        wait_running(ec2, ids)
        ec2.terminate_instances(InstanceIds=ids)
    finally:
        g.stop()
