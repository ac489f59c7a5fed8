"""Build the lab's guest image: the Debian kernel and a busybox initramfs (LAB-PROBE.md probe 2).

The image lives in a cache dir (CACHE, or $WIFIBOX_LAB_CACHE) under the hash of its inputs:
the kernel version, the Debian package versions the binaries come from, the module and
binary lists and the guest's own files (files/). It is rebuilt only when one changes.

    kernel, initramfs = image.ensure()      # paths; builds (with progress on stderr) if needed

The kernel is the Debian kernel's own vmlinux, taken out of its compressed bzImage at build
time: qemu boots it through its PVH entry point (the ELF note the kernel carries), so the
guest does not decompress its kernel at every boot. Under TCG that decompression (XZ) costs
about 3.5 s of every boot, which bhyve on real hardware pays in milliseconds; the kernel that
runs is the same. A kernel without the PVH note (or with a compression Python cannot undo)
is used as the bzImage it is.

Inside a lab laptop the host's /boot and /var are covered by the laptop's own; the builder
then reads and writes the host's through /proc/2/root (kthreadd's root, the host's mount
namespace: laptops share the PID namespace; PID 1 itself may not be readable).
"""
import fcntl
import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "files")
CACHE = "/var/cache/wifibox-lab/guest"
FORMAT = 2  # bump when the builder's output changes in a way the inputs do not show

# Kernel modules the guest loads (their dependencies come along).
MODULES = ["virtio_pci", "virtio_net", "e1000", "9pnet_virtio", "9p", "mac80211_hwsim", "veth",
           "bridge", "button", "evdev", "af_packet",
           "nf_tables", "nft_compat", "nft_chain_nat", "nft_masq", "nft_nat", "nft_ct",
           "xt_MASQUERADE", "xt_conntrack", "xt_state", "xt_nat", "xt_tcpudp", "xt_comment",
           "xt_REDIRECT", "xt_addrtype", "xt_multiport", "xt_LOG", "xt_limit", "xt_mark",
           "iptable_nat", "iptable_filter", "iptable_mangle", "ip6table_nat", "ip6table_filter",
           "ip6table_mangle", "ip6t_REJECT", "ipt_REJECT", "nf_reject_ipv6", "nf_reject_ipv4",
           "ccm", "ctr", "gcm", "cmac", "aes_generic"]
# Whole module folders: crypto is loaded on demand by name (ccm(aes), gcm(aes), ...).
MODULE_DIRS = ["kernel/crypto", "kernel/arch/x86/crypto", "kernel/lib/crypto",
               "kernel/net/netfilter", "kernel/net/ipv4/netfilter", "kernel/net/ipv6/netfilter"]
# Dynamic binaries (with their libraries) the guest and the far side run.
BINARIES = ["/usr/sbin/wpa_supplicant", "/usr/sbin/wpa_cli", "/usr/sbin/hostapd",
            "/usr/sbin/hostapd_cli", "/usr/sbin/iw", "/usr/bin/ip", "/usr/sbin/xtables-nft-multi",
            "/usr/sbin/xtables-legacy-multi", "/usr/bin/socat", "/usr/sbin/radvd",
            "/usr/sbin/dnsmasq"]
PACKAGES = ["linux-image-amd64", "busybox-static", "wpasupplicant", "hostapd", "iw", "iproute2",
            "iptables", "socat", "radvd", "dnsmasq-base", "wireless-regdb", "libc6", "libssl3",
            "libnl-3-200", "libnl-genl-3-200", "libnl-route-3-200"]
XTABLES_LINKS = ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save",
                 "ip6tables-restore"]


class BuildError(Exception):
    pass


def host_root():
    """'/' or, inside a lab laptop (another mount namespace), the host's root via kthreadd."""
    try:
        if os.stat("/proc/self/ns/mnt").st_ino != os.stat("/proc/2/ns/mnt").st_ino:
            return "/proc/2/root"
    except OSError:
        pass
    return "/"


def _h(path):
    return os.path.join(host_root(), path.lstrip("/"))


def cache_dir():
    return os.environ.get("WIFIBOX_LAB_CACHE") or _h(CACHE)


def kernel_version():
    """The Debian kernel the guest boots: the newest /boot/vmlinuz-* with its modules."""
    boot = _h("/boot")
    versions = sorted((f[len("vmlinuz-"):] for f in os.listdir(boot) if f.startswith("vmlinuz-")
                       and os.path.isdir("/lib/modules/" + f[len("vmlinuz-"):])),
                      key=lambda v: [int(x) if x.isdigit() else x for x in re.split(r"[.-]", v)])
    if not versions:
        raise BuildError("no Debian kernel: /boot/vmlinuz-* with /lib/modules/* missing; "
                         "install linux-image-amd64 (scripts/bootstrap does, see lab/apt.txt)")
    return versions[-1]


def _package_versions():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n",
                          *PACKAGES], capture_output=True, text=True).stdout
    versions = {}
    for line in out.splitlines():
        name, version, status = (line.split(None, 2) + ["", ""])[:3]
        if status.startswith("ii"):
            versions[name] = version
    missing = [p for p in PACKAGES if p not in versions]
    if missing:
        raise BuildError("missing Debian packages for the guest image: %s; run scripts/bootstrap "
                         "(lab/apt.txt)" % " ".join(missing))
    return versions


def inputs():
    """Everything the image is made from; its hash names the cache entry."""
    files = {}
    for base, _, names in os.walk(FILES):
        for n in sorted(names):
            p = os.path.join(base, n)
            with open(p, "rb") as f:
                files[os.path.relpath(p, FILES)] = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.abspath(__file__), "rb") as f:
        builder = hashlib.sha256(f.read()).hexdigest()
    return {"format": FORMAT, "kernel": kernel_version(), "packages": _package_versions(),
            "modules": MODULES, "module_dirs": MODULE_DIRS, "binaries": BINARIES,
            "files": files, "builder": builder}


def input_hash(inp):
    return hashlib.sha256(json.dumps(inp, sort_keys=True).encode()).hexdigest()[:16]


def ensure(progress=None, force=False):
    """The image's (kernel, initramfs) paths, built first if the cache has none for the inputs."""
    progress = progress or _stderr
    inp = inputs()
    entry = os.path.join(cache_dir(), input_hash(inp))
    initrd = os.path.join(entry, "initramfs.cpio")
    if not force and os.path.exists(os.path.join(entry, "build.json")):
        return _kernel_of(entry), initrd
    os.makedirs(cache_dir(), exist_ok=True)
    with open(os.path.join(cache_dir(), ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test session may be building the same one
        if force or not os.path.exists(os.path.join(entry, "build.json")):
            _build(inp, entry, progress)
            _prune(keep=KEEP, current=entry)
    return _kernel_of(entry), initrd


def _kernel_of(entry):
    """The entry's kernel: vmlinux (PVH ELF) when the build could extract it, else vmlinuz."""
    vmlinux = os.path.join(entry, "vmlinux")
    return vmlinux if os.path.exists(vmlinux) else os.path.join(entry, "vmlinuz")


KEEP = 3


def _prune(keep, current):
    """Drop all but the `keep` newest images (other work trees may still use older ones)."""
    base = cache_dir()
    entries = [os.path.join(base, e) for e in os.listdir(base)
               if os.path.exists(os.path.join(base, e, "build.json"))]
    entries.sort(key=lambda e: os.path.getmtime(os.path.join(e, "build.json")), reverse=True)
    for old in entries[keep:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def info(entry_kernel):
    with open(os.path.join(os.path.dirname(entry_kernel), "build.json")) as f:
        return json.load(f)


def _stderr(msg):
    sys.stderr.write("guest image: %s\n" % msg)
    sys.stderr.flush()


def _build(inp, entry, progress):
    start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix=".build-", dir=cache_dir())
    try:
        tree = os.path.join(tmp, "tree")
        steps = [("layout and busybox", _layout), ("kernel modules", _modules),
                 ("binaries and libraries", _binaries), ("guest files", _files),
                 ("initramfs", _pack)]
        for i, (what, step) in enumerate(steps, 1):
            progress("[%d/%d] %s (kernel %s)" % (i, len(steps), what, inp["kernel"]))
            step(tree, inp, tmp)
        bzimage = _h("/boot/vmlinuz-" + inp["kernel"])
        with open(bzimage, "rb") as f:
            elf, why = pvh_vmlinux(f.read())
        if elf is None:
            progress("kernel: booting the bzImage (%s)" % why)
            shutil.copyfile(bzimage, os.path.join(tmp, "vmlinuz"))
        else:
            with open(os.path.join(tmp, "vmlinux"), "wb") as f:
                f.write(elf)
        shutil.rmtree(tree)
        meta = dict(inp, seconds=round(time.monotonic() - start, 2), kernel_boot="pvh" if elf else "bzimage",
                    initramfs_bytes=os.path.getsize(os.path.join(tmp, "initramfs.cpio")))
        with open(os.path.join(tmp, "build.json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
        if os.path.isdir(entry):
            shutil.rmtree(entry)
        os.rename(tmp, entry)
        progress("built %s in %.1f s (%d MB)" % (entry, meta["seconds"],
                                                 meta["initramfs_bytes"] >> 20))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# the compressions of a bzImage's payload that Python's standard library undoes
_PAYLOAD = ((b"\xfd7zXZ\x00", lambda d: lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d)),
            (b"\x1f\x8b", lambda d: gzip.GzipFile(fileobj=io.BytesIO(d)).read()),
            (b"BZh", lambda d: bz2.BZ2Decompressor().decompress(d)),
            (b"\x5d\x00\x00", lambda d: lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(d)))
XEN_ELFNOTE_PHYS32_ENTRY = 18


def pvh_vmlinux(bzimage):
    """The vmlinux ELF inside a bzImage when it has a PVH entry point. -> (bytes, None) or
    (None, why not). The payload is found through the setup header (payload_offset/length,
    boot protocol 2.08+, Documentation/x86/boot.rst)."""
    if len(bzimage) < 0x250 or bzimage[0x202:0x206] != b"HdrS":
        return None, "not a bzImage"
    if int.from_bytes(bzimage[0x206:0x208], "little") < 0x208:
        return None, "boot protocol older than 2.08"
    setup_sects = bzimage[0x1f1] or 4
    start = (setup_sects + 1) * 512 + int.from_bytes(bzimage[0x248:0x24c], "little")
    payload = bzimage[start:start + int.from_bytes(bzimage[0x24c:0x250], "little")]
    for magic, undo in _PAYLOAD:
        if payload.startswith(magic):
            try:
                elf = undo(payload)
            except (OSError, EOFError, lzma.LZMAError, ValueError) as e:
                return None, "payload does not decompress: %s" % e
            break
    else:
        return None, "payload compression %r not handled" % payload[:4]
    if not elf.startswith(b"\x7fELF\x02\x01"):
        return None, "payload is not a 64-bit ELF"
    if not has_pvh_note(elf):
        return None, "the kernel has no PVH entry note (CONFIG_PVH)"
    return elf, None


def has_pvh_note(elf):
    """Whether the ELF's PT_NOTE segments hold Xen's PHYS32_ENTRY note (qemu's PVH boot)."""
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        ptype, _, off, _, _, filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if ptype != 4:  # PT_NOTE
            continue
        pos, end = off, off + filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            pos += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3)
    return False


def _layout(tree, inp, tmp):
    for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc", "proc", "sys", "dev", "run",
              "tmp", "var", "root", "media/etc", "etc/wpa_supplicant", "lab/air", "mnt"):
        os.makedirs(os.path.join(tree, d), exist_ok=True)
    for link, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"),
                         ("lib64", "usr/lib64")):
        os.symlink(target, os.path.join(tree, link))
    shutil.copy2("/bin/busybox", os.path.join(tree, "usr/bin/busybox"))
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(tree, "usr/bin", a))


def _rm_then_copy(src, dst):
    """cp -L, but never through an applet symlink (LAB-PROBE.md trap 4)."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.lexists(dst):
        os.unlink(dst)
    shutil.copy2(src, dst, follow_symlinks=True)


def _modules(tree, inp, tmp):
    kver = inp["kernel"]
    base = "/lib/modules/" + kver
    wanted = set()
    for mod in MODULES:
        r = subprocess.run(["modprobe", "-S", kver, "--show-depends", mod], capture_output=True,
                           text=True)
        if r.returncode:
            raise BuildError("kernel %s has no module %s: %s" % (kver, mod, r.stderr.strip()))
        wanted.update(re.findall(r"^insmod (\S+)", r.stdout, re.M))
    for d in MODULE_DIRS:
        for root, _, names in os.walk(os.path.join(base, d)):
            wanted.update(os.path.join(root, n) for n in names if ".ko" in n)
    for ko in wanted:
        _rm_then_copy(ko, os.path.join(tree, ko.lstrip("/")))
    for f in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if os.path.exists(os.path.join(base, f)):
            _rm_then_copy(os.path.join(base, f), os.path.join(tree, base.lstrip("/"), f))
    subprocess.run(["depmod", "-b", tree, kver], check=True)
    for f in os.listdir("/lib/firmware"):
        if f.startswith("regulatory.db"):
            _rm_then_copy(os.path.join("/lib/firmware", f), os.path.join(tree, "lib/firmware", f))


def _libraries(path):
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    return re.findall(r"(/\S+) \(0x", out)


def _binaries(tree, inp, tmp):
    libs = set()
    xtables = "/usr/lib/x86_64-linux-gnu/xtables"
    ossl = "/usr/lib/x86_64-linux-gnu/ossl-modules"
    extra = [os.path.join(xtables, n) for n in os.listdir(xtables)] + \
        [os.path.join(ossl, n) for n in os.listdir(ossl)]
    for b in BINARIES:
        if not os.path.exists(b):
            raise BuildError("%s is missing; run scripts/bootstrap (lab/apt.txt)" % b)
        dest = os.path.join(tree, "usr/sbin", os.path.basename(b))
        _rm_then_copy(b, dest)
        libs.update(_libraries(b))
    for so in extra:
        _rm_then_copy(so, os.path.join(tree, so.lstrip("/")))
        libs.update(_libraries(so))
    for lib in libs:
        _rm_then_copy(lib, os.path.join(tree, lib.lstrip("/")))
    for link in XTABLES_LINKS:
        p = os.path.join(tree, "usr/sbin", link)
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink("xtables-nft-multi", p)
    # applets that would shadow the real tools in the standalone shell (LAB-PROBE.md trap 3)
    for name in ("ip",):
        os.unlink(os.path.join(tree, "usr/bin", name))


def _files(tree, inp, tmp):
    for base, _, names in os.walk(FILES):
        for n in names:
            src = os.path.join(base, n)
            rel = os.path.relpath(src, FILES)
            dst = os.path.join(tree, rel)
            _rm_then_copy(src, dst)
            if rel.startswith(("etc/rc", "init", "usr/", "etc/acpi/")):
                os.chmod(dst, 0o755)


def _pack(tree, inp, tmp):
    names = subprocess.run(["find", "."], cwd=tree, capture_output=True, text=True,
                           check=True).stdout
    with open(os.path.join(tmp, "initramfs.cpio"), "wb") as out:
        subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=tree,
                       input=names.encode(), stdout=out, check=True)


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(prog="wifibox-lab image")
    p.add_argument("--force", action="store_true", help="rebuild even if cached")
    a = p.parse_args(argv)
    start = time.monotonic()
    kernel, initrd = ensure(force=a.force)
    print("%s\n%s\n(%.1f s)" % (kernel, initrd, time.monotonic() - start))
    return 0
