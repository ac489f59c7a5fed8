"""What every simulated command gets: the laptop's directories and FreeBSD's err(3) style."""
import fcntl
import os
import sys


class Ctx:
    """One command invocation inside a laptop.

    laptop_dir holds the state file; root is the laptop's `/` (`/` inside the laptop's
    mount namespace, a temporary folder in unit tests).
    """

    def __init__(self, prog, laptop_dir, root="/", out=None, err=None):
        self.prog = prog
        self.laptop_dir = laptop_dir
        self.root = root
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def path(self, p):
        """A FreeBSD absolute path as seen from the lab process."""
        return os.path.join(self.root, p.lstrip("/"))

    def print(self, *lines):
        for line in lines:
            self.out.write(line + "\n")

    def warnx(self, msg):
        """warnx(3): `prog: message` on stderr."""
        self.err.write("%s: %s\n" % (self.prog, msg))

    def errx(self, code, msg):
        self.warnx(msg)
        return code


STRERROR = {"ENOENT": "No such file or directory", "EEXIST": "File exists",
            "EBUSY": "Device busy", "EINVAL": "Invalid argument", "ENXIO": "Device not configured",
            "EPERM": "Operation not permitted", "ENOSPC": "No space left on device",
            "ENOEXEC": "Exec format error"}


def pidfile_open(path, mode):
    """pidfile_open(3): open PATH and lock it. -> fd; raises OSError when it cannot be opened,
    and PidfileLocked (with the holder's pid, or None when the file has none) when another
    process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            pid = int(os.read(fd, 32).split()[0])
        except (ValueError, IndexError):
            pid = None
        os.close(fd)
        raise PidfileLocked(pid)
    return fd


class PidfileLocked(Exception):
    def __init__(self, pid):
        super().__init__(pid)
        self.pid = pid
