"""What the loader and the kernel do at power-on, before /etc/rc runs.

The loader reads loader.conf into kenv and loads `*_load="YES"` modules; the kernel
then probes every PCI device (ppt first for pptdevs when vmm came from the loader,
GENERIC drivers and loader-loaded modules otherwise).
"""
import time

from . import kernel, loaderconf


def new_state(profile, laptop, hostname):
    """The state file of a laptop that was never booted."""
    devices = [dict(d, attached=None) for d in profile["devices"]]
    return dict(profile, laptop=laptop, hostname=hostname, devices=devices, kenv={},
                klds=kernel.new_klds(), vms={}, faults={}, ifaces={}, cloners={},
                sysctl={}, boots=0, loader_messages=[], autoloaded=[])


def power_on(state, root):
    """Reset the kernel to a fresh boot of the files under `root` (the laptop's /)."""
    env, load, messages = loaderconf.read_all(root, state["osreldate"])
    for d in state["devices"]:
        d["attached"] = None
        d.pop("fixed", None)          # devctl set driver does not survive a reboot
        if d.get("gone") == "until-vmm-reload":
            d.pop("gone")             # a cold boot finds the card again
    state.update(kenv=env, klds=kernel.new_klds(), vms={}, ifaces={}, cloners={}, sysctl={},
                 loader_messages=messages, autoloaded=[], boottime=int(time.time()))
    state.pop("next_kld_id", None)
    state.pop("next_mod_id", None)
    state["boots"] = state.get("boots", 0) + 1
    # The loader loads every module before the kernel probes any device, so probe once at
    # the end: ppt sees pptdevs only when vmm.ko was among them.
    devices, state["devices"] = state["devices"], []
    for name in load:
        kernel.load(state, name)
    state["devices"] = devices
    for dev in state["devices"]:
        kernel.probe(state, dev)
    return messages


def devmatch_candidates(state, blocklist):
    """Module files devmatch would load: unattached devices' native modules, not blocklisted.

    Blocklist entries are module file names, `.ko` optional, matched exactly.
    """
    blocked = {b[:-3] if b.endswith(".ko") else b for b in blocklist}
    out = []
    for dev in kernel.present(state):
        if dev.get("attached") or not dev.get("native"):
            continue
        f = kernel.driver_file(dev["native"])
        if f and f not in blocked and f not in out and not kernel.loaded_file(state, f):
            out.append(f)
    return out
