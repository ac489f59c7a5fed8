"""service(8): run an rc.d script from /etc/rc.d or the local_startup dirs with a clean env."""
import getopt
import os
import subprocess

from . import rcorder

# service(8) runs scripts with env -i HOME=/ PATH=<this>
PATH = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"
DIRS = ("/etc/rc.d", "/usr/local/etc/rc.d")
USAGE = """usage: service [-j <jail name or id>] -e
       service [-j <jail name or id>] -R
       service [-j <jail name or id>] [-v] -l | -r
       service [-j <jail name or id>] [-v] [-E var=value] <rc.d script> start|stop|etc.
       service -h
"""


def scripts(ctx):
    out = []
    for d in DIRS:
        try:
            for n in sorted(os.listdir(ctx.path(d))):
                p = os.path.join(d, n)
                if os.access(ctx.path(p), os.X_OK) and os.path.isfile(ctx.path(p)):
                    out.append(p)
        except OSError:
            pass
    return out


def _env(extra=()):
    env = {"HOME": "/", "PATH": PATH}
    env.update(dict(e.split("=", 1) for e in extra))
    return env


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "eE:hj:lrRv")
    except getopt.GetoptError:
        ctx.err.write(USAGE)
        return 1
    flags = {o for o, _ in opts}
    extra = [v for o, v in opts if o == "-E"]
    if "-h" in flags:
        ctx.out.write(USAGE)
        return 0
    if "-l" in flags:
        ctx.print(*sorted({os.path.basename(p) for p in scripts(ctx)}))
        return 0
    if "-r" in flags or "-e" in flags:
        ordered = rcorder.order([ctx.path(p) for p in scripts(ctx)])
        for p in ordered:
            rel = "/" + os.path.relpath(p, ctx.path("/"))
            if "-e" in flags:
                r = subprocess.run([p, "enabled"], env=_env(extra), capture_output=True)
                if r.returncode != 0:
                    continue
            ctx.print(rel)
        return 0
    if len(args) < 2:
        ctx.err.write(USAGE)
        return 1
    name = args[0]
    for d in DIRS:
        p = os.path.join(d, name)
        if os.path.isfile(ctx.path(p)) and os.access(ctx.path(p), os.X_OK):
            ctx.out.flush()
            if _real(ctx.out) and _real(ctx.err):
                return subprocess.run([ctx.path(p)] + args[1:], env=_env(extra),
                                      stdout=ctx.out, stderr=ctx.err).returncode
            r = subprocess.run([ctx.path(p)] + args[1:], env=_env(extra), capture_output=True,
                               text=True)
            ctx.out.write(r.stdout)
            ctx.err.write(r.stderr)
            return r.returncode
    ctx.err.write("%s does not exist in /etc/rc.d or the local startup\n"
                  "directories (/usr/local/etc/rc.d), or is not executable\n" % name)
    return 1


def _real(stream):
    try:
        stream.fileno()
        return True
    except (OSError, AttributeError, ValueError):
        return False
