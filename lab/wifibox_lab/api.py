"""The Python API other tests use: bring laptops up and down, run commands, read the model.

    from wifibox_lab import api
    lp = api.up("t480", profile="thinkpad-t480")      # boots, sshd answers
    lp.ssh("pciconf", "-lv").stdout                    # real SSH, as Ansible does
    api.reboot(lp); api.down("t480")
    api.inventory()                                    # path of the Ansible inventory
"""
import concurrent.futures
import os

from . import lifecycle
from .lab import Lab, LabError  # noqa: F401  (re-exported)
from .laptop import Laptop


def lab(root=None):
    return Lab(root)


def up(name, profile="thinkpad-t480", root=None, boot=True):
    return Laptop(Lab(root), name).create(profile, boot=boot)


def up_many(names, profile="thinkpad-t480", root=None, workers=4):
    """Bring several laptops up in parallel; if any fails, the ones that came up stay up."""
    the_lab = Lab(root)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(Laptop(the_lab, n).create, profile) for n in names]
        return [f.result() for f in futures]


def get(name, root=None):
    the_lab = Lab(root)
    if name not in the_lab.names():
        raise LabError("no laptop %r in %s" % (name, the_lab.root))
    return Laptop(the_lab, name)


def down(name, root=None):
    Laptop(Lab(root), name).destroy()


def down_all(root=None):
    the_lab = Lab(root)
    names = the_lab.names()
    # also laptops that died half-built (no lab.json yet)
    names += [n for n in os.listdir(the_lab.laptops_dir) if n not in names]
    for n in names:
        Laptop(the_lab, n).destroy()
    return names


def inventory(root=None):
    the_lab = Lab(root)
    the_lab.refresh_access_files()
    return the_lab.inventory_path


reboot = lifecycle.reboot
suspend = lifecycle.suspend
resume = lifecycle.resume
fault = lifecycle.fault
guest_request = lifecycle.guest_request
set_guest_command = lifecycle.set_guest_command


def use_guest_vm(lp, on=True):
    """From the next bhyve start on, the laptop's VMs are real: the lab guest under qemu.

    (wifibox_lab.guest.runner; the image comes from `pkg install wifibox-alpine`.)
    """
    from . import rootfs
    argv = [os.path.join(lp.dir, "python3.11"), "-S",
            os.path.join(rootfs.simulator_path(lp.dir), "wifibox_lab/guest/runner.py")]
    lifecycle.set_guest_command(lp, argv if on else None)


def guest_files(lp, vm="wifibox"):
    """Paths of a lab guest's run files: log (qemu's), serial (console transcript), qmp, con."""
    from .guest import runner
    d = runner.run_dir(lp.dir)
    return {k: os.path.join(d, "%s.%s" % (vm, k)) for k in ("log", "serial", "qmp", "con")}


def guest_image(force=False):
    """Build (or find in the cache) the lab guest image. -> (kernel, initramfs)."""
    from .guest import image
    return image.ensure(force=force)


def set_air(lp, **kw):
    from .guest import air
    return air.set_air(lp, **kw)


def set_stations(lp, stations, **kw):
    """The far side of the air as stations of the guest's access point (guest/air.py)."""
    from .guest import air
    return air.set_stations(lp, stations, **kw)


def station_result(lp, name):
    from .guest import air
    return air.station_result(lp, name)


def gc():
    """Remove what crashed test runs left: lab roots `*-<pid>-*` of dead pids, orphan slots.

    Roots of live processes (another engineer's running tests) are left alone.
    """
    import re
    import shutil
    from .lab import DEFAULT_ROOT, SLOTS
    from .laptop import _kill, ip, processes_in_netns
    removed = []
    if os.path.isdir(DEFAULT_ROOT):
        for entry in os.listdir(DEFAULT_ROOT):
            m = re.fullmatch(r"[a-z]+-(\d+)-[0-9a-f]+", entry)
            if m and not os.path.exists("/proc/" + m.group(1)):
                path = os.path.join(DEFAULT_ROOT, entry)
                down_all(path)
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    if os.path.isdir(SLOTS):
        for slot in os.listdir(SLOTS):
            if not slot.isdigit():
                continue  # not a slot (.lock, or files of a lab root someone pointed here)
            try:
                with open(os.path.join(SLOTS, slot)) as f:
                    owner = f.read()
            except OSError:
                continue
            if owner and not os.path.isdir(owner):
                for pid in processes_in_netns("wfl" + slot):
                    _kill(pid, 9)
                ip("netns", "del", "wfl" + slot, check=False)
                ip("link", "del", "wfl" + slot, check=False)
                Lab.release_slot(int(slot))
                removed.append("slot " + slot)
    return removed
