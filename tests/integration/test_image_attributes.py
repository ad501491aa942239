"""DeregisterImage, DescribeImageAttribute, ModifyImageAttribute and
ResetImageAttribute through boto3 and the aws CLI, on the real daemon
(libvirt's test:// driver).

Images for the attribute tests are registered with cloudgate-admin on the
test node's demo.qcow2 (adopted, so deregistering them leaves the volume);
CreateImage and a slow ImportImage give a captured image and a pending one."""
import http.server
import json
import shutil
import tempfile
import threading
import time
import uuid

import botocore.exceptions
import pytest

from cgharness import wait_for
from conftest import wait_running, make_gateway

MISSING = "ami-00000000000000000"
OTHER = "111122223333"


class Slow(http.server.BaseHTTPRequestHandler):
    """64 MiB of zeros, slowly: keeps an import (and its image) pending."""

    def do_GET(self):
        size = 64 * 1024 * 1024
        chunk = b"\0" * (256 * 1024)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        try:
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def gw():
    d = tempfile.mkdtemp(prefix="cg-imgattr-")
    g = make_gateway(extra_gateway="import_dirs = %s\n" % d)
    yield g
    assert g.stop() == 0, g.log_text()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def ec2(gw):
    return gw.client()


@pytest.fixture(scope="module")
def web():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def code(e):
    return e.value.response["Error"]["Code"]


def message(e):
    return e.value.response["Error"]["Message"]


def new_image(gw, desc=None):
    """A fresh template on the test node's demo.qcow2; its id."""
    args = ["image-register", "--name", "attr-" + uuid.uuid4().hex[:12], "--volume",
            "demo.qcow2"]
    if desc:
        args += ["--description", desc]
    ami = gw.admin(*args).stdout.strip().split()[-1]
    assert ami.startswith("ami-")
    return ami


def attr(ec2, ami, name):
    r = ec2.describe_image_attribute(ImageId=ami, Attribute=name)
    assert r["ImageId"] == ami
    return r


def image(ec2, ami):
    return ec2.describe_images(ImageIds=[ami])["Images"][0]


def account(ec2):
    return ec2.describe_images()["Images"][0]["OwnerId"]


def launch(ec2, ami, n=1):
    r = ec2.run_instances(ImageId=ami, MinCount=n, MaxCount=n, InstanceType="t2.micro")
    return wait_running(ec2, [i["InstanceId"] for i in r["Instances"]])


def state(ec2, iid):
    r = ec2.describe_instances(InstanceIds=[iid])["Reservations"]
    return r[0]["Instances"][0]["State"]["Name"]


def terminate(ec2, ids):
    ec2.terminate_instances(InstanceIds=ids)
    wait_for("terminated", lambda: all(state(ec2, i) == "terminated" for i in ids), 30, 0.2)


def test_created_image_attributes_after_waiter(ec2, gw):
    src = launch(ec2, gw.image_id)[0]
    ec2.stop_instances(InstanceIds=[src], Force=True)
    wait_for("stopped", lambda: state(ec2, src) == "stopped", 30, 0.2)
    ami = ec2.create_image(InstanceId=src, Name="attrs-" + uuid.uuid4().hex[:8],
                           Description="captured <one>", NoReboot=True)["ImageId"]
    # Shared right after CreateImage, before the waiter (on the test driver
    # the job is often done by then; test_lv_driver covers the job's rewrite).
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"UserId": OTHER}]})
    ec2.get_waiter("image_available").wait(ImageIds=[ami],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert attr(ec2, ami, "description")["Description"] == {"Value": "captured <one>"}
    assert attr(ec2, ami, "launchPermission")["LaunchPermissions"] == [{"UserId": OTHER}]
    ec2.reset_image_attribute(ImageId=ami, Attribute="launchPermission")
    assert attr(ec2, ami, "launchPermission")["LaunchPermissions"] == []
    bdm = attr(ec2, ami, "blockDeviceMapping")["BlockDeviceMappings"]
    assert bdm == image(ec2, ami)["BlockDeviceMappings"]
    assert [b["DeviceName"] for b in bdm] == ["/dev/vda"]
    assert attr(ec2, ami, "productCodes")["ProductCodes"] == []
    assert attr(ec2, ami, "bootMode")["BootMode"] == {"Value": "legacy-bios"}
    for name, key in [("kernel", "KernelId"), ("ramdisk", "RamdiskId"),
                      ("sriovNetSupport", "SriovNetSupport"), ("imdsSupport", "ImdsSupport"),
                      ("tpmSupport", "TpmSupport"), ("uefiData", "UefiData")]:
        r = attr(ec2, ami, name)
        assert r.get(key, {}) == {}, (name, r)
        assert "Description" not in r and "LaunchPermissions" not in r
    # Never launched, then launched: the launch time is the instance's.
    assert attr(ec2, ami, "lastLaunchedTime").get("LastLaunchedTime", {}) == {}
    child = launch(ec2, ami)[0]
    launched = ec2.describe_instances(InstanceIds=[child])[
        "Reservations"][0]["Instances"][0]["LaunchTime"]
    got = attr(ec2, ami, "lastLaunchedTime")["LastLaunchedTime"]["Value"]
    assert got == launched.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Captured images own their volume: deregistered once no instance uses it.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.deregister_image(ImageId=ami)
    assert code(e) == "IncorrectState" and child in message(e)
    terminate(ec2, [src, child])
    ec2.deregister_image(ImageId=ami)
    assert ec2.describe_images(Filters=[{"Name": "image-id", "Values": [ami]}])["Images"] == []


def test_modify_forms_boto3(ec2, gw):
    ami = new_image(gw, "first")
    own = account(ec2)
    ec2.modify_image_attribute(ImageId=ami, Description={"Value": "second & <more>"})
    assert attr(ec2, ami, "description")["Description"] == {"Value": "second & <more>"}
    assert image(ec2, ami)["Description"] == "second & <more>"
    ec2.modify_image_attribute(ImageId=ami, Attribute="description", Value="flat form")
    assert attr(ec2, ami, "description")["Description"] == {"Value": "flat form"}

    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={
        "Add": [{"UserId": OTHER}, {"UserId": own}, {"Group": "all"}]})
    assert attr(ec2, ami, "launchPermission")["LaunchPermissions"] == [
        {"Group": "all"}] + [{"UserId": u} for u in sorted([OTHER, own])]
    assert image(ec2, ami)["Public"] is True
    pub = ec2.describe_images(Filters=[{"Name": "is-public", "Values": ["true"]}])["Images"]
    assert ami in [i["ImageId"] for i in pub]
    assert gw.image_id not in [i["ImageId"] for i in pub]
    # Adding again changes nothing; the description stayed.
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"UserId": OTHER}]})
    assert len(attr(ec2, ami, "launchPermission")["LaunchPermissions"]) == 3
    assert attr(ec2, ami, "description")["Description"] == {"Value": "flat form"}

    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Remove": [{"Group": "all"}]})
    assert image(ec2, ami)["Public"] is False
    priv = ec2.describe_images(Filters=[{"Name": "is-public", "Values": ["false"]}])["Images"]
    assert ami in [i["ImageId"] for i in priv]
    ec2.modify_image_attribute(ImageId=ami, Attribute="launchPermission",
                               OperationType="remove", UserIds=[OTHER])
    assert attr(ec2, ami, "launchPermission")["LaunchPermissions"] == [{"UserId": own}]
    ec2.modify_image_attribute(ImageId=ami, Attribute="launchPermission", OperationType="add",
                               UserGroups=["all"], UserIds=[OTHER])
    assert image(ec2, ami)["Public"] is True
    assert len(attr(ec2, ami, "launchPermission")["LaunchPermissions"]) == 3

    ec2.reset_image_attribute(ImageId=ami, Attribute="launchPermission")
    assert attr(ec2, ami, "launchPermission")["LaunchPermissions"] == []
    assert image(ec2, ami)["Public"] is False
    # Reset touches launch permissions only.
    assert attr(ec2, ami, "description")["Description"] == {"Value": "flat form"}
    ec2.modify_image_attribute(ImageId=ami, Description={"Value": ""})
    assert attr(ec2, ami, "description").get("Description", {}) == {}
    assert "Description" not in image(ec2, ami)
    ec2.deregister_image(ImageId=ami)


def test_errors_change_nothing(ec2, gw):
    ami = new_image(gw, "keep")
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"UserId": OTHER}]})
    before = (attr(ec2, ami, "description"), attr(ec2, ami, "launchPermission"), image(ec2, ami))

    def refused(call, want, **kw):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call(**kw)
        assert code(e) == want, (kw, e.value.response)
        return message(e)

    for a in ["foo", "LaunchPermission", "description "]:
        assert a.strip() in refused(ec2.describe_image_attribute, "InvalidParameterValue",
                                    ImageId=ami, Attribute=a)
    for call, kw in [(ec2.describe_image_attribute, {"Attribute": "description"}),
                     (ec2.modify_image_attribute, {"Description": {"Value": "x"}}),
                     (ec2.reset_image_attribute, {"Attribute": "launchPermission"}),
                     (ec2.deregister_image, {})]:
        refused(call, "InvalidAMIID.Malformed", ImageId="ami-zz", **kw)
        refused(call, "InvalidAMIID.Malformed", ImageId="i-0123456789abcdef0", **kw)
        assert MISSING in refused(call, "InvalidAMIID.NotFound", ImageId=MISSING, **kw)
        # DryRun: everything checked, nothing done.
        if call != ec2.describe_image_attribute:
            refused(call, "DryRunOperation", ImageId=ami, DryRun=True, **kw)
    refused(ec2.describe_image_attribute, "DryRunOperation", ImageId=ami,
            Attribute="description", DryRun=True)

    m = ec2.modify_image_attribute
    refused(m, "InvalidParameterValue", ImageId=ami, Attribute="blockDeviceMapping", Value="x")
    refused(m, "InvalidParameterValue", ImageId=ami, Attribute="kernel", Value="aki-1")
    refused(m, "InvalidParameterValue", ImageId=ami, Attribute="nonsense", Value="x")
    refused(m, "InvalidAMIAttributeItemValue", ImageId=ami,
            LaunchPermission={"Add": [{"UserId": "1234"}]})
    refused(m, "InvalidAMIAttributeItemValue", ImageId=ami,
            LaunchPermission={"Add": [{"UserId": OTHER}, {"UserId": "12345678901a"}]})
    refused(m, "InvalidAMIAttributeItemValue", ImageId=ami, Attribute="launchPermission",
            OperationType="add", UserGroups=["everyone"])
    refused(m, "InvalidParameterValue", ImageId=ami, Attribute="launchPermission",
            OperationType="replace", UserIds=[OTHER])
    refused(m, "MissingParameter", ImageId=ami, Attribute="launchPermission",
            OperationType="add")
    refused(m, "InvalidParameterCombination", ImageId=ami)
    refused(m, "InvalidParameterCombination", ImageId=ami, Description={"Value": "x"},
            LaunchPermission={"Add": [{"Group": "all"}]})
    refused(m, "InvalidParameterValue", ImageId=ami, Description={"Value": "d" * 256})
    refused(m, "UnsupportedOperation", ImageId=ami, ProductCodes=["abc"])
    refused(m, "UnsupportedOperation", ImageId=ami,
            LaunchPermission={"Add": [{"OrganizationArn": "arn:aws:organizations::1:o/x"}]})
    refused(ec2.reset_image_attribute, "InvalidParameterValue", ImageId=ami,
            Attribute="description")
    refused(ec2.reset_image_attribute, "InvalidParameterValue", ImageId=ami, Attribute="bogus")
    after = (attr(ec2, ami, "description"), attr(ec2, ami, "launchPermission"), image(ec2, ami))
    for b, a in zip(before, after):
        b.pop("ResponseMetadata", None)
        a.pop("ResponseMetadata", None)
    assert after == before
    ec2.deregister_image(ImageId=ami)
    refused(ec2.deregister_image, "InvalidAMIID.NotFound", ImageId=ami)
    refused(ec2.describe_image_attribute, "InvalidAMIID.NotFound", ImageId=ami,
            Attribute="description")


def test_deregister_refused_while_instances_use_it(ec2, gw):
    ami = new_image(gw, "in use")
    running, stopped = launch(ec2, ami, 2)
    ec2.stop_instances(InstanceIds=[stopped], Force=True)
    wait_for("stopped", lambda: state(ec2, stopped) == "stopped", 30, 0.2)
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"Group": "all"}]})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.deregister_image(ImageId=ami)
    assert code(e) == "IncorrectState"
    assert running in message(e) and stopped in message(e), message(e)
    assert "terminate them first" in message(e)
    # Nothing changed: the image, its attributes, the instances.
    assert image(ec2, ami)["State"] == "available" and image(ec2, ami)["Public"] is True
    assert state(ec2, running) == "running" and state(ec2, stopped) == "stopped"
    # A launch still works while the image is kept.
    third = launch(ec2, ami)[0]
    terminate(ec2, [running, stopped])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.deregister_image(ImageId=ami)
    assert code(e) == "IncorrectState"
    assert third in message(e) and running not in message(e)
    terminate(ec2, [third])
    ec2.deregister_image(ImageId=ami)
    assert ami not in [i["ImageId"] for i in ec2.describe_images()["Images"]]
    # The terminated instances still show which image they came from.
    r = ec2.describe_instances(InstanceIds=[third])["Reservations"][0]["Instances"][0]
    assert r["ImageId"] == ami and r["State"]["Name"] == "terminated"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        launch(ec2, ami)
    assert code(e) == "InvalidAMIID.NotFound"


def test_deregister_races_run_instances(ec2, gw):
    """Never both: a launch that succeeded and a deregistration that did."""
    for _ in range(6):
        ami = new_image(gw)
        out = {}

        def run():
            try:
                out["run"] = launch(gw.client(), ami)
            except botocore.exceptions.ClientError as e:
                out["run"] = e.response["Error"]["Code"]

        t = threading.Thread(target=run)
        t.start()
        try:
            gw.client().deregister_image(ImageId=ami)
            out["dereg"] = "ok"
        except botocore.exceptions.ClientError as e:
            out["dereg"] = e.response["Error"]["Code"]
        t.join()
        if out["dereg"] == "ok":
            assert out["run"] == "InvalidAMIID.NotFound", out
        else:
            assert out["dereg"] == "IncorrectState" and isinstance(out["run"], list), out
            terminate(ec2, out["run"])
            ec2.deregister_image(ImageId=ami)


def test_deregister_pending_import_refused(ec2, web):
    r = ec2.import_image(DiskContainers=[{"Format": "raw", "Url": web + "/big"}])
    tid = r["ImportTaskId"]

    def pending():
        return [i["ImageId"] for i in ec2.describe_images()["Images"] if i["State"] == "pending"]
    ami = wait_for("pending image", pending, 30, 0.1)[0]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.deregister_image(ImageId=ami)
    assert code(e) == "IncorrectState" and "pending" in message(e), e.value.response
    assert ami in pending()
    ec2.cancel_import_task(ImportTaskId=tid)
    wait_for("import cancelled", lambda: ami not in pending(), 60, 0.2)


def test_aws_cli(ec2, gw):
    ami = new_image(gw, "cli")
    own = account(ec2)
    assert gw.aws("modify-image-attribute", "--image-id", ami, "--description",
                  "Value=from the cli") is None
    out = gw.aws("describe-image-attribute", "--image-id", ami, "--attribute", "description")
    assert out["Description"] == {"Value": "from the cli"} and out["ImageId"] == ami
    gw.aws("modify-image-attribute", "--image-id", ami, "--launch-permission",
           json.dumps({"Add": [{"Group": "all"}, {"UserId": OTHER}]}))
    gw.aws("modify-image-attribute", "--image-id", ami, "--attribute", "launchPermission",
           "--operation-type", "add", "--user-ids", own)
    out = gw.aws("describe-image-attribute", "--image-id", ami, "--attribute",
                 "launchPermission")
    assert out["LaunchPermissions"] == [{"Group": "all"}] + [
        {"UserId": u} for u in sorted([own, OTHER])]
    out = gw.aws("describe-images", "--image-ids", ami)
    assert out["Images"][0]["Public"] is True
    out = gw.aws("describe-image-attribute", "--image-id", ami, "--attribute",
                 "blockDeviceMapping")
    assert out["BlockDeviceMappings"][0]["DeviceName"] == "/dev/vda"
    gw.aws("reset-image-attribute", "--image-id", ami, "--attribute", "launchPermission")
    out = gw.aws("describe-image-attribute", "--image-id", ami, "--attribute",
                 "launchPermission")
    assert out["LaunchPermissions"] == []
    for args, want in [
            (["describe-image-attribute", "--image-id", ami, "--attribute", "nope"],
             "InvalidParameterValue"),
            (["modify-image-attribute", "--image-id", ami, "--attribute", "launchPermission",
              "--operation-type", "add", "--user-ids", "42"], "InvalidAMIAttributeItemValue"),
            (["reset-image-attribute", "--image-id", MISSING, "--attribute",
              "launchPermission"], "InvalidAMIID.NotFound"),
            (["deregister-image", "--image-id", ami, "--dry-run"], "DryRunOperation"),
            (["deregister-image", "--image-id", "ami-x"], "InvalidAMIID.Malformed")]:
        r = gw.aws(*args, check=False)
        assert r.returncode != 0 and want in r.stderr, (args, r.stderr)
    iid = launch(ec2, ami)[0]
    r = gw.aws("deregister-image", "--image-id", ami, check=False)
    assert r.returncode != 0 and "IncorrectState" in r.stderr and iid in r.stderr, r.stderr
    terminate(ec2, [iid])
    assert gw.aws("deregister-image", "--image-id", ami) is None
    out = gw.aws("describe-images", "--image-ids", ami, check=False)
    assert out.returncode != 0 and "InvalidAMIID.NotFound" in out.stderr
