"""Security groups proven with real guest-to-guest traffic on qemu:///system.

Traffic guests (scripts/build-demo-guest.sh, CG_GUEST_ROLE=traffic) listen on
TCP 8080 and 9090 and run their user-data as a script: here, probe loops
that print "probe PORT open|closed" to the serial console, which this test
reads from the console log file libvirt writes.  The host never probes a
guest itself: traffic the host starts is not held to a guest's ingress rules
(../shared/docs/environment.md), so every probe is guest to guest.

  A  target, group sg-a (no ingress rule at first), default VPC
  B  probes A:8080 and A:9090 twice a second; on its first open 8080 it also
     opens a long-lived flow (the stream CGI: "tick N" once a second)
  C  another VPC, a group that lets everything in, probes A:8080
  D  probes A:8080; once it gets in, changes its IP, restores it, changes
     its MAC, restores it, probing all along (anti-spoofing)

A rule change is timed from the API call to the first probe that sees it.
While libvirt re-instantiates a NIC's filter it takes FORWARD's jumps to its
chains away for a moment; cloudgate's guard chain drops what passes then
(drivers/libvirt/lv_sg_guard.h), so a never-allowed port stays closed in
every probe, those that overlapped a change included
(test_rule_changes_leave_no_open_window checks iptables and the probes).
test_rule_change_on_a_group_shared_by_many times one change on a group
shared by CG_SG_FANOUT guests.

Skipped when qemu:///system has no nwfilter driver or no clean-traffic.
"""
import os
import re
import secrets
import subprocess
import threading
import time

import pytest

from cgharness import (Gateway, free_block24, ipset_members, nic_filter_name, remove_filters,
                       wait_for)
from conftest import register_guest, remove_instance_leftovers, virsh

URI = "qemu:///system"
BOOT_TIMEOUT = 300      # TCG on a shared CPU: generous, bounded
RULE_TIMEOUT = 90       # a rule change reaching a running guest
TYPE = "sgt.tiny"
# no_timer_check: a starved TCG guest otherwise may fail the kernel's
# IO-APIC timer check and panic at boot.
CMDLINE = "console=ttyS0 quiet no_timer_check"
# What the traffic test saw of the rule-change windows (the xfail below).
WINDOW = {}

PROBE_LIB = r"""#!/bin/sh
while [ ! -s /run/ip ]; do sleep 0.5; done
T=%(target)s
probe() {
  if printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 "$T" "$1" 2>/dev/null | grep -q cg-open; then
    echo "probe $1 open"; return 0
  fi
  echo "probe $1 closed"; return 1
}
"""

PROBER = PROBE_LIB + r"""
( while :; do probe 9090; sleep 0.5; done ) &
streaming=
while :; do
  if probe 8080 && [ -z "$streaming" ]; then
    streaming=1
    ( wget -q -O - "http://$T:8080/cgi-bin/stream" |
        while read -r l; do echo "stream $l"; done; echo "stream ended" ) &
  fi
  sleep 0.5
done
"""

LOOP = PROBE_LIB + r"""
while :; do probe 8080; sleep 0.5; done
"""

# Three opens in a row, then six probes with a spoofed IP, back, three opens,
# six probes with a spoofed MAC, back, three opens.
SPOOFER = PROBE_LIB + r"""
IP=$(cat /run/ip)
MAC=$(cat /sys/class/net/eth0/address)
until_open() { n=0; while [ $n -lt 3 ]; do if probe 8080; then n=$((n+1)); else n=0; fi; sleep 0.5; done; }
rounds() { i=0; while [ $i -lt 6 ]; do probe 8080; i=$((i+1)); sleep 0.5; done; }
set_mac() { ip link set eth0 down; ip link set eth0 address "$1"; ip link set eth0 up; }
# In twice, eight seconds apart: the world rule is in to stay, not a
# moment's state.
until_open; sleep 8; until_open
echo "phase ip-spoofed"
ip addr flush dev eth0; ip addr add %(spoof_ip)s/%(prefix)s dev eth0
rounds
echo "phase ip-restored"
ip addr flush dev eth0; ip addr add "$IP/%(prefix)s" dev eth0
until_open
echo "phase mac-spoofed"
set_mac %(spoof_mac)s
rounds
echo "phase mac-restored"
set_mac "$MAC"
until_open
echo "phase done"
"""


def has_nwfilter():
    try:
        r = virsh("nwfilter-list", check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and "clean-traffic" in r.stdout


class Console:
    """An instance's serial console log (the file libvirt writes)."""

    def __init__(self, iid):
        xml = virsh("dumpxml", iid).stdout
        self.iid = iid
        self.path = re.search(r"<log file='([^']+)'", xml).group(1)

    def text(self):
        try:
            with open(self.path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def lines(self, start=0):
        return [l.strip() for l in self.text()[start:].splitlines()]

    def mark(self):
        return len(self.text())

    def probes(self, port, start=0):
        """States of the probes of port printed after offset start."""
        pat = re.compile(r"probe %d (open|closed)$" % port)
        return [m.group(1) for m in map(pat.match, self.lines(start)) if m]

    def value(self, key):
        m = re.search(r"cloudgate-demo: %s=(\S+)" % key, self.text())
        return m.group(1) if m else None


def first_probe(con, port, state, start, timeout=RULE_TIMEOUT, then=3):
    """Seconds from now until con prints `probe port state` after offset
    start, after which its next `then` probes of port say the same.  A
    guest starved of CPU can miss a connect timeout, so one of those may be
    "closed" when the port is open; an "open" is never excused."""
    t0 = time.monotonic()
    seen = None
    while time.monotonic() - t0 < timeout:
        got = con.probes(port, start)
        if seen is None and state in got:
            seen = time.monotonic() - t0
        if seen is not None and len(got) > got.index(state) + then:
            after = got[got.index(state) + 1:][:then]
            misses = then - after.count(state)
            assert misses == 0 or (state == "open" and misses == 1), (
                con.iid, port, state, got)
            return seen
        time.sleep(0.2)
    raise AssertionError("%s: no `probe %d %s` (then %d more) within %ds; probes: %r" % (
        con.iid, port, state, then, timeout, con.probes(port, start)))


@pytest.fixture(scope="module")
def sgtgw(traffic_guest):
    if not has_nwfilter():
        pytest.skip("no nwfilter driver or clean-traffic on " + URI)
    gw = Gateway(zones=[("cloudgate-a", URI)], domain_type="qemu",
                 extra_libvirt="[instance-type %s]\nvcpus = 1\nmemory = 128\n" % TYPE)
    register_guest(gw, traffic_guest, "sg-traffic-test", CMDLINE)
    gw.launched, gw.groups, gw.vpcs = [], [], []
    gw.start()
    try:
        yield gw
    finally:
        cleanup(gw)


def cleanup(gw):
    """Everything the tests made goes, even after a failure: instances (by
    id), then groups, then VPCs; then libvirt leftovers by name."""
    ec2 = gw.client()
    if gw.proc and gw.proc.poll() is None:
        try:
            if gw.launched:
                ec2.terminate_instances(InstanceIds=gw.launched)
                ec2.get_waiter("instance_terminated").wait(
                    InstanceIds=gw.launched, WaiterConfig={"Delay": 2, "MaxAttempts": 90})
        except Exception as e:  # cleanup goes on; the leftovers below catch the rest
            print("terminate: %s" % e)
        for gid in gw.groups:
            try:
                ec2.delete_security_group(GroupId=gid)
            except Exception as e:
                print("delete %s: %s" % (gid, e))
        for vid in gw.vpcs:
            try:
                for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]}])[
                        "Subnets"]:
                    ec2.delete_subnet(SubnetId=s["SubnetId"])
                ec2.delete_vpc(VpcId=vid)
            except Exception as e:
                print("delete %s: %s" % (vid, e))
    gw.stop()
    for iid in gw.launched:
        remove_instance_leftovers(iid)
    gw.admin("image-deregister", gw.image_id, check=False)
    # The groups this gateway knew, its VPCs' default groups included, and
    # its instances' NIC filters: their state ends with it, so do their
    # filters.
    remove_filters(gw)


def group(gw, name, vpc_id):
    gid = gw.client().create_security_group(
        GroupName="%s-%s" % (name, secrets.token_hex(3)), Description="sg traffic test",
        VpcId=vpc_id)["GroupId"]
    gw.groups.append(gid)
    return gid


def launch(gw, gid, user_data="", subnet=None, count=1):
    kw = {"SubnetId": subnet} if subnet else {}
    res = gw.client().run_instances(ImageId=gw.image_id, InstanceType=TYPE, MinCount=count,
                                    MaxCount=count, SecurityGroupIds=[gid],
                                    UserData=user_data, **kw)
    ids = [i["InstanceId"] for i in res["Instances"]]
    gw.launched += ids
    # RunInstances answers pending; the domain (its console log, its NIC)
    # exists once the launch worker has started it.
    gw.client().get_waiter("instance_running").wait(
        InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    return ids


def nic_filter(iid, inactive=False):
    """The nwfilter instance iid's NIC names, live or in its definition."""
    xml = virsh("dumpxml", *(["--inactive"] if inactive else []), iid).stdout
    return re.search(r"<filterref filter='([^']+)'", xml).group(1)


def filter_names():
    return set(virsh("nwfilter-list").stdout.split()[1::2])


def booted(con, key="ip"):
    return wait_for("%s's %s= line on its console" % (con.iid, key),
                    lambda: con.value(key), timeout=BOOT_TIMEOUT, interval=0.5)


def tcp8080(**source):
    perm = {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080}
    perm.update(source)
    return [perm]


class ChainWatch:
    """Samples iptables while a rule change is applied: would a packet from
    another guest to the guest's NIC meet a DROP or an ACCEPT that is not
    its own filter's?  Walks FORWARD as the kernel does: libvirt-out's jump
    for the NIC goes to its chain (-g: when that chain ends without a
    verdict, FORWARD goes on); libvirt-in-post and LIBVIRT_FW* accept what
    reaches them, and so does FORWARD's policy; cloudgate's guard chain
    (CG-SG-GUARD, jumped to from the top of libvirt-in-post and from
    FORWARD) drops.  libvirt re-inserts FORWARD's jumps to its chains each
    time it applies a NIC's filter (lv_sg_guard.h): without the guard,
    traffic passes in between."""

    GUARD = "CG-SG-GUARD"

    def __init__(self, iid):
        self.vnet = re.search(r"(vnet\d+)", virsh("domiflist", iid).stdout).group(1)
        self.samples = self.unguarded = 0
        self.took = 0.0
        self.passed_by = {}     # what accepted the unguarded samples: how often
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def guarded(self):
        rules = subprocess.run(["iptables-save", "-t", "filter"], capture_output=True, text=True,
                               timeout=30).stdout.splitlines()
        got = self.verdict(rules)
        if got != "drop-or-own":
            self.passed_by[got] = self.passed_by.get(got, 0) + 1
        return got == "drop-or-own"

    def chain(self, rules, name):
        return [l for l in rules if l.startswith("-A %s " % name)]

    def guard_drops(self, rules):
        return any("--physdev-out %s " % self.vnet in l and l.endswith("-j DROP")
                   for l in self.chain(rules, self.GUARD))

    def verdict(self, rules):
        """"drop-or-own" (the NIC's complete chain or the guard decides) or
        what else accepts the packet."""
        for rule in self.chain(rules, "FORWARD"):
            target = rule.split()[-1]
            if target == "libvirt-in":
                continue    # the source's egress chain: RETURN for allowed egress
            if target == "libvirt-out":
                jumps = [l.split()[-1] for l in self.chain(rules, "libvirt-out")
                         if "--physdev-out %s " % self.vnet in l]
                own = self.chain(rules, jumps[0]) if jumps else []
                if own and own[-1].endswith("-j DROP"):
                    return "drop-or-own"
                continue    # no chain, or one still being filled: FORWARD goes on
            if target == self.GUARD:
                if self.guard_drops(rules):
                    return "drop-or-own"
                continue
            if target == "libvirt-in-post":
                for l in self.chain(rules, "libvirt-in-post"):
                    if l.endswith("-j " + self.GUARD) and self.guard_drops(rules):
                        return "drop-or-own"
                    if l.endswith("-j ACCEPT"):
                        return "libvirt-in-post"
                continue
            return target   # LIBVIRT_FWX and the like accept bridged guest traffic
        return "FORWARD policy"

    def run(self):
        while not self.stop.is_set():
            self.samples += 1
            self.unguarded += not self.guarded()

    def __enter__(self):
        assert self.guarded(), "the NIC's chain has no final DROP before any change"
        self.t0 = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.took = time.monotonic() - self.t0
        self.stop.set()
        self.thread.join()


class Changes:
    """Rule changes on a group, with the stretch of each console that each
    one covered (from just before the call to just after it returned)."""

    def __init__(self, ec2, group_id, consoles):
        self.ec2, self.gid, self.consoles = ec2, group_id, consoles
        self.windows = {con.iid: [] for con in consoles}

    def __call__(self, verb, perm):
        """Offset of consoles[0] before the call, and the call's seconds."""
        call = getattr(self.ec2, "%s_security_group_ingress" % verb)
        starts = [con.mark() for con in self.consoles]
        t0 = time.monotonic()
        call(GroupId=self.gid, IpPermissions=perm)
        took = time.monotonic() - t0
        for con, start in zip(self.consoles, starts):
            self.windows[con.iid].append((start, con.mark()))
        return starts[0], took

    def split(self, con, port, skip=()):
        """(probes of port that started after a change had returned or
        before it began, probes that may have overlapped a change).  A probe
        printed after a window ends may have started inside it: the first one
        after each window counts as overlapping.  Probes printed inside a
        span of skip are left out."""
        text = con.text()
        pat = re.compile(r"probe %d (open|closed)\r?$" % port, re.M)
        found = [(m.start(), m.group(1)) for m in pat.finditer(text)]
        clear, overlapping = [], []
        for k, (pos, state) in enumerate(found):
            if any(a <= pos < b for a, b in skip):
                continue
            prev = found[k - 1][0] if k else -1
            near = any(a <= pos < b or prev < b <= pos for a, b in self.windows[con.iid])
            (overlapping if near else clear).append(state)
        return clear, overlapping


@pytest.fixture
def consoles():
    """The consoles a test opened; their tails are printed (pytest shows
    them when the test fails, or always with -s)."""
    opened = []
    yield opened
    for con in opened:
        print("\n---- %s console (tail) ----\n%s" % (con.iid, "\n".join(con.lines()[-40:])))


def test_guest_to_guest_traffic_follows_the_rules(sgtgw, consoles):
    gw = sgtgw
    ec2 = gw.client()
    vpc1 = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    vpc2_net = free_block24("10.217.0")
    vpc2 = ec2.create_vpc(CidrBlock=vpc2_net + ".0/24")["Vpc"]["VpcId"]
    gw.vpcs.append(vpc2)
    sub2 = ec2.create_subnet(VpcId=vpc2, CidrBlock=vpc2_net + ".0/24",
                             AvailabilityZone="cloudgate-a")["Subnet"]["SubnetId"]
    sg_a, sg_b, sg_d = (group(gw, n, vpc1["VpcId"]) for n in ("sgt-a", "sgt-b", "sgt-d"))
    sg_c = group(gw, "sgt-c", vpc2)
    ec2.authorize_security_group_ingress(GroupId=sg_c, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

    [a] = launch(gw, sg_a)
    con_a = Console(a)
    consoles.append(con_a)
    a_ip = booted(con_a)
    net = vpc1["CidrBlock"].split("/")[0].rsplit(".", 1)[0]
    # Unused: the network's DHCP range starts above it.
    spoof_ip = net + ".77"
    [b] = launch(gw, sg_b, PROBER % {"target": a_ip})
    [c] = launch(gw, sg_c, LOOP % {"target": a_ip}, subnet=sub2)
    [d] = launch(gw, sg_d, SPOOFER % {"target": a_ip, "spoof_ip": spoof_ip,
                                      "prefix": vpc1["CidrBlock"].split("/")[1],
                                      "spoof_mac": "52:54:00:5a:5a:5a"})
    con_b, con_c, con_d = Console(b), Console(c), Console(d)
    consoles += [con_b, con_c, con_d]
    b_ip, c_ip, d_ip = booted(con_b), booted(con_c), booted(con_d)
    assert c_ip.startswith(vpc2_net + "."), c_ip
    assert len({a_ip, b_ip, d_ip, spoof_ip}) == 4
    print("\nA %s  B %s  C %s (other VPC)  D %s" % (a_ip, b_ip, c_ip, d_ip))

    # 1. No rule: closed.
    first_probe(con_b, 8080, "closed", 0, timeout=BOOT_TIMEOUT)
    first_probe(con_b, 9090, "closed", 0, timeout=BOOT_TIMEOUT)

    # By CIDR: B's /32.
    change = Changes(ec2, sg_a, [con_b, con_d])
    mark, took = change("authorize", tcp8080(IpRanges=[{"CidrIp": b_ip + "/32"}]))
    t_open = first_probe(con_b, 8080, "open", mark)
    print("by CIDR: Authorize took %.1f s" % took)
    wait_for("B's long-lived flow", lambda: len(
        [l for l in con_b.lines(mark) if l.startswith("stream tick")]) >= 3, timeout=60,
        interval=0.5)
    mark, took = change("revoke", tcp8080(IpRanges=[{"CidrIp": b_ip + "/32"}]))
    t_closed = first_probe(con_b, 8080, "closed", mark)
    print("by CIDR: Revoke took %.1f s" % took)
    print("by CIDR: open %.1f s after Authorize, closed %.1f s after Revoke" % (
        t_open, t_closed))

    # 2. Established flows outlive the revoke (AWS: a tracked connection is
    # not cut when the rule that let it in goes).
    # Counted from when B has seen the port closed four times over.
    after = con_b.mark()

    def ticks():
        return [int(l.split()[-1]) for l in con_b.lines(after)
                if re.match(r"stream tick \d+$", l)]
    wait_for("ticks of the flow opened before the revoke", lambda: len(ticks()) >= 4,
             timeout=RULE_TIMEOUT, interval=0.5)
    assert ticks() == sorted(ticks()) and "stream ended" not in con_b.lines(mark), ticks()

    # By source group: B's group.
    mark, _ = change("authorize", tcp8080(UserIdGroupPairs=[{"GroupId": sg_b}]))
    t_open_g = first_probe(con_b, 8080, "open", mark)
    mark, _ = change("revoke", tcp8080(UserIdGroupPairs=[{"GroupId": sg_b}]))
    t_closed_g = first_probe(con_b, 8080, "closed", mark)
    print("by source group: open %.1f s after Authorize, closed %.1f s after Revoke" % (
        t_open_g, t_closed_g))
    # Every protocol from B's group: one rule naming the group's ipset
    # (drivers/libvirt/lv_sg_ipset.h), which holds B's address.  It opens
    # 9090 too: B's probes of 9090 from the Authorize until 8080 is seen
    # closed again are left out of the "never allowed" count below.
    every = [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sg_b}]}]
    every_from = con_b.mark()
    mark, _ = change("authorize", every)
    t_open_s = first_probe(con_b, 8080, "open", mark)
    wait_for("B's 9090 open by the every-protocol rule",
             lambda: "open" in con_b.probes(9090, mark), timeout=RULE_TIMEOUT, interval=0.5)
    mark, _ = change("revoke", every)
    t_closed_s = first_probe(con_b, 8080, "closed", mark)
    every_span = (every_from, con_b.mark())
    print("by source group, every protocol: open %.1f s after Authorize, closed %.1f s "
          "after Revoke" % (t_open_s, t_closed_s))
    # D was in neither rule: closed in every probe, during changes too.
    clear_d, near_d = change.split(con_d, 8080)
    assert len(clear_d) >= 5 and set(clear_d + near_d) == {"closed"}, (clear_d, near_d)
    assert "phase ip-spoofed" not in con_d.lines(), "D got in before the world rule"

    # 3 and 4. Open to the world: B and D get in, C in the other VPC does not.
    mark_c = con_c.mark()
    with ChainWatch(a) as watch:
        mark_b, _ = change("authorize", tcp8080(IpRanges=[{"CidrIp": "0.0.0.0/0"}]))
    WINDOW["samples"], WINDOW["unguarded"] = watch.samples, watch.unguarded
    WINDOW["apply"] = watch.took
    print("while the world rule went in (%.1f s), %d of %d iptables samples let A's traffic "
          "pass by its filter %r" % (watch.took, watch.unguarded, watch.samples,
                                     watch.passed_by))
    t_world = first_probe(con_b, 8080, "open", mark_b)
    wait_for("C probing after the world rule", lambda: len(con_c.probes(8080, mark_c)) >= 6,
             timeout=RULE_TIMEOUT, interval=0.5)
    got_c = con_c.probes(8080)
    assert len(got_c) >= 6 and set(got_c) == {"closed"}, got_c

    wait_for("D's spoofing sequence", lambda: "phase done" in con_d.lines(),
             timeout=3 * RULE_TIMEOUT, interval=1)
    phases = spoof_phases(con_d.lines())
    print("D: " + "  ".join("%s %s" % (k, "".join(s[0] for s in v)) for k, v in phases))
    got = dict(phases)
    assert got["ip-spoofed"] == ["closed"] * 6, phases
    assert got["mac-spoofed"] == ["closed"] * 6, phases
    for name in ("start", "ip-restored", "mac-restored"):
        assert got[name][-3:] == ["open"] * 3, phases

    # 5. A's groups change while it runs (ModifyInstanceAttribute): its NIC
    # moves to the shared filter of its new set of groups (D's, for
    # [sg_d]), libvirt keeps the address it learned, and the new rules
    # apply at once.  B's probes of 9090 meanwhile count below as outside
    # rule changes: the swap must not open a window either.
    mark = con_b.mark()
    t0 = time.monotonic()
    ec2.modify_instance_attribute(InstanceId=a, Groups=[sg_d])
    took = time.monotonic() - t0
    assert nic_filter(a) == nic_filter(d) == nic_filter_name([sg_d])
    assert nic_filter(a, inactive=True) == nic_filter_name([sg_d])
    # A was the only NIC in [sg_a] alone: that filter is gone.
    assert nic_filter_name([sg_a]) not in filter_names()
    t_out = first_probe(con_b, 8080, "closed", mark)
    mark = con_b.mark()
    ec2.modify_instance_attribute(InstanceId=a, Groups=[sg_d, sg_a])
    assert nic_filter(a) == nic_filter_name([sg_a, sg_d])
    t_back = first_probe(con_b, 8080, "open", mark)
    got = ec2.describe_instances(InstanceIds=[a])["Reservations"][0]["Instances"][0]
    assert sorted(g["GroupId"] for g in got["SecurityGroups"]) == sorted([sg_a, sg_d])
    print("groups of running A: ModifyInstanceAttribute took %.1f s; B closed %.1f s after "
          "A left its world-open group, open %.1f s after A was back" % (took, t_out, t_back))

    # 9090 was never allowed: closed in every probe, during changes too.
    clear, overlapping = change.split(con_b, 9090, skip=[every_span])
    overlapping += near_d
    WINDOW["opens"] = overlapping.count("open")
    WINDOW["probes"] = len(overlapping)
    print("world rule: B open %.1f s after Authorize; B probed 9090 %d times outside rule "
          "changes; %d of %d probes overlapping a change got in" % (
              t_world, len(clear), WINDOW["opens"], len(overlapping)))
    assert len(clear) >= 10 and set(clear) == {"closed"}, (clear, overlapping)
    assert WINDOW["opens"] == 0, (clear, overlapping)


def spoof_phases(lines):
    """[(phase, [8080 probe states])] of the spoofer's console, in order."""
    out = [("start", [])]
    for l in lines:
        m = re.match(r"phase (\S+)$", l)
        if m:
            out.append((m.group(1), []))
            continue
        m = re.match(r"probe 8080 (open|closed)$", l)
        if m:
            out[-1][1].append(m.group(1))
    return out


def test_rule_changes_leave_no_open_window():
    """A rule change must never let in what neither the old nor the new
    rules allow.  Uses what the traffic test recorded: it fails, not skips,
    when that test did not get so far."""
    assert "opens" in WINDOW, "the traffic test did not record the rule-change samples"
    # The sampler must have looked many times while libvirt worked (each
    # NIC's apply re-inserts FORWARD's jumps once: a sparse sampler could
    # miss the moment).
    assert WINDOW["samples"] >= 20, WINDOW
    assert WINDOW["unguarded"] == 0 and WINDOW["opens"] == 0, (
        "%(unguarded)d of %(samples)d samples of iptables during one change sent the NIC's "
        "traffic to a chain without its final DROP; %(opens)d of %(probes)d probes of a port "
        "never allowed got in while a change was applied" % WINDOW)


def test_rule_change_on_a_group_shared_by_many(sgtgw):
    """The time one Authorize takes to reach a group shared by N running
    guests (CG_SG_FANOUT, default 4 to keep CI short; the issue asks for the figure at 20)."""
    gw = sgtgw
    ec2 = gw.client()
    n = int(os.environ.get("CG_SG_FANOUT", "4"))
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    gid = group(gw, "sgt-many", vpc["VpcId"])
    # Members reach each other, as in a VPC's default group: one rule
    # naming the group's own set (drivers/libvirt/lv_sg_ipset.h).
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": gid}]}])
    name = "cg-sg-" + gid
    before = virsh("nwfilter-dumpxml", name).stdout
    assert "ipset='%s'" % name in before, before
    t0 = time.monotonic()
    ids = launch(gw, gid, count=n)
    ec2.get_waiter("instance_running").wait(InstanceIds=ids,
                                            WaiterConfig={"Delay": 2, "MaxAttempts": 150})
    launched = time.monotonic() - t0

    # Each member's address joins the set when its lease is known, and the
    # group's filter stays as it was: no re-apply on every member's NIC
    # for every member (N^2 with one rule per member address).
    def addresses():
        res = ec2.describe_instances(InstanceIds=ids)["Reservations"]
        return sorted(i.get("PrivateIpAddress", "") for r in res for i in r["Instances"])
    wait_for("the members' addresses in the group's set",
             lambda: "" not in addresses() and sorted(ipset_members(name) or []) == addresses(),
             timeout=BOOT_TIMEOUT, interval=1)
    assert virsh("nwfilter-dumpxml", name).stdout == before
    # One NIC filter for the N NICs: a launch into a set of groups that
    # already has NICs defines none (each define waits for libvirt's
    # nwfilter lock behind every NIC being started).
    shared = nic_filter_name([gid])
    assert {nic_filter(i) for i in ids} == {shared}
    # Every NIC carries the group's rules before the change is timed.
    vnets = [re.search(r"(vnet\d+)", virsh("domiflist", i).stdout).group(1) for i in ids]

    def filtered():
        # libvirt-out's jump, not the guard's DROP (there from the NIC's start).
        rules = [l for l in subprocess.run(["iptables-save", "-t", "filter"],
                                           capture_output=True, text=True,
                                           timeout=30).stdout.splitlines()
                 if l.startswith("-A libvirt-out ")]
        return all(any("--physdev-out %s " % v in l for l in rules) for v in vnets)
    wait_for("every NIC's chain", filtered, timeout=BOOT_TIMEOUT, interval=1)
    t0 = time.monotonic()
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=tcp8080(
        IpRanges=[{"CidrIp": "10.99.0.0/16"}]))
    took = time.monotonic() - t0
    # The change is in every NIC's chain when the call returns.
    rules = subprocess.run(["iptables-save", "-t", "filter"], capture_output=True, text=True,
                           timeout=30).stdout.splitlines()
    for v in vnets:
        jump = [l.split()[-1] for l in rules if l.startswith("-A libvirt-out ") and
                "--physdev-out %s " % v in l][0]
        assert any(l.startswith("-A %s " % jump) and "-s 10.99.0.0/16" in l and
                   "--dport 8080" in l for l in rules), v
    print("\n%d guests in one group: launched in %.1f s; one Authorize took %.1f s "
          "(%.2f s per NIC)" % (n, launched, took, took / n))
    ec2.terminate_instances(InstanceIds=ids)
    # The last NIC's release drops the shared filter.
    wait_for("the shared NIC filter's removal", lambda: shared not in filter_names(),
             timeout=120, interval=1)
