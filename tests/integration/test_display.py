"""Headless and graphical machines through EC2 on libvirt's test:// driver:
the cloudgate:display tag at launch and on CreateTags, the read-only pseudo
tags, run-once through StartInstances' AdditionalInfo, the cloudgateDisplay
attribute, image defaults and GetConsoleScreenshot, with boto3 and the real
aws CLI."""
import base64

import pytest
from botocore.exceptions import ClientError

from conftest import wait_running


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


def launch(ec2, gw, display=None, **kw):
    if display:
        kw["TagSpecifications"] = [{"ResourceType": "instance", "Tags": [
            {"Key": "cloudgate:display", "Value": display}, {"Key": "Name", "Value": "d"}]}]
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                          InstanceType="t2.micro", **kw)
    return wait_running(ec2, [r["Instances"][0]["InstanceId"]])[0]


def tags(ec2, iid):
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return {t["Key"]: t["Value"] for t in inst.get("Tags", [])}


def stop(ec2, iid):
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def test_launch_default_is_headless(ec2, gw):
    iid = launch(ec2, gw)
    t = tags(ec2, iid)
    assert t["cloudgate:display"] == "headless"
    assert t.get("cloudgate:display-live") in (None, "headless")
    assert "cloudgate:display-address" not in t
    with pytest.raises(ClientError) as e:
        ec2.get_console_screenshot(InstanceId=iid)
    assert code_of(e) == "UnsupportedOperation"
    assert "headless" in e.value.response["Error"]["Message"]
    # The launch warned: no key pair, no user-data, headless.
    assert "only its serial console" in gw.log_text()
    ec2.terminate_instances(InstanceIds=[iid])


def test_launch_tag_picks_display_and_screenshot(ec2, gw):
    iid = launch(ec2, gw, "vnc")
    t = tags(ec2, iid)
    assert t["cloudgate:display"] == "vnc"
    assert t["Name"] == "d"
    # The pseudo tags are filterable like tags.
    r = ec2.describe_instances(Filters=[{"Name": "tag:cloudgate:display", "Values": ["vnc"]}])
    assert iid in [i["InstanceId"] for res in r["Reservations"] for i in res["Instances"]]
    shot = ec2.get_console_screenshot(InstanceId=iid)
    assert shot["InstanceId"] == iid
    data = base64.b64decode(shot["ImageData"])
    assert len(data) > 8
    stop(ec2, iid)
    with pytest.raises(ClientError) as e:
        ec2.get_console_screenshot(InstanceId=iid)
    assert code_of(e) == "IncorrectInstanceState"
    ec2.terminate_instances(InstanceIds=[iid])


def test_switch_running_applies_at_next_start(ec2, gw):
    iid = launch(ec2, gw, "vnc")
    assert tags(ec2, iid)["cloudgate:display-live"] == "vnc"
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "cloudgate:display", "Value": "spice"}])
    t = tags(ec2, iid)
    assert t["cloudgate:display"] == "spice"
    assert t["cloudgate:display-live"] == "vnc"   # the running machine keeps its display
    stop(ec2, iid)
    ec2.start_instances(InstanceIds=[iid])
    # Read right after the start: the start read the running domain's display
    # itself rather than leave it to libvirt's event, which a loaded host delays.
    t = tags(ec2, iid)
    assert (t["cloudgate:display"], t.get("cloudgate:display-live")) == ("spice", "spice")
    ec2.terminate_instances(InstanceIds=[iid])


def test_run_once_with_aws_cli(ec2, gw):
    iid = launch(ec2, gw)
    stop(ec2, iid)
    out = gw.aws("start-instances", "--instance-ids", iid,
                 "--additional-info", "cloudgate:run-once=spice")
    assert out["StartingInstances"][0]["CurrentState"]["Name"] == "running"
    t = tags(ec2, iid)
    assert t["cloudgate:display"] == "headless"
    assert t.get("cloudgate:display-live") == "spice"
    # Only once: an ordinary start is headless again.
    stop(ec2, iid)
    ec2.start_instances(InstanceIds=[iid])
    t = tags(ec2, iid)
    assert t["cloudgate:display"] == "headless"
    assert t.get("cloudgate:display-live") == "headless"
    # Run-once needs a stopped instance and a known display.
    r = gw.aws("start-instances", "--instance-ids", iid,
               "--additional-info", "cloudgate:run-once=vnc", check=False)
    assert r.returncode != 0 and "IncorrectInstanceState" in r.stderr
    stop(ec2, iid)
    with pytest.raises(ClientError) as e:
        ec2.start_instances(InstanceIds=[iid], AdditionalInfo="cloudgate:run-once=rdp")
    assert code_of(e) == "InvalidParameterValue"
    ec2.terminate_instances(InstanceIds=[iid])


def test_modify_attribute_with_aws_cli(ec2, gw):
    iid = launch(ec2, gw)
    stop(ec2, iid)
    gw.aws("modify-instance-attribute", "--instance-id", iid,
           "--attribute", "cloudgateDisplay", "--value", "vnc")
    assert tags(ec2, iid)["cloudgate:display"] == "vnc"
    ec2.start_instances(InstanceIds=[iid])
    assert tags(ec2, iid).get("cloudgate:display-live") == "vnc"
    r = gw.aws("describe-instances", "--instance-ids", iid,
               "--query", "Reservations[0].Instances[0].Tags")
    assert {"Key": "cloudgate:display", "Value": "vnc"} in r
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_attribute(InstanceId=iid, Attribute="cloudgateDisplay",
                                      Value="hologram")
    assert code_of(e) == "InvalidParameterValue"
    ec2.terminate_instances(InstanceIds=[iid])


def test_image_default_and_reserved_tags(ec2, gw):
    ec2.create_tags(Resources=[gw.image_id], Tags=[{"Key": "cloudgate:display", "Value": "spice"}])
    try:
        img = ec2.describe_images(ImageIds=[gw.image_id])["Images"][0]
        assert {"Key": "cloudgate:display", "Value": "spice"} in img["Tags"]
        iid = launch(ec2, gw)
        assert tags(ec2, iid)["cloudgate:display"] == "spice"
        # An explicit choice at launch wins over the image's.
        iid2 = launch(ec2, gw, "headless")
        assert tags(ec2, iid2)["cloudgate:display"] == "headless"
        ec2.terminate_instances(InstanceIds=[iid, iid2])
    finally:
        ec2.create_tags(Resources=[gw.image_id],
                        Tags=[{"Key": "cloudgate:display", "Value": "headless"}])
    listed = gw.admin("image-list").stdout
    assert [l for l in listed.splitlines() if l.startswith(gw.image_id)][0].endswith("headless")
    with pytest.raises(ClientError) as e:
        launch(ec2, gw, "hologram")
    assert code_of(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=[gw.image_id],
                        Tags=[{"Key": "cloudgate:display-address", "Value": "x"}])
    assert code_of(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.delete_tags(Resources=[gw.image_id], Tags=[{"Key": "cloudgate:display"}])
    assert code_of(e) == "InvalidParameterValue"


def test_create_image_display_tag(ec2, gw):
    """CreateImage's TagSpecification: cloudgate:display is the new image's
    display (as in RegisterImage and CreateTags), another cloudgate: key is
    refused and makes nothing."""
    iid = launch(ec2, gw)
    stop(ec2, iid)
    before = {i["ImageId"] for i in ec2.describe_images()["Images"]}
    with pytest.raises(ClientError) as e:
        ec2.create_image(InstanceId=iid, Name="display-bad", TagSpecifications=[
            {"ResourceType": "image", "Tags": [{"Key": "cloudgate:display-live", "Value": "vnc"}]}])
    assert code_of(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.create_image(InstanceId=iid, Name="display-bad", TagSpecifications=[
            {"ResourceType": "image", "Tags": [{"Key": "cloudgate:display", "Value": "hologram"}]}])
    assert code_of(e) == "InvalidParameterValue"
    assert {i["ImageId"] for i in ec2.describe_images()["Images"]} == before
    ami = ec2.create_image(InstanceId=iid, Name="display-vnc", TagSpecifications=[
        {"ResourceType": "image", "Tags": [{"Key": "cloudgate:display", "Value": "vnc"},
                                           {"Key": "os", "Value": "demo"}]}])["ImageId"]
    try:
        ec2.get_waiter("image_available").wait(ImageIds=[ami],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        img = ec2.describe_images(ImageIds=[ami])["Images"][0]
        assert {t["Key"]: t["Value"] for t in img["Tags"]} == {"cloudgate:display": "vnc",
                                                               "os": "demo"}
        # An instance of it takes the image's display.
        child = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                                  InstanceType="t2.micro")["Instances"][0]["InstanceId"]
        assert tags(ec2, child)["cloudgate:display"] == "vnc"
        ec2.terminate_instances(InstanceIds=[child])
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid],
                                                   WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        ec2.deregister_image(ImageId=ami)
