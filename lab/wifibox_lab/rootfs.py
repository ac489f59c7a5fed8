"""Build a laptop's directory: its FreeBSD file tree, the simulator shims, sshd config, state.

Layout of a laptop dir D (host path; the same path works inside the laptop):
    D/fs/etc, D/fs/var    upper layers of overlays on /etc and /var
    D/fs/boot, usr/local, root, run, tmp, dev/vmm    bound over the Linux paths
    D/sim/usr.bin, D/sim/usr.sbin    simulator shims, overlaid in front of /usr/bin, /usr/sbin
    D/state.json    the kernel/hardware model the simulator reads and writes
"""
import os
import shutil
import stat

from . import profiles
from .freebsd import boot, kmod, state
from .sim import main as simmain

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
REAL_PYTHON = "/usr/bin/python3.11"

# FreeBSD root's PATH (login.conf), used for SSH sessions and rc scripts.
PATH = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:/root/bin"

SHIM = """#!{python} -S
import sys
sys.path.insert(0, {src!r})
from wifibox_lab.sim.main import main
sys.exit(main({prog!r}, {laptop!r}))
"""

SITECUSTOMIZE = '''# wifibox lab: Python in this laptop sees FreeBSD's uname
# (platform.system() == "FreeBSD") as on a real FreeBSD laptop; Linux python runs underneath.
import os as _os
_real_uname = _os.uname
def _freebsd_uname():
    r = _real_uname()
    return _os.uname_result(("FreeBSD", r.nodename, {kernel!r}, "FreeBSD {kernel} GENERIC",
                             "amd64"))
_os.uname = _freebsd_uname
'''

SSHD_CONFIG = """# sshd of lab laptop {name}: key-only root login, like a laptop set up for Ansible
Port 22
ListenAddress {addr}
HostKey {d}/ssh_host_ed25519_key
PidFile /var/run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
MaxSessions 100
SetEnv PATH={path}
Subsystem sftp /usr/lib/openssh/sftp-server
"""


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def build(d, name, profile_name, addr, lab_pubkey):
    """Create everything under laptop dir `d` (which must not exist yet)."""
    prof = profiles.load(profile_name)
    for sub in ("fs/etc", "fs/var/log", "fs/var/db", "fs/boot", "fs/usr/local", "fs/root/.ssh",
                "fs/run/sshd", "fs/run/dhclient", "fs/tmp", "fs/dev/vmm", "work/etc", "work/var", "devstage",
                "sim/usr.bin", "sim/usr.sbin"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    os.chmod(os.path.join(d, "fs/tmp"), 0o1777)
    os.chmod(os.path.join(d, "fs/root"), 0o700)
    os.chmod(os.path.join(d, "fs/root/.ssh"), 0o700)
    # /var/log of the laptop is its own, not the Linux host's merged in below
    os.setxattr(os.path.join(d, "fs/var/log"), "trusted.overlay.opaque", b"y")
    write(os.path.join(d, "fs/root/.ssh/authorized_keys"), lab_pubkey, 0o600)
    _shims(d)
    _etc(d, name, prof)
    _boot(d)
    _usr_local(d)
    write(os.path.join(d, "sshd_config"),
          SSHD_CONFIG.format(name=name, addr=addr, d=d, path=PATH))
    st = boot.new_state(prof, name, name)
    state.write(d, st)
    return prof


def _shims(d):
    """One tiny Python script per FreeBSD command; whiteouts hide Linux's python in /usr/bin.

    FreeBSD has no /usr/bin/python3: Python comes from packages in /usr/local/bin, and Ansible's
    interpreter discovery must find it there, as it would on a real laptop.
    """
    py = os.path.join(d, "python3.11")
    os.link(REAL_PYTHON, py)
    copy_simulator(d)
    for prog, where in simmain.LOCATION.items():
        target = {"/sbin": "sim/usr.sbin", "/usr/sbin": "sim/usr.sbin", "/bin": "sim/usr.bin",
                  "/usr/bin": "sim/usr.bin", "/usr/local/sbin": "fs/usr/local/sbin"}[where]
        if prog in ("grub-bhyve",):
            continue  # installed by `pkg install grub2-bhyve`
        write(os.path.join(d, target, prog),
              shim_text(d, prog), 0o755)
    for hidden in ("python3", "python3.11", "python3-config", "python3.11-config", "pydoc3",
                   "pydoc3.11", "python"):
        os.mknod(os.path.join(d, "sim/usr.bin", hidden), stat.S_IFCHR | 0o000, os.makedev(0, 0))


def shim_text(d, prog):
    return SHIM.format(python=os.path.join(d, "python3.11"), src=simulator_path(d), prog=prog, laptop=d)


def simulator_path(d):
    """Where the laptop's shims import the simulator from: a copy in the laptop dir.

    The work tree may live under a path the laptop mounts over (a clone in /tmp:
    each laptop has its own /tmp), so the shims cannot import it from there.
    """
    return os.path.join(d, "lib")


def copy_simulator(d):
    shutil.copytree(PACKAGE_DIR, os.path.join(simulator_path(d), "wifibox_lab"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests"), dirs_exist_ok=True)


# rc.suspend runs the rc.d `suspend` keyword only when __FreeBSD_version > this (14.0)
RC_SUSPEND_KEYWORD_OSRELDATE = 1400089


def _etc(d, name, prof):
    etc = os.path.join(d, "fs/etc")
    shutil.copytree(os.path.join(DATA, "etc"), etc, dirs_exist_ok=True, symlinks=True)
    if prof["osreldate"] <= RC_SUSPEND_KEYWORD_OSRELDATE:
        # 13.x: rc.suspend without the `KEYWORD: suspend` rc.d loop that 14.0 added
        shutil.copy(os.path.join(DATA, "etc13", "rc.suspend"), os.path.join(etc, "rc.suspend"))
    for sub in ("rc.conf.d", "devd", "rc.d"):
        os.makedirs(os.path.join(etc, sub), exist_ok=True)
    write(os.path.join(etc, "rc.conf"), rc_conf(name, prof))
    # root logs in with /bin/sh as on FreeBSD 14 (the Linux account file otherwise)
    with open("/etc/passwd") as f:
        lines = [("root:x:0:0:Charlie &:/root:/bin/sh" if line.startswith("root:") else line)
                 for line in f.read().splitlines()]
    write(os.path.join(etc, "passwd"), "\n".join(lines) + "\n")
    # FreeBSD's group 0 is wheel (rc.d scripts `install -g wheel`); Linux calls it root
    with open("/etc/group") as f:
        groups = f.read().splitlines()
    if not any(g.startswith("wheel:") for g in groups):
        groups.insert(0, "wheel:x:0:root")
    write(os.path.join(etc, "group"), "\n".join(groups) + "\n")
    write(os.path.join(etc, "python3.11/sitecustomize.py"),
          SITECUSTOMIZE.format(kernel=prof["kernel"]))
    write(os.path.join(etc, "hostname"), name + "\n")
    for script in os.listdir(os.path.join(etc, "rc.d")):
        os.chmod(os.path.join(etc, "rc.d", script), 0o755)
    for script in ("rc", "rc.shutdown", "rc.suspend", "rc.resume"):
        if os.path.exists(os.path.join(etc, script)):
            os.chmod(os.path.join(etc, script), 0o755)


def rc_conf(name, prof):
    """/etc/rc.conf as the installer and a laptop user leave it: native Wi-Fi configured."""
    lines = ['hostname="%s"' % name, 'ifconfig_%s="DHCP"' % prof["mgmt_if"],
             'sshd_enable="YES"', 'ntpd_enable="YES"', 'powerd_enable="YES"',
             'moused_nondefault_enable="NO"', 'dumpdev="AUTO"', 'zfs_enable="YES"']
    wifi = next(d for d in prof["devices"]
                if "pci%d:%d:%d:%d" % tuple(d["bsf4"]) == prof["wifi"])
    if wifi["native"]:
        lines += ['wlans_%s0="wlan0"' % wifi["native"], 'ifconfig_wlan0="WPA DHCP"']
    return "\n".join(lines) + "\n"


def _boot(d):
    b = os.path.join(d, "fs/boot")
    shutil.copytree(os.path.join(DATA, "boot"), b, dirs_exist_ok=True)
    os.makedirs(os.path.join(b, "loader.conf.d"), exist_ok=True)
    os.makedirs(os.path.join(b, "modules"), exist_ok=True)
    kdir = os.path.join(b, "kernel")
    os.makedirs(kdir, exist_ok=True)
    open(os.path.join(kdir, "kernel"), "w").close()
    for f in kmod.FILES:
        open(os.path.join(kdir, f + ".ko"), "w").close()


def _usr_local(d):
    u = os.path.join(d, "fs/usr/local")
    # hier(7) / mtree BSD.local.dist: these exist on every FreeBSD
    for sub in ("bin", "sbin", "etc/rc.d", "etc/devd", "etc/rc.conf.d", "share", "lib", "libexec"):
        os.makedirs(os.path.join(u, sub), exist_ok=True)
    # pkg's python311: /usr/local/bin/python3.11 is the real python3 underneath
    os.symlink(os.path.join(d, "python3.11"), os.path.join(u, "bin/python3.11"))
    os.symlink("python3.11", os.path.join(u, "bin/python3"))
