"""A second libvirt host on this machine, for tests with two zones.

A libvirtd of its own in a mount and network namespace: tmpfs-like
directories under a temp dir are bound over /run/libvirt, /var/lib/libvirt,
/etc/libvirt, /var/cache/libvirt and /var/log/libvirt, so it shares no
socket, state, pool or network with the host's own libvirtd (which keeps
running untouched).  A veth pair links the host (10.231.0.1/30) to the
namespace (10.231.0.2/30), where the daemon listens on TCP without auth:
the gateway reaches it as qemu+tcp://10.231.0.2/system, as it would a host
across the room (which would use qemu+ssh or qemu+tls instead).

A holder process (`sleep`) keeps both namespaces alive while libvirtd is
killed and restarted, so qemu guests started by the second host keep
running across a libvirtd SIGKILL and are re-attached on restart.

Everything started here is stopped by PID; cleanup() undoes every step
that was done, whatever failed.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

LIBVIRTD = "/usr/sbin/libvirtd"
HOST_ADDR = "10.231.0.1"
NS_ADDR = "10.231.0.2"
VETH_HOST = "cgh2-host"
VETH_NS = "cgh2-ns"
URI = "qemu+tcp://%s/system" % NS_ADDR
POOL = "cloudgate"
NETWORK = "cloudgate-isolated"
# The namespace's own isolated network (its own bridge, in its own netns).
NET_XML = """<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>%s</name>
  <bridge name='cgh2br0' stp='on' delay='0'/>
  <dns enable='no'/>
  <ip address='10.232.0.1' netmask='255.255.255.0'>
    <dhcp><range start='10.232.0.10' end='10.232.0.250'/></dhcp>
  </ip>
  <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>
</network>
""" % NETWORK
# Directories the second libvirtd gets to itself (/var/run is /run on Debian).
PRIVATE_DIRS = ("/run/libvirt", "/var/lib/libvirt", "/etc/libvirt", "/var/cache/libvirt",
                "/var/log/libvirt")
LIBVIRTD_CONF = """listen_tls = 0
listen_tcp = 1
listen_addr = "%s"
auth_tcp = "none"
auth_unix_ro = "none"
auth_unix_rw = "none"
""" % NS_ADDR
# No virtlogd in the namespace: qemu's console goes to a file.
QEMU_CONF = 'user = "root"\ngroup = "root"\nsecurity_driver = "none"\nstdio_handler = "file"\n'


def _run(cmd, check=True, timeout=120):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), r.returncode, r.stderr))
    return r


class SecondHost:
    def __init__(self):
        self.dir = None
        self.holder = None
        self.libvirtd = None
        self.veth = False

    # ---- namespace ----

    def _holder_script(self):
        """Inside the new namespaces: the private directories, a sysfs of
        this network namespace (libvirt reads bridges there) with the
        cgroup hierarchy carried over, then wait."""
        lines = ["set -e", "mount --make-rprivate /",
                 "mkdir -p %s/cg" % self.dir,
                 "mount --rbind /sys/fs/cgroup %s/cg" % self.dir,
                 "mount -t sysfs sysfs /sys",
                 "mount --rbind %s/cg /sys/fs/cgroup" % self.dir]
        for d in PRIVATE_DIRS:
            lines.append("mount --bind %s %s" % (self._private(d), d))
        lines += ["ip link set lo up", "echo ready", "exec sleep 1000000"]
        return "\n".join(lines)

    def _private(self, d):
        return os.path.join(self.dir, "root", d.strip("/").replace("/", "_"))

    def _write_etc(self):
        etc = self._private("/etc/libvirt")
        # The stock nwfilters (clean-traffic...) as the host has them.
        if os.path.isdir("/etc/libvirt/nwfilter"):
            shutil.copytree("/etc/libvirt/nwfilter", os.path.join(etc, "nwfilter"))
        with open(os.path.join(etc, "libvirtd.conf"), "w") as f:
            f.write(LIBVIRTD_CONF)
        with open(os.path.join(etc, "qemu.conf"), "w") as f:
            f.write(QEMU_CONF)
        open(os.path.join(etc, "libvirt.conf"), "w").close()

    def setup(self):
        self.dir = tempfile.mkdtemp(prefix="cg-host2-")
        for d in PRIVATE_DIRS:
            os.makedirs(self._private(d))
        os.makedirs(os.path.join(self.dir, "pool"))
        self._write_etc()
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--net", "--propagation", "private", "--",
             "sh", "-c", self._holder_script()],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.holder.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError("namespace holder failed: %s" % self.holder.stderr.read())
        _run(["ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS])
        self.veth = True
        _run(["ip", "link", "set", VETH_NS, "netns", str(self.holder.pid)])
        _run(["ip", "addr", "add", HOST_ADDR + "/30", "dev", VETH_HOST])
        _run(["ip", "link", "set", VETH_HOST, "up"])
        self.nsenter(["ip", "addr", "add", NS_ADDR + "/30", "dev", VETH_NS])
        self.nsenter(["ip", "link", "set", VETH_NS, "up"])
        self.start_libvirtd()
        self._define_pool_and_network()
        return self

    def nsenter(self, cmd, check=True, timeout=120):
        return _run(["nsenter", "-t", str(self.holder.pid), "-m", "-n", "--"] + cmd,
                    check=check, timeout=timeout)

    # ---- libvirtd ----

    def start_libvirtd(self, timeout=90):
        """libvirtd in the namespaces (nsenter execs it: the PID is the daemon's)."""
        log = open(os.path.join(self.dir, "libvirtd.log"), "a")
        self.libvirtd = subprocess.Popen(
            ["nsenter", "-t", str(self.holder.pid), "-m", "-n", "--", LIBVIRTD, "--listen",
             "--pid-file", os.path.join(self.dir, "libvirtd.pid")],
            stdout=log, stderr=log)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.libvirtd.poll() is not None:
                raise RuntimeError("second libvirtd exited %d: %s" % (
                    self.libvirtd.returncode, self.log_text()))
            if self.virsh("version", check=False).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError("second libvirtd did not answer on %s within %ds" % (URI, timeout))

    def kill_libvirtd(self):
        """SIGKILL the daemon by PID; its qemu guests and dnsmasq live on."""
        self.libvirtd.send_signal(signal.SIGKILL)
        self.libvirtd.wait(timeout=30)

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "libvirtd.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def virsh(self, *args, check=True, timeout=120):
        return _run(["virsh", "-c", URI] + list(args), check=check, timeout=timeout)

    def _define_pool_and_network(self):
        pool_dir = os.path.join(self.dir, "pool")
        self.virsh("pool-define-as", POOL, "dir", "--target", pool_dir)
        self.virsh("pool-start", POOL)
        self.virsh("pool-autostart", POOL)
        path = os.path.join(self.dir, "network.xml")
        with open(path, "w") as f:
            f.write(NET_XML)
        self.virsh("net-define", path)
        self.virsh("net-start", NETWORK)
        self.virsh("net-autostart", NETWORK)

    def qemu_pid(self, name):
        """The PID of the qemu process this host's libvirtd runs for domain name."""
        with open(os.path.join(self._private("/run/libvirt"), "qemu", name + ".pid")) as f:
            return int(f.read().strip())

    def running_domains(self):
        out = self.virsh("list", "--state-running", "--name").stdout
        return {l.strip() for l in out.splitlines() if l.strip()}

    # ---- cleanup ----

    def _namespace_pids(self):
        """Processes in the holder's network namespace (qemu, dnsmasq...)."""
        try:
            ns = os.readlink("/proc/%d/ns/net" % self.holder.pid)
        except OSError:
            return []
        pids = []
        for p in os.listdir("/proc"):
            if not p.isdigit() or int(p) == self.holder.pid:
                continue
            try:
                if os.readlink("/proc/%s/ns/net" % p) == ns:
                    pids.append(int(p))
            except OSError:
                pass
        return pids

    def cleanup(self):
        """Every guest, the daemon, what it left, the namespace, veth, dirs."""
        if self.libvirtd and self.libvirtd.poll() is None:
            for name in self.virsh("list", "--all", "--name", check=False).stdout.split():
                self.virsh("destroy", name, check=False)
                self.virsh("undefine", name, "--nvram", check=False)
            self.libvirtd.send_signal(signal.SIGTERM)
            try:
                self.libvirtd.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.libvirtd.kill()
                self.libvirtd.wait()
        if self.holder:
            # qemu or dnsmasq the daemon left (e.g. after a SIGKILL), by PID.
            for pid in self._namespace_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if self.holder.poll() is None:
                self.holder.kill()
            self.holder.wait()
            self.holder.stdout.close()
            self.holder.stderr.close()
        if self.veth:
            # Gone with the namespace's end of the pair; make sure.
            _run(["ip", "link", "del", VETH_HOST], check=False)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
