"""Lab actions on a running laptop: boot/reboot, suspend/resume, faults.

reboot = rc.shutdown, then a power cycle: every process but the lab's sshd dies, the
network objects the laptop made disappear, the loader re-reads loader.conf, drivers are
probed again, then /etc/rc runs all rc.d scripts (base and /usr/local/etc/rc.d) in order.
"""
import os
import re
import shutil
import signal

from .freebsd import boot as bootmodel, devdconf, state

FAULTS = {
    "command-fails": "PROG[:MESSAGE]: the simulated command PROG prints MESSAGE and exits 1",
    "bhyve-exit4": "the next bhyve run (and running VMs) exit with status 4",
    "card-vanish": "after the next resume the Wi-Fi card is gone until vmm.ko is reloaded",
    "disk-full": "the laptop's file systems report ENOSPC to simulated commands that write",
    "kldload-enoexec": "MODULE: kldload MODULE fails with the dmesg error (ENOEXEC)",
    "clear": "remove every armed fault",
}


def _sshd_and_anchor(lp):
    with open(os.path.join(lp.dir, "nsinit.ready")) as f:
        return {int(x) for x in f.read().split()}


def processes_of(lp):
    """PIDs in the laptop's network namespace, found through its anchor process.

    Works from the root namespace and from inside the laptop (for its own `reboot`).
    """
    try:
        ino = os.stat("/proc/%d/ns/net" % lp.anchor_pid()).st_ino
    except OSError:
        return []
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat("/proc/%s/ns/net" % pid).st_ino == ino:
                    out.append(int(pid))
            except OSError:
                pass
    return out


def _power_off(lp):
    """What losing power does: processes, network objects, /var/run's files and /dev/vmm go away."""
    keep = _sshd_and_anchor(lp) | {os.getpid()}
    for pid in processes_of(lp):
        if pid not in keep:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    out = lp.nsenter(["ip", "-o", "link", "show"]).stdout
    for name in re.findall(r"^\d+: ([^:@]+)[:@]", out, re.M):
        if name not in ("lo", lp.info["mgmt_if"]):
            lp.nsenter(["ip", "link", "del", name])
    # rc.d/cleanvar (purgedir): files in /var/run go at boot, directories stay
    run = os.path.join(lp.dir, "fs/run")
    for base, dirs, files in os.walk(run):
        if base == run and "sshd" in dirs:
            dirs.remove("sshd")
        for name in files + [d for d in dirs if os.path.islink(os.path.join(base, d))]:
            if base == run and name in ("sshd", "sshd.pid"):
                continue
            os.unlink(os.path.join(base, name))
    vmm = os.path.join(lp.dir, "fs/dev/vmm")
    for entry in os.listdir(vmm):
        os.unlink(os.path.join(vmm, entry))


def boot(lp):
    """Power on: loader + kernel model, then /etc/rc. Returns the console output."""
    _power_off(lp)
    with state.locked(lp.dir) as st:
        messages = bootmodel.power_on(st, os.path.join(lp.dir, "fs"))
    r = lp.nsenter(["/bin/sh", "/etc/rc", "autoboot"])
    console = "\n".join(messages + [r.stdout + r.stderr])
    with open(os.path.join(lp.dir, "console.log"), "a") as f:
        f.write(console)
    return console


def reboot(lp):
    r = lp.nsenter(["/bin/sh", "/etc/rc.shutdown"])
    return r.stdout + r.stderr + boot(lp)


def _devd_event(lp, system, subsystem, notify):
    """Deliver one devd notify event: the highest-priority matching rule's action runs."""
    st = lp.state()
    devd = st.get("devd")
    if not devd or not _alive(devd.get("pid")):
        return "", None  # no devd running: nobody hears the event
    env = {"system": system, "subsystem": subsystem, "type": subsystem, "notify": notify}
    rule = devdconf.first_match(devd["rules"], "notify", env)
    if rule is None:
        return "", None
    action = devdconf.expand(rule["action"], env)
    r = lp.nsenter(["/bin/sh", "-c", action])
    return r.stdout + r.stderr, rule


def _alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def suspend(lp, notify="0x03"):
    with state.locked(lp.dir) as st:
        st["acpi_ack"] = False
    out, _ = _devd_event(lp, "ACPI", "Suspend", notify)
    with state.locked(lp.dir) as st:
        if not st.get("acpi_ack"):
            # nobody called `acpiconf -k 0`: the kernel gives up waiting and sleeps anyway
            st.setdefault("dmesg", []).append("acpi0: suspend request timed out, forcing sleep now")
            out += "acpi0: suspend request timed out, forcing sleep now\n"
        st["suspended"] = True
    return out


def resume(lp, notify="0x03"):
    with state.locked(lp.dir) as st:
        st["suspended"] = False
        if "card-vanish" in st.get("faults", {}):
            st["faults"].pop("card-vanish")
            wifi = st.get("wifi")
            for dev in st["devices"]:
                if "pci%d:%d:%d:%d" % tuple(dev["bsf4"]) == wifi:
                    dev["attached"] = None
                    dev["gone"] = "until-vmm-reload"
    out, _ = _devd_event(lp, "ACPI", "Resume", notify)
    return out


def fault(lp, kind, arg=None):
    """Arm a fault (see FAULTS)."""
    if kind not in FAULTS:
        raise ValueError("unknown fault %r; known: %s" % (kind, ", ".join(FAULTS)))
    with state.locked(lp.dir) as st:
        faults = st.setdefault("faults", {})
        if kind == "clear":
            faults.clear()
        elif kind == "command-fails":
            prog, _, msg = (arg or "").partition(":")
            if not prog:
                raise ValueError("command-fails needs PROG[:MESSAGE]")
            faults["command-fails:" + prog] = {"message": msg or "Operation not permitted",
                                                "code": 1}
        elif kind == "kldload-enoexec":
            faults["kldload-enoexec:" + (arg or "vmm")] = {}
        else:
            faults[kind] = {}
            if kind == "bhyve-exit4":
                for vm in st.get("vms", {}).values():
                    _signal_vm(vm, signal.SIGUSR2)
    return faults


def _signal_vm(vm, sig):
    try:
        os.kill(vm["pid"], sig)
    except (OSError, KeyError, TypeError):
        pass


def guest_request(lp, vm_name, request):
    """Make the running guest of VM `vm_name` reboot/poweroff/halt/triplefault/error.

    bhyve then exits 0/1/2/3/4 (bhyve(8)); a supervising daemon(8) -r would restart it.
    """
    if request not in ("reboot", "poweroff", "halt", "triplefault", "error"):
        raise ValueError("unknown guest request %r" % request)
    with state.locked(lp.dir) as st:
        vm = st["vms"].get(vm_name)
        if not vm or not vm.get("pid"):
            raise ValueError("VM %s is not running" % vm_name)
        vm["request"] = request
        pid = vm["pid"]
    os.kill(pid, signal.SIGUSR1)


def set_guest_command(lp, argv):
    """Make bhyve run `argv` as the guest from now on (None: back to the stand-in guest).

    See wifibox_lab.sim.bhyve._real_guest for the contract the program follows.
    """
    with state.locked(lp.dir) as st:
        if argv:
            st["guest_command"] = list(argv)
        else:
            st.pop("guest_command", None)
