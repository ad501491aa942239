#!/usr/bin/python3
"""Client side of bench/run.sh (run with /usr/bin/python3: Debian's boto3).

  bench.py sign ENDPOINT KEY SECRET OUT.lua [close|keep] [ACTION]
      A wrk script that POSTs one ACTION (default DescribeInstances, no
      parameters), signed once with botocore's SigV4Auth (the signature is
      valid for 15 minutes), and prints key=value results (latency
      percentiles from wrk's histogram).  With "close" it adds
      Connection: close (a new connection per request).
  bench.py fetch ENDPOINT KEY SECRET ACTION OUT
      The raw response body of one signed ACTION, into OUT (the body
      http_anchor serves).
  bench.py cimi ENDPOINT KEY SECRET OUT.lua json|xml
      A wrk script that GETs /cimi/machines (the MachineCollection, no
      query) as JSON or XML with HTTP Basic auth; fetches it once and
      prints count= (its machines) and bytes=.
  bench.py count ENDPOINT KEY SECRET IDFILE [WAIT_SECS]
      DescribeInstances through boto3; fails unless every id in IDFILE is
      listed (polling up to WAIT_SECS for the event cache to catch up).
      Prints listed=, mine=, waited_s=.
  bench.py runcmp ENDPOINT KEY SECRET IMAGE_ID K URI TEMPLATE_PATH WORKDIR [POOL]
      K rounds of: RunInstances (1 x t2.nano), timed until the response
      returns and until DescribeInstances says running (polled every 10 ms),
      and TerminateInstances; then `virsh create` of the same domain XML (the
      first instance's inactive XML with a new name, uuid, MAC, console log
      and its own qcow2 overlay on TEMPLATE_PATH), timed until it returns and
      until `virsh domstate` says running, and `virsh destroy`.
  bench.py countcmp ENDPOINT KEY SECRET IMAGE_ID N URI TEMPLATE_PATH WORKDIR [POOL]
      One RunInstances MinCount=MaxCount=N timed until all N are running
      (DescribeInstances), TerminateInstances of all; then N sequential
      `virsh create`s of the same XML timed until all N are running (virsh
      domstate), and `virsh destroy` of each.  Fails unless all N ran.

  Instance ids go to WORKDIR/run_ids and virsh domain names to
  WORKDIR/virsh_names as soon as they are known, for run.sh's cleanup.
"""
import base64
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

import boto3
from botocore.exceptions import ClientError
import botocore.config
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "cloudgate"
BODY = "Action=DescribeInstances&Version=2016-11-15"

WRK_DONE = r'''
function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format("requests=%d\nseconds=%.2f\nreq_s=%.2f\n",
                          summary.requests, secs, summary.requests / secs))
   io.write(string.format("p50_ms=%.2f\np95_ms=%.2f\np99_ms=%.2f\nmax_ms=%.2f\n",
                          latency:percentile(50) / 1000, latency:percentile(95) / 1000,
                          latency:percentile(99) / 1000, latency.max / 1000))
   -- Share of requests that took 40 ms or more (the TCP delayed-ACK stall is
   -- ~40 ms): bisect for the percentile where latency crosses 40 ms.
   local lo, hi = 0, 100
   if latency.max < 40000 then lo = 100
   elseif latency:percentile(0) >= 40000 then hi = 0
   else
      for _ = 1, 30 do
         local mid = (lo + hi) / 2
         if latency:percentile(mid) >= 40000 then hi = mid else lo = mid end
      end
   end
   io.write(string.format("slow40_pct=%.1f\n", 100 - hi))
   io.write(string.format("bytes=%d\nerr_status=%d\nerr_connect=%d\nerr_read=%d\n" ..
                          "err_write=%d\nerr_timeout=%d\n",
                          summary.bytes, e.status, e.connect, e.read, e.write, e.timeout))
end
'''


def client(endpoint, key, secret, read_timeout=300):
    cfg = botocore.config.Config(retries={"max_attempts": 0}, connect_timeout=10,
                                 read_timeout=read_timeout)
    return boto3.client("ec2", region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)


def lua_str(s):
    if any(c in s for c in '"\\\n\r') or not s.isascii():
        raise ValueError("unexpected character in %r" % s)
    return '"%s"' % s


def signed(endpoint, key, secret, body):
    req = AWSRequest(method="POST", url=endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key, secret), "ec2", REGION).add_auth(req)
    return req


def cmd_sign(endpoint, key, secret, out, close="keep", action="DescribeInstances"):
    body = BODY if action == "DescribeInstances" else "Action=%s&Version=2016-11-15" % action
    req = signed(endpoint, key, secret, body)
    host = endpoint.split("://", 1)[1].rstrip("/")
    lines = ['wrk.method = "POST"', "wrk.body = %s" % lua_str(body),
             "wrk.headers[%s] = %s" % (lua_str("Host"), lua_str(host))]
    for name, value in req.headers.items():
        lines.append("wrk.headers[%s] = %s" % (lua_str(name), lua_str(value)))
    if close == "close":
        # Unsigned header: a new connection per request (wrk reconnects).
        lines.append('wrk.headers["Connection"] = "close"')
    with open(out, "w") as f:
        f.write("-- %s signed by botocore SigV4Auth at %s\n"
                % (action, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
        f.write("\n".join(lines) + "\n" + WRK_DONE)


def cmd_fetch(endpoint, key, secret, action, out):
    """The raw response body of one signed ACTION (the anchor server's body)."""
    req = signed(endpoint, key, secret, "Action=%s&Version=2016-11-15" % action)
    http = urllib.request.Request(endpoint + "/", data=req.body.encode()
                                  if isinstance(req.body, str) else req.body,
                                  headers=dict(req.headers.items()), method="POST")
    with urllib.request.urlopen(http, timeout=30) as r:
        data = r.read()
    if b"<regionInfo>" not in data and action == "DescribeRegions":
        sys.exit("bench.py: DescribeRegions answered %r" % data[:200])
    with open(out, "wb") as f:
        f.write(data)
    print("bytes=%d" % len(data))


def cmd_cimi(endpoint, key, secret, out, fmt):
    accept = {"json": "application/json", "xml": "application/xml"}[fmt]
    host = endpoint.split("://", 1)[1].rstrip("/")
    auth = "Basic " + base64.b64encode(("%s:%s" % (key, secret)).encode()).decode()
    headers = {"Host": host, "Authorization": auth, "Accept": accept}
    lines = ['wrk.method = "GET"', 'wrk.path = "/cimi/machines"']
    for name, value in headers.items():
        lines.append("wrk.headers[%s] = %s" % (lua_str(name), lua_str(value)))
    with open(out, "w") as f:
        f.write("-- CIMI GET /cimi/machines as %s\n" % fmt)
        f.write("\n".join(lines) + "\n" + WRK_DONE)
    http = urllib.request.Request(endpoint + "/cimi/machines", headers=headers)
    with urllib.request.urlopen(http, timeout=60) as r:
        data = r.read()
        ctype = r.headers.get("Content-Type", "")
    if not ctype.startswith(accept):
        sys.exit("bench.py: /cimi/machines answered %s, not %s" % (ctype, accept))
    if fmt == "json":
        count = json.loads(data)["count"]
    else:
        count = int(ET.fromstring(data).find("{http://schemas.dmtf.org/cimi/1}count").text)
    print("count=%d\nbytes=%d" % (count, len(data)))


def cmd_count(endpoint, key, secret, idfile, wait=0.0):
    with open(idfile) as f:
        want = {l.strip() for l in f if l.strip()}
    ec2 = client(endpoint, key, secret)
    t0 = time.monotonic()
    while True:
        res = ec2.describe_instances()
        assert "NextToken" not in res, "DescribeInstances paginated without MaxResults"
        ids = [i["InstanceId"] for r in res["Reservations"] for i in r["Instances"]]
        mine = want & set(ids)
        if len(mine) == len(want) or time.monotonic() - t0 >= wait:
            break
        time.sleep(0.2)
    waited = time.monotonic() - t0
    print("listed=%d\nmine=%d\nwanted=%d\nwaited_s=%.2f" % (len(ids), len(mine), len(want),
                                                           waited))
    if len(mine) != len(want):
        sys.exit("bench.py: DescribeInstances lists %d of the %d benchmark instances"
                 % (len(mine), len(want)))


def virsh(uri, *args, check=True):
    return subprocess.run(["virsh", "-q", "-c", uri] + list(args), check=check,
                          capture_output=True, text=True, timeout=300)


def clone_xml(xml, name, disk, log, seed, nic_filter=None):
    """The instance's domain XML as a plain libvirt domain of its own, with a
    copy of the instance's cloud-init seed ISO on its CD-ROM; its NIC filtered
    by nic_filter, or by none."""
    root = ET.fromstring(xml)
    for tag in ("uuid", "metadata"):   # no cloudgate metadata: the gateway ignores it
        for el in root.findall(tag):
            root.remove(el)
    root.find("name").text = name
    devices = root.find("devices")
    for d in devices.findall("disk"):
        d.find("source").set("file", seed if d.get("device") == "cdrom" else disk)
    # The instance's NIC filter (cg-nic-<hash>) may go with the instance: the
    # anchor is a bare libvirt domain, without a firewall, or one filtered by
    # a copy of that filter.
    for iface in devices.findall("interface"):
        for ref in iface.findall("filterref"):
            if nic_filter:
                ref.set("filter", nic_filter)
            else:
                iface.remove(ref)
    mac = devices.find("interface/mac")
    b = secrets.token_bytes(3)
    mac.set("address", "52:54:00:%02x:%02x:%02x" % tuple(b))
    for log_el in devices.findall("serial/log"):
        log_el.set("file", log)
    return ET.tostring(root, encoding="unicode")


def append_line(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def wait_states(ec2, ids, want, timeout, interval=0.01):
    """Polls DescribeInstances until every id is in state WANT (or gone past
    it: terminated).  Returns (seconds, {id: state}) at the end.  An error
    answer (a zone reconnecting: 503; an id not known: NotFound) is reported
    and polled through, not taken for the end."""
    t0 = time.monotonic()
    states, last_error = {}, None
    while True:
        try:
            res = ec2.describe_instances(InstanceIds=list(ids))
            states = {i["InstanceId"]: i["State"]["Name"]
                      for r in res["Reservations"] for i in r["Instances"]}
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code != last_error:
                print("bench.py: DescribeInstances answered %s after %.1f s; polling on"
                      % (code, time.monotonic() - t0), file=sys.stderr)
            last_error = code
        else:
            last_error = None
        done = last_error is None and all(states.get(i) in (want, "terminated") for i in ids)
        if done or time.monotonic() - t0 >= timeout:
            return time.monotonic() - t0, states
        time.sleep(interval)


def retrying(call, timeout, **kw):
    """call(**kw), again while it answers 503 Unavailable (a zone
    reconnecting), for up to timeout seconds."""
    t0 = time.monotonic()
    while True:
        try:
            return call(**kw)
        except ClientError as e:
            if e.response["Error"]["Code"] != "Unavailable" or \
                    time.monotonic() - t0 >= timeout:
                raise
            print("bench.py: %s answered Unavailable; again in 2 s" % call.__name__,
                  file=sys.stderr)
            time.sleep(2)


def virsh_wait_running(uri, names, timeout):
    """`virsh domstate` of each name until it says running; seconds taken."""
    t0 = time.monotonic()
    for name in names:
        while virsh(uri, "domstate", name).stdout.strip() != "running":
            if time.monotonic() - t0 >= timeout:
                raise RuntimeError("%s not running after %d s" % (name, timeout))
            time.sleep(0.01)
    return time.monotonic() - t0


def keep_filter(uri, iid, name, workdir):
    """A copy of the instance's NIC filter (same rules, same security-group
    filter referenced) as nwfilter NAME, for the filtered virsh side; its
    name goes to WORKDIR/virsh_filters for run.sh's cleanup."""
    ref = ET.fromstring(virsh(uri, "dumpxml", iid).stdout).find("./devices/interface/filterref")
    root = ET.fromstring(virsh(uri, "nwfilter-dumpxml", ref.get("filter")).stdout)
    for el in root.findall("uuid"):
        root.remove(el)
    root.set("name", name)
    path = os.path.join(workdir, name + ".xml")
    with open(path, "w") as f:
        f.write(ET.tostring(root, encoding="unicode"))
    append_line(os.path.join(workdir, "virsh_filters"), name)
    virsh(uri, "nwfilter-define", path)
    return name


def keep_seed(uri, pool, iid, workdir):
    """The seed volume goes with the instance: keep a copy for the virsh side."""
    seed = os.path.join(workdir, "seed.iso")
    shutil.copy(virsh(uri, "vol-path", "--pool", pool, iid + "-seed.iso").stdout.strip(), seed)
    return seed


def cmd_runcmp(endpoint, key, secret, image_id, k, uri, template, workdir, pool="cloudgate"):
    k = int(k)
    ec2 = client(endpoint, key, secret)
    run_ids = os.path.join(workdir, "run_ids")
    names = os.path.join(workdir, "virsh_names")
    run_ms, term_ms, create_ms, overlay_ms, destroy_ms = [], [], [], [], []
    run_up_ms, create_up_ms, filtered_up_ms = [], [], []
    base_xml = seed = nic_filter = None
    tag = secrets.token_hex(4)
    for i in range(k):
        # -- RunInstances until the response returns, then until
        # DescribeInstances says running (polled every 10 ms)
        t0 = time.monotonic()
        res = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1,
                                InstanceType="t2.nano")
        run_ms.append((time.monotonic() - t0) * 1000)
        iid = res["Instances"][0]["InstanceId"]
        append_line(run_ids, iid)
        _, states = wait_states(ec2, [iid], "running", 300)
        run_up_ms.append((time.monotonic() - t0) * 1000)
        if states.get(iid) != "running":
            sys.exit("bench.py: %s is %s, not running" % (iid, states.get(iid)))
        if base_xml is None:
            base_xml = virsh(uri, "dumpxml", "--inactive", iid).stdout
            seed = keep_seed(uri, pool, iid, workdir)
            if "<filterref" in base_xml:
                nic_filter = keep_filter(uri, iid, "cgbench-%s-nic" % tag, workdir)
        t0 = time.monotonic()
        ec2.terminate_instances(InstanceIds=[iid])
        term_ms.append((time.monotonic() - t0) * 1000)

        # -- the same domain by hand: qemu-img overlay, then virsh create,
        # then virsh domstate until running
        name = "cgbench-%s-%d" % (tag, i)
        disk = os.path.join(workdir, name + ".qcow2")
        path = os.path.join(workdir, name + ".xml")
        append_line(names, name)
        t0 = time.monotonic()
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                        template, disk], check=True, timeout=60)
        overlay_ms.append((time.monotonic() - t0) * 1000)
        with open(path, "w") as f:
            f.write(clone_xml(base_xml, name, disk, os.path.join(workdir, name + ".log"), seed))
        t0 = time.monotonic()
        virsh(uri, "create", path)
        create_ms.append((time.monotonic() - t0) * 1000)
        virsh_wait_running(uri, [name], 300)
        create_up_ms.append((time.monotonic() - t0) * 1000)
        t0 = time.monotonic()
        virsh(uri, "destroy", name)
        destroy_ms.append((time.monotonic() - t0) * 1000)

        # -- and once more with the instance's NIC filter (libvirt then
        # instantiates its rules while it starts the domain, as for the
        # instance)
        if nic_filter:
            fname = name + "-f"
            append_line(names, fname)
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                            template, disk + ".f"], check=True, timeout=60)
            with open(path, "w") as f:
                f.write(clone_xml(base_xml, fname, disk + ".f",
                                  os.path.join(workdir, fname + ".log"), seed, nic_filter))
            t0 = time.monotonic()
            virsh(uri, "create", path)
            virsh_wait_running(uri, [fname], 300)
            filtered_up_ms.append((time.monotonic() - t0) * 1000)
            virsh(uri, "destroy", fname)
        print("round %d: RunInstances %.0f ms (%s), running after %.0f ms, TerminateInstances "
              "%.0f ms; qemu-img %.0f ms, virsh create %.0f ms, running after %.0f ms, "
              "virsh destroy %.0f ms; with the NIC filter running after %s ms"
              % (i + 1, run_ms[-1], iid, run_up_ms[-1], term_ms[-1], overlay_ms[-1],
                 create_ms[-1], create_up_ms[-1], destroy_ms[-1],
                 "%.0f" % filtered_up_ms[-1] if nic_filter else "-"), file=sys.stderr)
    med = statistics.median
    both = [a + b for a, b in zip(overlay_ms, create_ms)]
    print("runs=%d" % k)
    print("run_ms_all=%s" % ",".join("%.0f" % v for v in run_ms))
    print("create_ms_all=%s" % ",".join("%.0f" % v for v in create_ms))
    print("run_up_ms_all=%s" % ",".join("%.0f" % v for v in run_up_ms))
    print("create_up_ms_all=%s" % ",".join("%.0f" % v for v in create_up_ms))
    print("run_p50_ms=%.0f\nterminate_p50_ms=%.0f" % (med(run_ms), med(term_ms)))
    print("run_up_p50_ms=%.0f\ncreate_up_p50_ms=%.0f" % (med(run_up_ms), med(create_up_ms)))
    print("virsh_create_p50_ms=%.0f\noverlay_p50_ms=%.0f\noverlay_create_p50_ms=%.0f"
          % (med(create_ms), med(overlay_ms), med(both)))
    print("virsh_destroy_p50_ms=%.0f" % med(destroy_ms))
    print("ratio_run_create=%.2f\nratio_run_overlay_create=%.2f"
          % (med(run_ms) / med(create_ms), med(run_ms) / med(both)))
    print("ratio_up=%.2f" % (med(run_up_ms) / med(create_up_ms)))
    if filtered_up_ms:
        print("filtered_up_ms_all=%s" % ",".join("%.0f" % v for v in filtered_up_ms))
        print("filtered_up_p50_ms=%.0f\nratio_up_filtered=%.2f"
              % (med(filtered_up_ms), med(run_up_ms) / med(filtered_up_ms)))


# How long the --count figure waits for all running (and all terminated):
# on 2 cores 100 TCG guests saturate the CPU, and starts slow down with them.
COUNT_WAIT = float(os.environ.get("CG_BENCH_COUNT_WAIT", "600"))


def cmd_countcmp(endpoint, key, secret, image_id, n, uri, template, workdir, pool="cloudgate"):
    """One RunInstances MinCount=MaxCount=N until all N are running, against N
    sequential `virsh create`s of the same domain XML until all N are running."""
    n = int(n)
    # TerminateInstances of N answers when all N are gone (synchronous;
    # engine/instance_ops.c changes 8 at a time).
    ec2 = client(endpoint, key, secret, read_timeout=COUNT_WAIT)
    run_ids = os.path.join(workdir, "run_ids")
    count_ids = os.path.join(workdir, "count_ids")
    names_file = os.path.join(workdir, "virsh_names")
    t0 = time.monotonic()
    res = ec2.run_instances(ImageId=image_id, MinCount=n, MaxCount=n, InstanceType="t2.nano")
    resp_s = time.monotonic() - t0
    ids = [i["InstanceId"] for i in res["Instances"]]
    for iid in ids:
        append_line(run_ids, iid)
        append_line(count_ids, iid)
    # Polled once a second: boto3 parsing N instances every 50 ms took a
    # fifth of this 2-core machine from the guests being measured.
    _, states = wait_states(ec2, ids, "running", COUNT_WAIT, interval=1.0)
    up_s = time.monotonic() - t0
    running = sum(1 for i in ids if states.get(i) == "running")
    print("count %d: response after %.1f s, %d running after %.1f s"
          % (n, resp_s, running, up_s), file=sys.stderr)
    base_xml = virsh(uri, "dumpxml", "--inactive", ids[0]).stdout
    seed = keep_seed(uri, pool, ids[0], workdir)
    t0 = time.monotonic()
    retrying(ec2.terminate_instances, COUNT_WAIT, InstanceIds=ids)
    _, after = wait_states(ec2, ids, "terminated", COUNT_WAIT, interval=1.0)
    term_s = time.monotonic() - t0
    terminated = sum(1 for i in ids if after.get(i, "terminated") == "terminated")

    # -- N sequential virsh creates of the same XML (own overlay each, made
    # before the clock starts), then virsh domstate of each until running
    tag = secrets.token_hex(4)
    names = ["cgbench-%s-n%d" % (tag, i) for i in range(n)]
    paths = []
    t0 = time.monotonic()
    for name in names:
        append_line(names_file, name)
        disk = os.path.join(workdir, name + ".qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                        template, disk], check=True, timeout=60)
        path = os.path.join(workdir, name + ".xml")
        with open(path, "w") as f:
            f.write(clone_xml(base_xml, name, disk, os.path.join(workdir, name + ".log"), seed))
        paths.append(path)
    overlay_s = time.monotonic() - t0
    t0 = time.monotonic()
    for path in paths:
        virsh(uri, "create", path)
    create_s = time.monotonic() - t0
    virsh_wait_running(uri, names, COUNT_WAIT)
    virsh_up_s = time.monotonic() - t0
    t0 = time.monotonic()
    for name in names:
        virsh(uri, "destroy", name)
    destroy_s = time.monotonic() - t0
    print("count %d: virsh creates %.1f s, all running after %.1f s"
          % (n, create_s, virsh_up_s), file=sys.stderr)
    print("count=%d\nlaunched=%d\nrunning=%d\nterminated=%d" % (n, len(ids), running,
                                                                 terminated))
    print("response_s=%.2f\nall_running_s=%.2f\nterminate_s=%.2f" % (resp_s, up_s, term_s))
    print("virsh_overlays_s=%.2f\nvirsh_creates_s=%.2f\nvirsh_all_running_s=%.2f\n"
          "virsh_destroy_s=%.2f" % (overlay_s, create_s, virsh_up_s, destroy_s))
    print("ratio_up=%.2f" % (up_s / virsh_up_s))
    if running != n or len(ids) != n:
        sys.exit("bench.py: %d of %d instances reached running" % (running, n))


def main(argv):
    cmds = {"sign": (cmd_sign, (4, 5, 6)), "count": (cmd_count, (4, 5)),
            "fetch": (cmd_fetch, 5), "cimi": (cmd_cimi, 5), "runcmp": (cmd_runcmp, (8, 9)),
            "countcmp": (cmd_countcmp, (8, 9))}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    fn, nargs = cmds[argv[1]]
    args = argv[2:]
    if len(args) not in (nargs if isinstance(nargs, tuple) else (nargs,)):
        sys.exit(__doc__)
    if argv[1] == "count" and len(args) == 5:
        args[4] = float(args[4])
    fn(*args)


if __name__ == "__main__":
    main(sys.argv)
