"""The first process of a lab laptop, run inside its new network, mount and UTS namespaces.

It mounts the laptop's FreeBSD file tree over the Linux paths, starts the laptop's sshd,
then stays as the anchor other lab processes `nsenter` through, reaping orphans
(it is a child subreaper) until SIGTERM. Started by `laptop.start`, never by hand:
    ip netns exec NS unshare --mount --uts --propagation private python3 -S nsinit.py DIR NAME
"""
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36

# (Linux mount point, how) — overlays keep Linux's own files usable under the laptop's.
# The order matters: /usr/bin and /usr/sbin put the simulator in front of Linux's tools.
DEV_NODES = ["null", "zero", "full", "random", "urandom", "tty", "net/tun", "kvm"]


def sh(*argv):
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)


def overlay(target, lower, upper=None, work=None):
    opts = "lowerdir=" + lower
    if upper:
        opts += ",upperdir=%s,workdir=%s" % (upper, work)
    sh("mount", "-t", "overlay", "-o", opts, "overlay", target)


def bind(src, target):
    sh("mount", "--bind", src, target)


def make_dev(d):
    """A private /dev: Linux's basic nodes, a new devpts, and the laptop's /dev/vmm."""
    stage = os.path.join(d, "devstage")
    sh("mount", "-t", "tmpfs", "-o", "mode=755,size=1m", "lab-dev", stage)
    for node in DEV_NODES:
        src = "/dev/" + node
        if not os.path.exists(src):
            continue
        dst = os.path.join(stage, node)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        open(dst, "w").close()
        bind(src, dst)
    for sub in ("pts", "shm", "vmm"):
        os.mkdir(os.path.join(stage, sub))
    sh("mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=620,gid=5", "devpts",
       os.path.join(stage, "pts"))
    sh("mount", "-t", "tmpfs", "-o", "mode=1777", "lab-shm", os.path.join(stage, "shm"))
    bind(os.path.join(d, "fs/dev/vmm"), os.path.join(stage, "vmm"))
    os.symlink("pts/ptmx", os.path.join(stage, "ptmx"))
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink("/proc/self/fd/%d" % i, os.path.join(stage, name))
    os.symlink("/proc/self/fd", os.path.join(stage, "fd"))
    sh("mount", "--move", stage, "/dev")


def mount_laptop(d):
    fs = lambda p: os.path.join(d, "fs", p)  # noqa: E731
    work = lambda p: os.path.join(d, "work", p)  # noqa: E731
    overlay("/etc", "/etc", fs("etc"), work("etc"))
    overlay("/var", "/var", fs("var"), work("var"))
    overlay("/usr/bin", os.path.join(d, "sim/usr.bin") + ":/usr/bin")
    overlay("/usr/sbin", os.path.join(d, "sim/usr.sbin") + ":/usr/sbin")
    for target, src in (("/usr/local", "usr/local"), ("/boot", "boot"), ("/root", "root"),
                        ("/run", "run"), ("/tmp", "tmp")):
        bind(fs(src), target)
    make_dev(d)


def main(d, name):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    socket.sethostname(name)
    mount_laptop(d)
    sh("ip", "link", "set", "lo", "up")
    log = open(os.path.join(d, "sshd.log"), "ab")
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", os.path.join(d, "sshd_config")],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)
        for pid in children():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    signal.signal(signal.SIGTERM, stop)
    with open(os.path.join(d, "nsinit.ready"), "w") as f:
        f.write("%d %d\n" % (os.getpid(), sshd.pid))
    while True:
        try:
            os.wait()
        except ChildProcessError:
            if stopping:
                return 0
            time.sleep(0.5)
        except InterruptedError:
            pass


def children():
    """Direct children of this process (sshd, and orphans we adopted as subreaper)."""
    me = str(os.getpid())
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if fields[1] == me:
                    out.append(int(pid))
            except OSError:
                pass
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
