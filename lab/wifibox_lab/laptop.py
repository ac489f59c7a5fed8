"""One lab laptop's life: create (namespaces, veth, sshd), run commands inside, destroy.

Inside, a laptop is a network namespace `wfl<slot>` plus a mount/UTS namespace held by
its nsinit process; the controller reaches its sshd over the veth `wfl<slot>`.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

from . import rootfs
from .freebsd import state as statefile
from .lab import SLOTS, LabError, inventory_yaml

NSINIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nsinit.py")


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


class Laptop:
    def __init__(self, lab, name):
        self.lab = lab
        self.name = name
        self.dir = lab.laptop_dir(name)

    # ---- facts -----------------------------------------------------------------------------
    @property
    def info(self):
        return self.lab.info(self.name)

    @property
    def address(self):
        return self.info["address"]

    @property
    def netns(self):
        return self.info["netns"]

    def anchor_pid(self):
        with open(os.path.join(self.dir, "nsinit.ready")) as f:
            return int(f.read().split()[0])

    def state(self):
        return statefile.read(self.dir)

    # ---- life --------------------------------------------------------------------------------
    def create(self, profile, boot=True):
        """Build the laptop and start it; on any failure everything built is removed."""
        if not self.name.replace("-", "").replace("_", "").isalnum() or len(self.name) > 40:
            raise LabError("bad laptop name %r (letters, digits, - and _)" % self.name)
        try:
            os.makedirs(self.dir)
        except FileExistsError:
            raise LabError("laptop %s already exists" % self.name) from None
        slot = self.lab.claim_slot(self.dir)
        try:
            host_addr, addr = self.lab.addresses(slot)
            info = {"name": self.name, "profile": profile, "slot": slot, "address": addr,
                    "host_address": host_addr, "netns": "wfl%d" % slot,
                    "veth": "wfl%d" % slot, "dir": self.dir}
            with open(self.lab.key + ".pub") as f:
                pubkey = f.read()
            prof = rootfs.build(self.dir, self.name, profile, addr, pubkey)
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.name,
                            "-f", os.path.join(self.dir, "ssh_host_ed25519_key")], check=True)
            with open(os.path.join(self.dir, "ssh_host_ed25519_key.pub")) as f:
                info["host_key"] = " ".join(f.read().split()[:2])
            info["mgmt_if"] = prof["mgmt_if"]
            with open(os.path.join(self.dir, "lab.json"), "w") as f:
                json.dump(info, f, indent=1)
            self._network(info)
            self._start(info)
            if boot:
                from . import lifecycle
                lifecycle.boot(self)
        except BaseException:
            self.destroy()
            raise
        self.lab.refresh_access_files()
        with open(self.inventory_path, "w") as f:
            f.write(inventory_yaml([self.info], self.lab.key, self.lab.known_hosts))
        return self

    @property
    def inventory_path(self):
        """An Ansible inventory holding just this laptop."""
        return os.path.join(self.dir, "inventory.yml")

    def _network(self, info):
        ns, veth = info["netns"], info["veth"]
        ip("netns", "add", ns)
        ip("link", "add", veth, "type", "veth", "peer", "name", info["mgmt_if"], "netns", ns)
        ip("addr", "add", info["host_address"] + "/30", "dev", veth)
        ip("link", "set", veth, "up")
        ip("-n", ns, "addr", "add", info["address"] + "/30", "dev", info["mgmt_if"])
        ip("-n", ns, "link", "set", info["mgmt_if"], "up")

    def _start(self, info):
        log = open(os.path.join(self.dir, "nsinit.log"), "ab")
        subprocess.Popen(
            ["ip", "netns", "exec", info["netns"], "unshare", "--mount", "--uts",
             "--propagation", "private", os.path.join(self.dir, "python3.11"), "-S", NSINIT,
             self.dir, self.name],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.path.exists(os.path.join(self.dir, "nsinit.ready")) and self._port_open():
                return
            time.sleep(0.02)
        raise LabError("laptop %s did not start; see %s/nsinit.log and sshd.log"
                       % (self.name, self.dir))

    def _port_open(self):
        try:
            with socket.create_connection((self.info["address"], 22), timeout=0.5):
                return True
        except OSError:
            return False

    def destroy(self):
        """Kill every process of the laptop, delete its netns, unclaim its slot, remove its dir."""
        try:
            info = self.info
        except OSError:
            info = None
        if info:
            self._kill_all(info)
            ip("netns", "del", info["netns"], check=False)
            ip("link", "del", info["veth"], check=False)
            self.lab.release_slot(info["slot"])
        elif os.path.isdir(self.dir):
            # died before lab.json was written: the slot file names this dir
            for n in os.listdir(SLOTS) if os.path.isdir(SLOTS) else []:
                try:
                    with open(os.path.join(SLOTS, n)) as f:
                        if f.read() == self.dir:
                            self.lab.release_slot(int(n))
                except OSError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.lab.refresh_access_files()

    def _kill_all(self, info):
        """Kill the laptop's processes so that none is left, not even as a zombie.

        Everything but nsinit dies first (nsinit, a child subreaper, reaps them), then
        nsinit itself; whatever is still there after that gets SIGKILL.
        """
        try:
            anchor = self.anchor_pid()
        except (OSError, ValueError, IndexError):
            anchor = None
        pids = set(processes_in_netns(info["netns"]))
        if anchor:
            try:
                ino = os.stat("/proc/%d/ns/net" % anchor).st_ino
                pids |= {int(p) for p in os.listdir("/proc") if p.isdigit()
                         and _ns_ino(p) == ino}
            except OSError:
                pass
        for pid in pids - {anchor}:
            _kill(pid, signal.SIGKILL)
        if anchor in pids:
            deadline = time.monotonic() + 1
            while time.monotonic() < deadline and \
                    any(os.path.exists("/proc/%d" % p) and _alive(p) for p in pids - {anchor}):
                time.sleep(0.01)
            _kill(anchor, signal.SIGTERM)
            deadline = time.monotonic() + 1
            while time.monotonic() < deadline and _alive(anchor):
                time.sleep(0.01)
        for pid in pids:
            if _alive(pid):
                _kill(pid, signal.SIGKILL)

    # ---- running things inside ----------------------------------------------------------------
    def nsenter(self, argv, **kw):
        """Run argv inside the laptop (its mounts, network, hostname) as root, like the console."""
        cmd = ["nsenter", "-t", str(self.anchor_pid()), "-m", "-n", "-u", "--",
               "/usr/bin/env", "-i", "PATH=" + rootfs.PATH, "HOME=/root", *argv]
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(cmd, **kw)

    def sh(self, script, **kw):
        """Run a /bin/sh script inside the laptop (like its console). -> CompletedProcess."""
        return self.nsenter(["/bin/sh", "-c", script], **kw)

    def write_file(self, path, text, mode=0o644):
        """Write a file as the laptop sees it (through its overlays)."""
        r = self.nsenter(["/bin/sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1" && '
                          'chmod %o "$1"' % mode, "sh", path], input=text)
        if r.returncode:
            raise LabError("writing %s failed: %s" % (path, r.stderr))

    def read_file(self, path):
        r = self.nsenter(["cat", path])
        if r.returncode:
            raise FileNotFoundError(path)
        return r.stdout

    def ssh_argv(self, *command):
        return ["ssh", "-F", self.lab.ssh_config, self.name, *command]

    def ssh(self, *command, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(self.ssh_argv(*command), **kw)


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _ns_ino(pid):
    try:
        return os.stat("/proc/%s/ns/net" % pid).st_ino
    except OSError:
        return None


def _alive(pid):
    """Running (not gone, not a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def netns_inode(name):
    try:
        return os.stat("/run/netns/" + name).st_ino
    except FileNotFoundError:
        return None


def processes_in_netns(name):
    """PIDs whose network namespace is the named one (every process of a laptop)."""
    ino = netns_inode(name)
    if ino is None:
        return []
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat("/proc/%s/ns/net" % pid).st_ino == ino:
                out.append(int(pid))
        except OSError:
            pass
    return out
