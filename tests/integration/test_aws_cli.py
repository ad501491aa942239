"""The README's examples, with the real /usr/bin/aws, on test://."""


def test_cli_lifecycle(gw, tmp_path):
    images = gw.aws("describe-images")["Images"]
    assert gw.image_id in [i["ImageId"] for i in images]

    script = tmp_path / "x.sh"
    script.write_text("#!/bin/sh\necho hello from user-data\n")
    out = gw.aws("run-instances", "--image-id", gw.image_id, "--instance-type", "t2.micro",
                 "--count", "2", "--user-data", "file://%s" % script)
    ids = [i["InstanceId"] for i in out["Instances"]]
    assert len(ids) == 2
    gw.aws("wait", "instance-running", "--instance-ids", *ids)

    running = gw.aws("describe-instances", "--filters",
                     "Name=instance-state-name,Values=running")
    seen = {i["InstanceId"] for r in running["Reservations"] for i in r["Instances"]}
    assert set(ids) <= seen

    stop = gw.aws("stop-instances", "--force", "--instance-ids", ids[0])
    assert stop["StoppingInstances"][0]["InstanceId"] == ids[0]
    gw.aws("wait", "instance-stopped", "--instance-ids", ids[0])
    start = gw.aws("start-instances", "--instance-ids", ids[0])
    assert start["StartingInstances"][0]["PreviousState"]["Name"] == "stopped"
    gw.aws("wait", "instance-running", "--instance-ids", ids[0])
    assert gw.aws("reboot-instances", "--instance-ids", ids[0]) is None
    term = gw.aws("terminate-instances", "--instance-ids", *ids)
    assert sorted(t["InstanceId"] for t in term["TerminatingInstances"]) == sorted(ids)
    gw.aws("wait", "instance-terminated", "--instance-ids", *ids)

    # --page-size makes the CLI send MaxResults and follow nextToken itself.
    paged = gw.aws("describe-instances", "--page-size", "5")
    all_ids = [i["InstanceId"] for r in paged["Reservations"] for i in r["Instances"]]
    assert len(all_ids) == len(set(all_ids)) and set(ids) <= set(all_ids)


def test_cli_error_exit(gw):
    r = gw.aws("stop-instances", "--instance-ids", "i-0123456789abcdef0", check=False)
    assert r.returncode != 0
    assert "InvalidInstanceID.NotFound" in r.stderr
