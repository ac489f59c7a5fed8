"""The program the lab's bhyve runs in the guest's place: the VM under qemu (TCG).

bhyve (sim/bhyve.py) has already checked its argv and devices as real bhyve does and
passes the VM as JSON in $WIFIBOX_LAB_VM. This maps it to qemu:

* the boot disks: the first virtio-blk/ahci-hd/nvme image must be the lab's esp.img (a
  Linux kernel), the second its root.img (the initramfs) -- `pkg install wifibox-alpine`
  puts them where wifibox-alpine does; `-l bootrom,...` is honoured by qemu's own firmware;
* `-s N,e1000|virtio-net,TAP` -> a qemu NIC of that model on that same tap;
* `-s N,virtio-9p,NAME=PATH[,ro]` -> a 9P share with mount tag NAME (read-only with ro);
* `-m`, `-c` -> qemu -m / -smp;
* a passthru device -> the guest gets an mac80211_hwsim radio as wlan0, and the far side of
  the air (guest/air.py) arrives over the lab-only share `labair`, not on bhyve's line;
* `-l com1,/dev/nmdmXA` -> the serial console on a socket that `cu -l /dev/nmdmXB` reaches;
* SIGTERM -> the ACPI power button (QMP system_powerdown): the guest powers off cleanly;
* exit status as bhyve's: 1 powered off, 0 rebooted, 4 anything else (qemu error, crash).

qemu's resident memory is recorded in the laptop state (vms[NAME]["rss_mb"]), where the
memory model counts it. Files: LAPTOP/guest/NAME.{log,serial,qmp,con}.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from wifibox_lab.freebsd import state  # noqa: E402

QEMU = "qemu-system-x86_64"
BLOCK = ("virtio-blk", "ahci-hd", "nvme")
NIC_MODEL = {"e1000": "e1000", "virtio-net": "virtio-net-pci"}
OUTCOME_STATUS = {"poweroff": 1, "reboot": 0, "halt": 2, "triplefault": 3, "error": 4}


# Kernel options for lab overhead only (TCG emulates every instruction): the crypto API's
# boot-time self-tests of its own algorithms cost about 0.5 s of every boot and of every
# crypto module's load under TCG (milliseconds on bhyve's hardware); WPA's crypto is still
# proven by the association the tests require.
LAB_APPEND = ["cryptomgr.notests"]


class GuestError(Exception):
    pass


def run_dir(laptop_dir):
    d = os.path.join(laptop_dir, "guest")
    os.makedirs(d, exist_ok=True)
    return d


def air_dir(laptop_dir):
    return os.path.join(laptop_dir, "air")


def nmdm_key(dev):
    """/dev/nmdm-wifibox.1A -> '-wifibox.1' (the pair's name without the A/B end)."""
    m = re.fullmatch(r"/dev/nmdm(.+)[AB]", dev)
    return m.group(1) if m else None


def console_socket(laptop_dir, key):
    return os.path.join(laptop_dir, "nmdm", key)


def _mac(name, slot):
    """A stable MAC per VM and slot in bhyve's OUI (58:9c:fc), like bhyve's own."""
    import hashlib
    h = hashlib.md5(("%s-%d-%d" % (name, slot["slot"], slot["func"])).encode()).digest()
    return "58:9c:fc:%02x:%02x:%02x" % (h[0] & 0x7f, h[1], h[2])


def _cpus(spec):
    m = re.match(r"(?:cpus=)?(\d+)", spec or "1")
    return int(m.group(1)) if m else 1


def _bootable(kernel):
    """The lab image's kernel: a bzImage, or a vmlinux ELF with a PVH entry (guest/image.py)."""
    with open(kernel, "rb") as f:
        head = f.read(0x210)
        if head[0x202:0x206] == b"HdrS":
            return True
        if not head.startswith(b"\x7fELF"):
            return False
        f.seek(0)
        from wifibox_lab.guest import image
        return image.has_pvh_note(f.read())


def qemu_argv(vm, files):
    """The qemu command line for the VM bhyve validated. -> (argv, console key or None)."""
    disks = [s["conf"].split(",")[0] for s in vm["slots"] if s["emul"] in BLOCK]
    if len(disks) < 2:
        raise GuestError("the lab guest boots from two disks (esp.img, root.img); bhyve has %s"
                         % (disks or "none"))
    kernel, initrd = disks[0], disks[1]
    if not _bootable(kernel):
        raise GuestError("%s is not a bootable lab guest image (pkg install wifibox-alpine "
                         "installs one)" % kernel)
    append = ["console=ttyS0", "quiet", "panic=-1", "loglevel=4"] + LAB_APPEND
    if vm["ppt"]:
        append.append("wifibox_lab.wifi=1")
    argv = [QEMU, "-accel", "tcg,tb-size=64", "-machine", "pc", "-m", str(vm["memory_mb"]),
            "-smp", str(_cpus(vm["cpus"])), "-display", "none", "-nodefaults",
            "-no-user-config", "-action", "reboot=shutdown", "-action", "shutdown=poweroff",
            "-kernel", kernel, "-initrd", initrd, "-append", " ".join(append),
            "-qmp", "unix:%s,server=on,wait=off" % files["qmp"]]
    argv += ["-chardev", "socket,id=com1,path=%s,server=on,wait=off,logfile=%s,logappend=on"
             % (files["con"], files["serial"]), "-serial", "chardev:com1"]
    com1 = vm["lpc"].get("com1", "")
    key = nmdm_key(com1) if com1.startswith("/dev/nmdm") else None
    for s in vm["slots"]:
        emul, conf = s["emul"], s["conf"]
        ident = "s%d_%d" % (s["slot"], s["func"])
        if emul in NIC_MODEL:
            tap = conf.split(",")[0]
            argv += ["-netdev", "tap,id=%s,ifname=%s,script=no,downscript=no" % (ident, tap),
                     "-device", "%s,netdev=%s,mac=%s"
                     % (NIC_MODEL[emul], ident, _mac(vm["name"], s))]
        elif emul == "virtio-9p":
            parts = conf.split(",")
            tag, _, path = parts[0].partition("=")
            ro = ",readonly=on" if "ro" in parts[1:] else ""
            argv += ["-virtfs", "local,path=%s,mount_tag=%s,security_model=none,id=%s%s"
                     % (path, tag, ident, ro)]
    air = air_dir(vm["laptop_dir"])
    if vm["ppt"] and os.path.isdir(air):
        argv += ["-virtfs", "local,path=%s,mount_tag=labair,security_model=none,id=labair" % air]
    return argv, key


class Qmp:
    """Just enough QMP: capabilities, one command, the SHUTDOWN event's reason."""

    def __init__(self, path, deadline):
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.file = self.sock.makefile("rwb")
        self.file.readline()  # greeting
        self.send("qmp_capabilities")
        self.reason = None
        self.lock = threading.Lock()

    def send(self, cmd):
        self.file.write(json.dumps({"execute": cmd}).encode() + b"\n")
        self.file.flush()

    def events(self):
        for line in self.file:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("event") == "SHUTDOWN":
                self.reason = msg.get("data", {}).get("reason")
            elif msg.get("event") == "GUEST_PANICKED":
                self.reason = "guest-panic"


def _rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1)) // 1024 if m else 0
    except OSError:
        return 0


def _record_rss(laptop_dir, name, rss, qemu_pid):
    with state.locked(laptop_dir) as st:
        vm = st["vms"].get(name)
        if vm is not None:
            vm["qemu_pid"] = qemu_pid
            vm["rss_mb"] = rss
            vm["rss_max_mb"] = max(rss, vm.get("rss_max_mb", 0))


def outcome_of(reason, code):
    if code != 0:
        return "error"
    return {"guest-shutdown": "poweroff", "guest-reset": "reboot", "host-qmp-quit": "poweroff",
            "guest-panic": "error"}.get(reason, "error")


def main():
    vm = json.loads(os.environ["WIFIBOX_LAB_VM"])
    d, name = vm["laptop_dir"], vm["name"]
    rd = run_dir(d)
    files = {k: os.path.join(rd, "%s.%s" % (name, k)) for k in ("log", "serial", "qmp", "con")}
    for k in ("qmp", "con"):
        if os.path.exists(files[k]):
            os.unlink(files[k])
    log = open(files["log"], "a")
    try:
        argv, key = qemu_argv(vm, files)
    except (GuestError, OSError) as e:
        sys.stderr.write("bhyve: %s\n" % e)
        log.write("%s\n" % e)
        return 4
    log.write("%s qemu: %s\n" % (time.strftime("%T"), " ".join(argv)))
    log.flush()
    if key:
        link = console_socket(d, key)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(files["con"], link)
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    _record_rss(d, name, 0, qemu.pid)
    powerdown = []

    def on_term(*_):
        powerdown.append(time.monotonic())
    signal.signal(signal.SIGTERM, on_term)
    qmp = None
    try:
        qmp = Qmp(files["qmp"], time.monotonic() + 30)
        threading.Thread(target=qmp.events, daemon=True).start()
    except OSError as e:
        log.write("no QMP: %s\n" % e)
    sent, last_rss = 0, 0
    while qemu.poll() is None:
        if len(powerdown) > sent and qmp:
            qmp.send("system_powerdown")  # the ACPI power button
            log.write("%s SIGTERM: ACPI power button\n" % time.strftime("%T"))
            log.flush()
            sent = len(powerdown)
        now = time.monotonic()
        if now - last_rss > 2:
            _record_rss(d, name, _rss_mb(qemu.pid), qemu.pid)
            last_rss = now
        time.sleep(0.1)
    _record_rss(d, name, 0, None)
    time.sleep(0.1)  # the SHUTDOWN event is read before qemu's exit
    reason = qmp.reason if qmp else None
    outcome = outcome_of(reason, qemu.returncode)
    log.write("%s qemu exited %d (%s): %s\n" % (time.strftime("%T"), qemu.returncode, reason,
                                                outcome))
    log.close()
    if key and os.path.islink(console_socket(d, key)):
        os.unlink(console_socket(d, key))
    return OUTCOME_STATUS[outcome]


if __name__ == "__main__":
    sys.exit(main())
