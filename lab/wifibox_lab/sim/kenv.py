"""kenv(1): dump, get, set, unset the kernel environment (set by the loader at boot).

bin/kenv/kenv.c returns the -1 of a failed kenv(2) call from main(): a missing name, a
failed unset or set exits with status 255.  kenv(2) KENV_SET (kern_environment.c) copies
at most KENV_MVALLEN + 1 bytes of the value and a name of at most KENV_MNAMELEN bytes:
a longer value or name fails (ENAMETOOLONG) instead of being cut.
"""
import getopt

from ..freebsd import state
from ..freebsd.loaderconf import KENV_MNAMELEN, KENV_MVALLEN

FAILED = 255  # exit(-1)


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "hlNqsuv")
    except getopt.GetoptError:
        return _usage(ctx)
    flags = "".join(o[1] for o, _ in opts)
    quiet = "q" in flags
    with state.locked(ctx.laptop_dir) as st:
        env = st["kenv"]
        if not args:
            if "u" in flags:
                return _usage(ctx)
            for k, v in env.items():
                ctx.print('%s="%s"' % (k, v))
            return 0
        if len(args) > 1:
            return _usage(ctx)
        name, eq, value = args[0].partition("=")
        if "u" in flags:
            if name not in env or len(name.encode()) > KENV_MNAMELEN:
                if not quiet:
                    ctx.warnx("unable to unset %s" % name)
                return FAILED
            del env[name]
            return 0
        if eq:
            if len(value.encode()) > KENV_MVALLEN or len(name.encode()) > KENV_MNAMELEN:
                if not quiet:
                    ctx.warnx("unable to set %s to %s" % (name, value))
                return FAILED
            env[name] = value  # kern_setenv replaces in place or appends
            ctx.print("%s=\"%s\"" % (name, value))
            return 0
        if name not in env or len(name.encode()) > KENV_MNAMELEN:
            if not quiet:
                ctx.warnx("unable to get %s" % name)
            return FAILED
        ctx.print('%s="%s"' % (name, env[name]) if "v" in flags else env[name])
        return 0


def _usage(ctx):
    ctx.err.write("usage: kenv [-l|-s] [-hNq]\n       kenv [-qv] variable[=value]\n"
                  "       kenv [-q] -u variable\n")
    return 1
