"""kenv(1): dump, get, set, unset the kernel environment (set by the loader at boot)."""
import getopt

from ..freebsd import state


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
            if name not in env:
                if not quiet:
                    ctx.warnx("unable to unset %s" % name)
                return 1
            del env[name]
            return 0
        if eq:
            env[name] = value[:128]
            ctx.print("%s=\"%s\"" % (name, value[:128]))
            return 0
        if name not in env:
            if not quiet:
                ctx.warnx("unable to get %s" % name)
            return 1
        ctx.print(env[name] if "N" not in flags else name)
        return 0


def _usage(ctx):
    ctx.err.write("usage: kenv [-l|-s] [-hNq]\n       kenv [-qv] variable[=value]\n"
                  "       kenv [-q] -u variable\n")
    return 1
