"""bhyvectl(8): --vm=NAME with --create, --destroy, --force-reset, --force-poweroff, --get-stats."""
import os
import signal

from ..freebsd import state, vmm

USAGE = ("Usage: bhyvectl --vm=<vmname>\n"
         "       [--create]\n       [--destroy]\n       [--get-stats]\n"
         "       [--force-reset]\n       [--force-poweroff]\n")


def main(ctx, argv):
    # bhyve reads the request when the signal arrives: send it once the state is written
    pending = []
    code = _main(ctx, argv, pending)
    for pid in pending:
        _signal({"pid": pid}, signal.SIGUSR1)
    return code


def _main(ctx, argv, pending):
    name, actions = None, []
    for a in argv:
        if a.startswith("--vm="):
            name = a[5:]
        elif a in ("--create", "--destroy", "--get-stats", "--force-reset", "--force-poweroff",
                   "--get-all", "--cpu=0"):
            actions.append(a)
        else:
            ctx.err.write(USAGE)
            return 1
    if not name:
        ctx.err.write(USAGE)
        return 1
    with state.locked(ctx.laptop_dir) as st:
        if "--create" in actions:
            err = vmm.create(ctx, st, name, 256, False, None)
            if err:
                return ctx.errx(1, "vm_create: %s" % {"EEXIST": "File exists",
                                                      "ENOMEM": "Cannot allocate memory"}[err])
            return 0
        vm = st["vms"].get(name)
        if vm is None:
            ctx.err.write("vm_open: %s could not be opened: No such file or directory\n" % name)
            return 1
        if "--destroy" in actions:
            if vmm.running(vm):
                vm["request"] = "error"  # the running bhyve loses its VM and exits 4
                pending.append(vm["pid"])
            vmm.destroy(ctx, st, name)
            return 0
        for action, request in (("--force-reset", "reboot"), ("--force-poweroff", "poweroff")):
            if action in actions:
                if vmm.running(vm):
                    vm["request"] = request
                    pending.append(vm["pid"])
                return 0
        if "--get-stats" in actions or "--get-all" in actions:
            ctx.print("vcpu0 stats:",
                      "number of times in/out of guest      %d" % (vm["memory_mb"] * 7),
                      "memory (MB)                          %d" % vm["memory_mb"],
                      "memory wired                         %s" % ("yes" if vm["wired"] else "no"))
            return 0
    return 0


def _signal(vm, sig):
    try:
        os.kill(vm["pid"], sig)
    except (OSError, TypeError):
        pass
