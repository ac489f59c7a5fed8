"""What every simulated command gets: the laptop's directories and FreeBSD's err(3) style."""
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
