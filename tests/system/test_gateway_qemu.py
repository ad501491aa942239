"""The daemon's own behaviour under real (slow) libvirt work: graceful
shutdown with a request in flight, and 503 RequestLimitExceeded when the
worker queue is full."""
import concurrent.futures
import time

from botocore.exceptions import ClientError

from cgharness import wait_for
from test_lifecycle_qemu import made_from


def test_sigterm_lets_in_flight_run_finish(sysgw):
    gw = sysgw
    ec2 = gw.client()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(ec2.run_instances, ImageId=gw.image_id, MinCount=3, MaxCount=3,
                          InstanceType="t2.nano")
        # SIGTERM once the launch is under way (its first domain exists).
        wait_for("the launch to start", lambda: made_from(gw.image_id)[0], timeout=60,
                 interval=0.05)
        t0 = time.time()
        code = gw.stop()
        out = fut.result(timeout=120)
    ids = [i["InstanceId"] for i in out["Instances"]]
    gw.launched += ids
    assert code == 0
    assert len(ids) == 3
    assert "requests in flight" in gw.log_text()
    print("exit %.1fs after SIGTERM" % (time.time() - t0))
    gw.start()
    gw.client().terminate_instances(InstanceIds=ids)


def test_full_queue_answers_503(sysgw):
    gw = sysgw
    # One worker, one waiting slot: of 6 concurrent launches at least 4 wait
    # for a slot that is not there.
    gw.stop()
    with open(gw.conf) as f:
        conf = f.read().replace("workers = 4\n", "workers = 1\nqueue_max = 1\n")
    with open(gw.conf, "w") as f:
        f.write(conf)
    gw.start()
    ec2 = gw.client()

    def launch(_):
        try:
            r = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                                  InstanceType="t2.nano")
            return r["Instances"][0]["InstanceId"]
        except ClientError as e:
            return (e.response["Error"]["Code"],
                    e.response["ResponseMetadata"]["HTTPStatusCode"])

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(launch, range(6)))
    ok = [r for r in results if isinstance(r, str)]
    gw.launched += ok
    refused = [r for r in results if not isinstance(r, str)]
    assert 1 <= len(ok) <= 2, results
    assert refused and all(r == ("RequestLimitExceeded", 503) for r in refused), results
    gw.client().terminate_instances(InstanceIds=ok)
