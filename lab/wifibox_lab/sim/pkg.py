"""pkg(8): info / install / delete / query against the lab's package repository.

The repository is REPO below; installing a package creates its files in the laptop (a
grub-bhyve that is the simulator, a firmware file), deleting removes them. The database
of installed packages is /var/db/pkg/lab-installed.json inside the laptop.
"""
import getopt
import json
import os
import sys

from ..freebsd import state

REPO = {
    "pkg": {"version": "1.21.3", "comment": "Package manager", "files": {}},
    "python311": {"version": "3.11.10", "comment": "Interpreted object-oriented programming "
                  "language", "files": {}},
    "grub2-bhyve": {"version": "0.40_11", "comment": "Grub-emu loader for bhyve",
                    "files": {"/usr/local/sbin/grub-bhyve": "shim"}},
    "edk2-bhyve": {"version": "g202308_5", "comment": "EDK2 Firmware for bhyve",
                   "files": {"/usr/local/share/uefi-firmware/BHYVE_UEFI.fd": "firmware",
                             "/usr/local/share/uefi-firmware/BHYVE_UEFI_CODE.fd": "firmware",
                             "/usr/local/share/uefi-firmware/BHYVE_UEFI_VARS.fd": "firmware"}},
    "bhyve-firmware": {"version": "1.0_2", "comment": "Collection of Firmware for bhyve",
                       "deps": ["edk2-bhyve"], "files": {}},
    # the lab's guest (wifibox_lab.guest.image): esp.img is its kernel, root.img its root
    # (the UEFI layout since 20260405); disk.img stands for the older grub layout, so that
    # both layouts can be tested with one package (the real package has one or the other)
    "wifibox-alpine": {"version": "20260405", "comment": "Wifibox guest based on Alpine Linux",
                       "deps": ["edk2-bhyve"],
                       "files": {"/usr/local/share/wifibox/esp.img": "guest-esp",
                                 "/usr/local/share/wifibox/root.img": "guest-root",
                                 "/usr/local/share/wifibox/disk.img": "image",
                                 # the wpa_supplicant build's @sample files (WIFIBOX.md section 7)
                                 "/usr/local/etc/wifibox/appliance/hostname.sample":
                                     "sample:wifibox-alpine/hostname.sample:640",
                                 "/usr/local/etc/wifibox/appliance/interfaces.conf.sample":
                                     "sample:wifibox-alpine/interfaces.conf.sample:640",
                                 "/usr/local/etc/wifibox/wpa_supplicant/wpa_supplicant.conf.sample":
                                     "sample:wifibox-alpine/wpa_supplicant.conf.sample:600",
                                 "/usr/local/etc/wifibox/app_config": "symlink:wpa_supplicant"}},
    # net/wifibox-core 0.17.0 (WIFIBOX.md section 7): the original's script, rc.d script
    # (RECOVER_RESTART_VMM, the default option), @sample configuration and log; the devd
    # shim as older builds installed it (users copy it by hand)
    "wifibox-core": {"version": "0.17.0", "comment": "Wifibox core scripts",
                     "deps": ["bhyve-firmware"],
                     "files": {"/usr/local/sbin/wifibox": "data:wifibox-core/wifibox:555",
                               "/usr/local/etc/rc.d/wifibox": "data:wifibox-core/rc.wifibox:555",
                               "/usr/local/etc/wifibox/bhyve.conf.sample":
                                   "sample:wifibox-core/bhyve.conf.sample:644",
                               "/usr/local/etc/wifibox/core.conf.sample":
                                   "sample:wifibox-core/core.conf.sample:644",
                               "/usr/local/etc/devd/wifibox.conf.sample":
                                   "data:wifibox-core/devd.wifibox.conf.sample:644",
                               "/var/log/wifibox.log": "data:empty:644"}},
    # the metaport: wifibox-core plus the guest
    "wifibox": {"version": "1.8.0", "comment": "Wifibox metaport",
                "deps": ["wifibox-core", "wifibox-alpine"], "files": {}},
    "socat": {"version": "1.8.0.0", "comment": "Multipurpose relay and proxy", "files": {}},
}
PREINSTALLED = ["pkg", "python311"]
DB = "/var/db/pkg/lab-installed.json"


def _db(ctx):
    try:
        with open(ctx.path(DB)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {n: REPO[n]["version"] for n in PREINSTALLED}


def _save(ctx, db):
    os.makedirs(os.path.dirname(ctx.path(DB)), exist_ok=True)
    with open(ctx.path(DB), "w") as f:
        json.dump(db, f)


def main(ctx, argv):
    # global options before the subcommand
    while argv and argv[0].startswith("-"):
        if argv[0] == "-N":
            return 0  # pkg is bootstrapped
        if argv[0] in ("-v", "--version"):
            ctx.print(REPO["pkg"]["version"])
            return 0
        argv = argv[1:]
    if not argv:
        ctx.err.write("Usage: pkg [-v] [-d] [-l] [-N] [-j <jail name or id>|-c <chroot path>|"
                      "-r <rootdir>] [-C <configuration file>] [-R <repo config dir>] "
                      "[-o var=value] [-4|-6] <command> [<args>]\n")
        return 1
    cmd, args = argv[0], argv[1:]
    handler = {"info": info, "install": install, "add": install, "delete": delete,
               "remove": delete, "query": query, "update": lambda c, a: 0}.get(cmd)
    if handler is None:
        return ctx.errx(1, "unknown command: %s" % cmd)
    return handler(ctx, args)


def info(ctx, args):
    opts, names = getopt.getopt(args, "aeEgiqxF:")
    flags = {o for o, _ in opts}
    db = _db(ctx)
    if not names:
        for n in sorted(db):
            ctx.print("%-31s %s" % ("%s-%s" % (n, db[n]), REPO.get(n, {}).get("comment", "")))
        return 0
    missing = [n for n in names if n not in db]
    if "-e" in flags:
        return 1 if missing else 0
    if missing:
        if "-q" not in flags:
            ctx.warnx("No package(s) matching %s" % missing[0])
        return 1
    for n in names:
        if "-q" in flags:
            ctx.print("%s-%s" % (n, db[n]))
            continue
        ctx.print("%s-%s" % (n, db[n]), "Name           : %s" % n, "Version        : %s" % db[n],
                  "Origin         : sysutils/%s" % n, "Architecture   : FreeBSD:14:amd64",
                  "Comment        : %s" % REPO.get(n, {}).get("comment", ""))
    return 0


def _closure(names):
    order = []

    def visit(n):
        for d in REPO[n].get("deps", []):
            visit(d)
        if n not in order:
            order.append(n)
    for n in names:
        visit(n)
    return order


def _yes(opts):
    return "-y" in opts or os.environ.get("ASSUME_ALWAYS_YES", "").lower() in ("yes", "true")


def install(ctx, args):
    opts, names = getopt.getopt(args, "AfgIMnqFUyr:x")
    flags = {o for o, _ in opts}
    unknown = [n for n in names if n not in REPO]
    if unknown:
        ctx.warnx("No packages available to install matching '%s' have been found in the "
                  "repositories" % unknown[0])
        return 1
    db = _db(ctx)
    todo = [n for n in _closure(names) if n not in db]
    quiet = "-q" in flags
    if not todo:
        if not quiet:
            ctx.print("The most recent versions of packages are already installed")
        return 0
    if not quiet:
        ctx.print("Updating FreeBSD repository catalogue...",
                  "FreeBSD repository is up to date.", "All repositories are up to date.",
                  "The following %d package(s) will be affected (of 0 checked):" % len(todo), "",
                  "New packages to be INSTALLED:")
        ctx.print(*["\t%s: %s" % (n, REPO[n]["version"]) for n in todo])
        ctx.print("", "Number of packages to be installed: %d" % len(todo), "")
    if "-n" in flags:
        return 0
    if not _yes(flags):
        ctx.out.write("Proceed with this action? [y/N]: ")
        ctx.out.flush()
        answer = sys.stdin.readline().strip().lower() if sys.stdin and not sys.stdin.closed \
            else ""
        if answer not in ("y", "yes"):
            return 1
    if state.fault(state.read(ctx.laptop_dir), "disk-full"):
        return ctx.errx(1, "Not enough space to install (No space left on device)")
    if any(kind.startswith("guest-") for n in todo for kind in REPO[n]["files"].values()):
        from ..guest import image
        try:
            image.ensure()
        except image.BuildError as e:
            return ctx.errx(1, "wifibox-alpine: %s" % e)
    for i, n in enumerate(todo, 1):
        if not quiet:
            ctx.print("[%d/%d] Installing %s-%s..." % (i, len(todo), n, REPO[n]["version"]),
                      "[%d/%d] Extracting %s-%s: 100%%" % (i, len(todo), n, REPO[n]["version"]))
        for path, kind in REPO[n]["files"].items():
            _create(ctx, path, kind)
        db[n] = REPO[n]["version"]
    _save(ctx, db)
    return 0


def _create(ctx, path, kind):
    p = ctx.path(path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if kind in ("guest-esp", "guest-root"):
        _guest_image(p, kind)
    elif kind.startswith("symlink:"):
        if not os.path.lexists(p):
            os.symlink(kind.split(":", 1)[1], p)
    elif kind.startswith(("data:", "sample:")):
        _data_file(p, kind)
    elif kind == "shim":
        from .. import rootfs
        with open(p, "w") as f:
            f.write(rootfs.shim_text(ctx.laptop_dir, os.path.basename(path)))
        os.chmod(p, 0o755)
    else:
        with open(p, "wb") as f:
            f.write(b"wifibox-lab %s %s\n" % (kind.encode(), path.encode()))


def _data_file(dest, kind):
    """A file from data/pkg/ with its mode; an @sample X.sample is also copied to X when
    X is absent (pkg-create(8)'s @sample keyword)."""
    how, rel, mode = kind.split(":")
    text = b""
    if rel != "empty":
        with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "pkg", rel), "rb") as f:
            text = f.read()
    targets = [dest] + ([dest[:-len(".sample")]] if how == "sample" else [])
    for i, target in enumerate(targets):
        if i and os.path.lexists(target):
            continue
        with open(target, "wb") as f:
            f.write(text)
        os.chmod(target, int(mode, 8))


def _guest_image(dest, kind):
    """The lab guest image from its cache (built first if its inputs changed)."""
    from ..guest import image
    kernel, initrd = image.ensure()
    src = kernel if kind == "guest-esp" else initrd
    tmp = dest + ".pkgnew"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    import shutil
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o444)
    os.replace(tmp, dest)


def _delete_unchanged_config(sample):
    """pkg-create(8)'s @sample on deinstall: the configuration file X is removed with X.sample
    when it is still the same as X.sample; a file the user (or a tool) changed stays."""
    config = sample[:-len(".sample")]
    try:
        with open(sample, "rb") as f, open(config, "rb") as g:
            same = f.read() == g.read()
    except OSError:
        return
    if same:
        os.unlink(config)


def delete(ctx, args):
    opts, names = getopt.getopt(args, "aDfginqRxy")
    flags = {o for o, _ in opts}
    db = _db(ctx)
    missing = [n for n in names if n not in db]
    if missing or not names:
        ctx.print("No packages matched for pattern '%s'" % (missing[0] if missing else ""))
        ctx.print("", "Checking integrity... done (0 conflicting)")
        return 1
    if "-q" not in flags:
        ctx.print("Checking integrity... done (0 conflicting)", "Deinstallation has been "
                  "requested for the following %d packages (of 0 packages in the universe):"
                  % len(names), "", "Installed packages to be REMOVED:")
        ctx.print(*["\t%s: %s" % (n, db[n]) for n in names])
        ctx.print("", "Number of packages to be removed: %d" % len(names))
    if not _yes(flags):
        return 1
    for i, n in enumerate(names, 1):
        if "-q" not in flags:
            ctx.print("[%d/%d] Deinstalling %s-%s..." % (i, len(names), n, db[n]))
        for path, kind in REPO.get(n, {}).get("files", {}).items():
            if kind.startswith("sample:"):
                _delete_unchanged_config(ctx.path(path))
            try:
                os.unlink(ctx.path(path))
            except OSError:
                pass
            # pkg(8) also removes the package's directories that are left empty
            parent = os.path.dirname(path)
            while parent not in ("/", "/usr/local", "/usr/local/share", "/usr/local/bin",
                                 "/usr/local/sbin", "/usr/local/lib", "/usr/local/libexec",
                                 "/usr/local/etc"):
                try:
                    os.rmdir(ctx.path(parent))
                except OSError:
                    break
                parent = os.path.dirname(parent)
        del db[n]
    _save(ctx, db)
    return 0


def query(ctx, args):
    opts, rest = getopt.getopt(args, "aegix")
    if not rest:
        return ctx.errx(1, "query: missing format")
    fmt, names = rest[0], rest[1:]
    db = _db(ctx)
    names = names or (sorted(db) if ("-a", "") in opts else [])
    status = 0
    for n in names:
        if n not in db:
            status = 1
            continue
        ctx.print(fmt.replace("%n", n).replace("%v", db[n])
                  .replace("%c", REPO.get(n, {}).get("comment", "")))
    return status
