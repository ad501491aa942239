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
