"""wifibox-lab: bring simulated FreeBSD laptops up and down, reach them, drive lab events."""
import argparse
import json
import os
import sys

from . import api, lifecycle, profiles


def main(argv=None):
    p = argparse.ArgumentParser(prog="wifibox-lab", description=__doc__)
    p.add_argument("--root", help="lab folder (default $WIFIBOX_LAB_ROOT or /srv/wifibox-lab)")
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("up", help="create and boot laptop(s)")
    s.add_argument("name")
    s.add_argument("--profile", default="thinkpad-t480", choices=profiles.names())
    s.add_argument("--count", type=int, default=1, help="a fleet: NAME01..NAMEnn")
    s.add_argument("--no-boot", action="store_true", help="do not run /etc/rc")
    s = sub.add_parser("down", help="destroy laptop(s)")
    s.add_argument("name", nargs="?")
    s.add_argument("--all", action="store_true")
    s = sub.add_parser("ssh", help="ssh into a laptop (or run a command there)")
    s.add_argument("name")
    s.add_argument("command", nargs=argparse.REMAINDER)
    s = sub.add_parser("inventory", help="print the path of the Ansible inventory (--cat: content)")
    s.add_argument("--cat", action="store_true")
    for action in ("state", "reboot", "suspend", "resume"):
        sub.add_parser(action).add_argument("name")
    s = sub.add_parser("fault", help="arm a fault: " + "; ".join(
        "%s = %s" % kv for kv in lifecycle.FAULTS.items()))
    s.add_argument("name")
    s.add_argument("kind", choices=sorted(lifecycle.FAULTS))
    s.add_argument("arg", nargs="?")
    sub.add_parser("list", help="laptops of this lab")
    sub.add_parser("profiles", help="hardware profiles")
    sub.add_parser("gc", help="remove laptops and roots that crashed test runs left behind")
    s = sub.add_parser("image", help="build the lab guest image (or find it in the cache)")
    s.add_argument("--force", action="store_true", help="rebuild even when cached")
    s = sub.add_parser("guest", help="the laptop's bhyve runs the real guest VM (vm) or the "
                       "stand-in (stand-in)")
    s.add_argument("name")
    s.add_argument("kind", choices=["vm", "stand-in"])
    s = sub.add_parser("air", help="the far side of the laptop's Wi-Fi (at the VM's next boot)")
    s.add_argument("name")
    s.add_argument("--security", default="wpa2_psk",
                   choices=["wpa2_psk", "wpa3_sae", "wpa2_wpa3", "open"])
    s.add_argument("--ssid", default="labnet")
    s.add_argument("--psk", default="correct horse battery")
    s.add_argument("--hidden", action="store_true")
    a = p.parse_args(argv)
    try:
        return _run(a)
    except (api.LabError, KeyError, ValueError) as e:
        print("wifibox-lab: %s" % (e.args[0] if e.args else e), file=sys.stderr)
        return 1


def _run(a):
    if a.action == "up":
        if a.count > 1:
            width = len(str(a.count))
            names = ["%s%0*d" % (a.name, width, i) for i in range(1, a.count + 1)]
            for lp in api.up_many(names, a.profile, a.root):
                print("%s %s" % (lp.name, lp.address))
        else:
            lp = api.up(a.name, a.profile, a.root, boot=not a.no_boot)
            print("%s %s" % (lp.name, lp.address))
        return 0
    if a.action == "down":
        if a.all:
            api.down_all(a.root)
        elif a.name:
            api.get(a.name, a.root).destroy()
        else:
            raise ValueError("down needs NAME or --all")
        return 0
    if a.action == "ssh":
        lp = api.get(a.name, a.root)
        os.execvp("ssh", lp.ssh_argv(*a.command))
    if a.action == "inventory":
        path = api.inventory(a.root)
        if a.cat:
            with open(path) as f:
                sys.stdout.write(f.read())
        else:
            print(path)
        return 0
    if a.action == "list":
        lab = api.lab(a.root)
        for n in lab.names():
            i = lab.info(n)
            print("%s %s %s" % (n, i["address"], i["profile"]))
        return 0
    if a.action == "gc":
        print("\n".join(api.gc()))
        return 0
    if a.action == "image":
        from .guest import image
        return image.main(["--force"] if a.force else [])
    if a.action == "profiles":
        print("\n".join(profiles.names()))
        return 0
    lp = api.get(a.name, a.root)
    if a.action == "state":
        json.dump(lp.state(), sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    if a.action == "guest":
        api.use_guest_vm(lp, a.kind == "vm")
        return 0
    if a.action == "air":
        print(api.set_air(lp, security=a.security, ssid=a.ssid, psk=a.psk, hidden=a.hidden))
        return 0
    if a.action == "fault":
        json.dump(lifecycle.fault(lp, a.kind, a.arg), sys.stdout)
        print()
        return 0
    out = {"reboot": lifecycle.reboot, "suspend": lifecycle.suspend,
           "resume": lifecycle.resume}[a.action](lp)
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
