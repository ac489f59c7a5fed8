"""A laptop without namespaces: state file + FreeBSD file tree in a temp folder.

The simulator's unit tests run commands in-process against it (fast, no root needed for
most commands); other projects' unit tests may use it the same way:
    lp = SimLaptop(tmp_path, "thinkpad-t480"); rc, out, err = lp.run("pciconf", "-l")
"""
import io
import os
import shutil

from wifibox_lab import profiles, rootfs
from wifibox_lab.freebsd import boot, state
from wifibox_lab.sim import main as simmain
from wifibox_lab.sim.common import Ctx


class SimLaptop:
    def __init__(self, tmp, profile="thinkpad-t480"):
        self.dir = str(tmp)
        self.root = os.path.join(self.dir, "fs")
        os.makedirs(self.root)
        shutil.copytree(os.path.join(rootfs.DATA, "etc"), os.path.join(self.root, "etc"))
        rootfs._boot(self.dir)
        self.file("/etc/rc.conf", 'hostname="lab"\n')
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
