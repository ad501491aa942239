"""Headless and graphical machines on real qemu guests (TCG): the domain
shapes libvirt runs, the serial console, switching to VNC, screenshots,
run-once with SPICE, and `cloudgate-admin console`."""
import base64
import os
import pty
import re
import select
import struct
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from cgharness import ADMIN, wait_for
from conftest import virsh

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def live_xml(iid):
    return virsh("dumpxml", iid).stdout


def tags(ec2, iid):
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return {t["Key"]: t["Value"] for t in inst.get("Tags", [])}


def state(ec2, iid):
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return inst["State"]["Name"]


def wait_state(ec2, iid, name, timeout=180):
    wait_for("%s %s" % (iid, name), lambda: state(ec2, iid) == name, timeout, interval=1)


def stop(ec2, iid):
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    wait_state(ec2, iid, "stopped", 60)


def console_text(ec2, iid):
    return ec2.get_console_output(InstanceId=iid).get("Output", "")


def live(ec2, iid, display):
    """The tags right after a start, which read the running display itself
    (libvirt's started event may come later)."""
    t = tags(ec2, iid)
    assert t.get("cloudgate:display-live") == display, t
    return t


def launch_booted(gw, ec2):
    """A default (headless) instance of the demo image, booted."""
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="t2.nano")["Instances"][0]["InstanceId"]
    gw.launched.append(iid)
    wait_state(ec2, iid, "running")
    wait_for("boot on the serial console", lambda: "cloudgate-demo: booted" in
             console_text(ec2, iid), timeout=180, interval=2)
    return iid


def png_size(data):
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_headless_vnc_screenshot_and_run_once(sysgw):
    gw = sysgw
    ec2 = gw.client()
    # Headless: no graphics, an explicit video model none; the serial console
    # (GetConsoleOutput) shows the boot.
    iid = launch_booted(gw, ec2)
    xml = live_xml(iid)
    assert "<graphics" not in xml
    assert re.search(r"<video>\s*<model type='none'/>", xml)
    assert "<console type='pty'" in xml and "useserial='yes'" in xml
    with pytest.raises(ClientError) as e:
        ec2.get_console_screenshot(InstanceId=iid)
    assert e.value.response["Error"]["Code"] == "UnsupportedOperation"
    assert "no key pair and no user-data" in gw.log_text()

    # To VNC while running: stored now, the running machine keeps its shape.
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "cloudgate:display", "Value": "vnc"}])
    t = tags(ec2, iid)
    assert (t["cloudgate:display"], t["cloudgate:display-live"]) == ("vnc", "headless")
    assert "<graphics" not in live_xml(iid)
    assert "<graphics type='vnc'" in virsh("dumpxml", "--inactive", iid).stdout
    stop(ec2, iid)
    ec2.start_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "running")
    xml = live_xml(iid)
    m = re.search(r"<graphics type='vnc' port='(\d+)'", xml)
    assert m, xml
    assert "<model type='vga'" in xml and "<input type='tablet' bus='usb'>" in xml
    t = live(ec2, iid, "vnc")
    assert t["cloudgate:display-address"] == "127.0.0.1:%s" % m.group(1)

    # A screenshot: PNG (AWS gives JPG), sane dimensions.  Let the guest draw first.
    wait_for("boot after the restart", lambda: console_text(ec2, iid).count(
        "cloudgate-demo: booted") >= 2, timeout=180, interval=2)
    t0 = time.monotonic()
    shot = ec2.get_console_screenshot(InstanceId=iid)
    latency = time.monotonic() - t0
    data = base64.b64decode(shot["ImageData"])
    w, h = png_size(data)
    assert 320 <= w <= 4096 and 200 <= h <= 4096, (w, h)
    print("VNC screenshot: %dx%d PNG, %d bytes, %.3f s" % (w, h, len(data), latency))

    # Back to headless (stopped), then run once with SPICE.
    stop(ec2, iid)
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "cloudgate:display", "Value": "headless"}])
    out = gw.aws("start-instances", "--instance-ids", iid,
                 "--additional-info", "cloudgate:run-once=spice")
    assert out["StartingInstances"][0]["CurrentState"]["Name"] == "running"
    xml = live_xml(iid)
    assert "<graphics type='spice'" in xml and "com.redhat.spice.0" in xml, xml
    assert "<graphics" not in virsh("dumpxml", "--inactive", iid).stdout
    t = live(ec2, iid, "spice")
    assert t["cloudgate:display"] == "headless"
    shot = ec2.get_console_screenshot(InstanceId=iid)
    w, h = png_size(base64.b64decode(shot["ImageData"]))
    print("SPICE (qxl) screenshot: %dx%d" % (w, h))

    # An ordinary start after the run-once is headless again.
    stop(ec2, iid)
    ec2.start_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "running")
    xml = live_xml(iid)
    assert "<graphics" not in xml and re.search(r"<video>\s*<model type='none'/>", xml)
    live(ec2, iid, "headless")
    ec2.terminate_instances(InstanceIds=[iid])


def test_admin_console(sysgw):
    """cloudgate-admin console on a pty: the guest's output arrives, Ctrl-] leaves."""
    gw = sysgw
    ec2 = gw.client()
    iid = launch_booted(gw, ec2)
    master, slave = pty.openpty()
    proc = subprocess.Popen([ADMIN, "-c", gw.conf, "console", iid], stdin=slave, stdout=slave,
                            stderr=subprocess.PIPE)
    os.close(slave)
    seen = b""
    try:
        time.sleep(1)
        # A reboot makes the guest talk: power button, then a fresh boot.
        ec2.reboot_instances(InstanceIds=[iid])
        deadline = time.time() + 180
        while b"cloudgate-demo: booted" not in seen and time.time() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if r:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        assert b"cloudgate-demo: booted" in seen, seen[-2000:]
        os.write(master, b"\x1d")
        assert proc.wait(timeout=20) == 0
        assert b"Connected to " + iid.encode() in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    ec2.terminate_instances(InstanceIds=[iid])
