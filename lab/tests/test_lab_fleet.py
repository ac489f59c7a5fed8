"""A fleet of laptops, and `down --all` leaving nothing behind. Uses a lab root of its own."""
import os
import shutil
import subprocess
import time
import uuid

import pytest

from wifibox_lab import api
from wifibox_lab.lab import DEFAULT_ROOT

pytestmark = pytest.mark.lab
ANSIBLE = os.path.join(os.path.dirname(__file__), "..", "..", ".venv", "bin", "ansible")
CLI = os.path.join(os.path.dirname(__file__), "..", "..", ".venv", "bin", "wifibox-lab")


@pytest.fixture
def own_root():
    root = os.path.join(DEFAULT_ROOT, "fleet-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8]))
    yield root
    api.down_all(root)
    shutil.rmtree(root, ignore_errors=True)


def start_time(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


def identities(netns):
    """What identifies this lab's namespaces and root-side links, beyond their names.

    Names (wflN) are reused as soon as a slot is free, so a lab started by someone else
    right after `down --all` may hold the same names: compare the namespace's nsfs inode
    and the link's ifindex (never reused while the machine runs) instead.
    """
    inodes = {}
    for n in netns:
        try:
            inodes[n] = os.stat("/run/netns/" + n).st_ino
        except OSError:
            pass
    ifindexes = {}
    for line in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines():
        index, name = line.split(":")[0].strip(), line.split(":")[1].strip().split("@")[0]
        if name in netns:
            ifindexes[name] = index
    return inodes, ifindexes


def leftovers(root, ids, pids):
    """Everything this lab left on the machine: namespaces, links, mounts, processes, dirs."""
    inodes, ifindexes = ids
    found = []
    for n, inode in inodes.items():
        try:
            if os.stat("/run/netns/" + n).st_ino == inode:
                found.append("netns " + n)
        except OSError:
            pass
    for line in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines():
        index, name = line.split(":")[0].strip(), line.split(":")[1].strip().split("@")[0]
        if ifindexes.get(name) == index:
            found.append("link " + name)
    ours = set("net:[%d]" % inode for inode in inodes.values())
    with open("/proc/self/mountinfo") as f:
        found += ["mount %s (%s)" % (l.split()[4], l.split()[3]) for l in f if root in l or l.split()[3] in ours]
    for pid, started in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # fields[19] is the start time: a reused pid is someone else's process
            if fields[0] != "Z" and fields[19] == started:
                found.append("process %d" % pid)
        except OSError:
            pass
    from wifibox_lab.lab import SLOTS
    for slot in os.listdir(SLOTS):
        try:
            with open(os.path.join(SLOTS, slot)) as f:
                if f.read().startswith(root + "/"):
                    found.append("address slot " + slot)
        except OSError:
            pass  # another lab freed that slot while we listed them
    if os.path.isdir(os.path.join(root, "laptops")) and os.listdir(os.path.join(root, "laptops")):
        found.append("laptop dirs")
    return found


def test_fleet_of_20_answers_ping_and_down_all_leaves_nothing(own_root):
    from wifibox_lab.laptop import processes_in_netns
    t0 = time.monotonic()
    r = subprocess.run([CLI, "--root", own_root, "up", "fleet", "--profile", "thinkpad-t480",
                        "--count", "20"], capture_output=True, text=True, timeout=240)
    up_time = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 20
    inv = subprocess.run([CLI, "--root", own_root, "inventory"], capture_output=True,
                         text=True).stdout.strip()
    r = subprocess.run([ANSIBLE, "-i", inv, "lab", "-f", "20", "-m", "ansible.builtin.ping"],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert r.stdout.count('"ping": "pong"') == 20
    the_lab = api.lab(own_root)
    netns = [the_lab.info(n)["netns"] for n in the_lab.names()]
    # give one laptop a running VM-ish daemon and network objects, to be torn down too
    lp = api.get("fleet01", own_root)
    lp.sh("ifconfig bridge create name wifibox0 >/dev/null; daemon -P /var/run/x.pid sleep 600")
    pids = [(p, start_time(p)) for n in netns for p in processes_in_netns(n)]
    ids = identities(netns)
    assert len(ids[0]) == 20 and len(ids[1]) == 20
    assert len(pids) >= 40  # nsinit + sshd per laptop
    r = subprocess.run([CLI, "--root", own_root, "down", "--all"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    end = time.monotonic() + 5  # SIGKILLed processes may take a moment to go
    while leftovers(own_root, ids, pids) and time.monotonic() < end:
        time.sleep(0.1)
    assert leftovers(own_root, ids, pids) == []
    print("fleet of 20 up in %.1f s" % up_time)
