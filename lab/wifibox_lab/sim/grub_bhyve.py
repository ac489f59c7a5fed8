"""grub-bhyve (sysutils/grub2-bhyve): load a Linux guest's kernel into a new VM, then exit 0.

FREEBSD.md section 6: -m device.map, -r root device, -M memory (MB, must equal bhyve -m),
-S wires memory (needed for passthru; must match bhyve -S), -c console, -d grub dir, -n.
"""
import getopt
import os
import re

from ..freebsd import state, vmm
from . import bhyve


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "hvSnc:d:e:g:m:M:r:", ["help", "version"])
    except getopt.GetoptError as e:
        ctx.err.write("grub-bhyve: %s\nTry 'grub-bhyve --help' for more information.\n" % e)
        return 1
    o = dict(opts)
    if len(args) != 1:
        ctx.err.write("grub-bhyve: You must supply a VM name\n")
        return 1
    name = args[0]
    memory = bhyve.parse_memsize(o.get("-M", "256M"))
    if memory is None:
        return ctx.errx(1, "Invalid memory size '%s'" % o["-M"])
    if "-m" in o:
        try:
            with open(ctx.path(o["-m"])) as f:
                for line in f:
                    m = re.match(r"^\s*\((\w+)\)\s+(\S+)", line)
                    if m and not os.path.exists(ctx.path(m.group(2))):
                        return ctx.errx(1, "cannot open `%s': No such file or directory"
                                        % m.group(2))
        except OSError:
            return ctx.errx(1, "cannot open `%s': No such file or directory" % o["-m"])
    with state.locked(ctx.laptop_dir) as st:
        vm = st["vms"].get(name)
        if vm is not None:
            if vmm.running(vm):
                ctx.err.write("Could not create VM %s\n" % name)
                return 1
            vmm.destroy(ctx, st, name)  # grub-bhyve reinitialises an idle VM
        err = vmm.create(ctx, st, name, memory, "-S" in o, "grub-bhyve")
        if err == "ENOMEM":
            ctx.err.write("Could not setup memory for VM\n")
            return 1
        if err:
            ctx.err.write("Could not create VM %s\n" % name)
            return 1
    return 0
