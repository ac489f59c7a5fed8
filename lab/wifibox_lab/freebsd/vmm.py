"""vmm(4) VM objects: /dev/vmm/NAME exists from vm_create until destroy (FREEBSD.md section 6)."""
import os
import stat

from . import kernel


def node(ctx, name):
    return ctx.path("/dev/vmm/" + name)


def create(ctx, st, name, memory_mb, wired, loader):
    """vm_create (libvmmapi kldloads vmm.ko first if needed). -> error string or None."""
    if not kernel.loaded_file(st, "vmm"):
        kernel.load(st, "vmm")
    if name in st["vms"]:
        return "EEXIST"
    used = sum(memory_in_use(v) for v in st["vms"].values())
    if wired and (used + memory_mb) * (1 << 20) > st["physmem"] - (1 << 30):
        return "ENOMEM"
    st["vms"][name] = {"memory_mb": memory_mb, "wired": wired, "loader": loader, "pid": None,
                       "ppt": [], "tap": []}
    try:
        os.mknod(node(ctx, name), stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except FileExistsError:
        pass
    except PermissionError:
        open(node(ctx, name), "w").close()  # unit tests without CAP_MKNOD
    return None


def memory_in_use(vm):
    """MB a VM takes from the laptop: its wired memory, or what its real guest (qemu) holds."""
    rss = vm.get("rss_mb", 0) if running(vm) else 0
    return max(vm["memory_mb"] if vm.get("wired") else 0, rss)


def destroy(ctx, st, name):
    st["vms"].pop(name, None)
    try:
        os.unlink(node(ctx, name))
    except FileNotFoundError:
        pass


def running(vm):
    pid = vm.get("pid")
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
