"""A laptop model without namespaces: state file + FreeBSD file tree in a temp folder.

Simulator tests run the commands in-process against it and compare with FREEBSD.md.
"""
import io
import os

from wifibox_lab import profiles, rootfs
from wifibox_lab.freebsd import boot, state
from wifibox_lab.sim import main as simmain
from wifibox_lab.sim.common import Ctx


class SimLaptop:
    def __init__(self, tmp, profile="thinkpad-t480"):
        self.dir = str(tmp)
        self.root = os.path.join(self.dir, "fs")
        os.makedirs(self.root)
        os.makedirs(os.path.join(self.dir, "fs/etc"))
        rootfs._boot(self.dir)
        for sub in ("etc/rc.conf.d", "usr/local/etc/rc.d", "var/run", "dev/vmm", "etc/rc.d"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        prof = profiles.load(profile)
        state.write(self.dir, boot.new_state(prof, "lab", "lab"))
        self.power_on()

    def power_on(self):
        with state.locked(self.dir) as st:
            return boot.power_on(st, self.root)

    def file(self, path, text=None):
        p = os.path.join(self.root, path.lstrip("/"))
        if text is None:
            with open(p) as f:
                return f.read()
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)

    def state(self):
        return state.read(self.dir)

    def run(self, prog, *args):
        out, err = io.StringIO(), io.StringIO()
        ctx = Ctx(prog, self.dir, self.root, out, err)
        rc = simmain.run(ctx, list(args))
        return rc, out.getvalue(), err.getvalue()
