"""rcorder(8): print rc.d files in dependency order (PROVIDE/REQUIRE/BEFORE), -k keep, -s skip."""
import getopt
import re

# sbin/rcorder/rcorder.c: a header line starts with exactly one of these (no leading blanks,
# one space after the #); the words after it are split at blanks.
_PREFIXES = (("# REQUIRE:", "REQUIRE"), ("# REQUIRES:", "REQUIRE"), ("# PROVIDE:", "PROVIDE"),
             ("# PROVIDES:", "PROVIDE"), ("# BEFORE:", "BEFORE"), ("# KEYWORD:", "KEYWORD"),
             ("# KEYWORDS:", "KEYWORD"))


def parse(path):
    """-> dict(provide, require, before, keyword) from the script's header block.

    rcorder reads lines (a backslash at the end joins the next line) until the first line that
    is not a header line after the first header line: headers further down are not read.
    """
    info = {"PROVIDE": [], "REQUIRE": [], "BEFORE": [], "KEYWORD": []}
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    parsing = False
    for line in re.sub(r"\\\n", "", text).split("\n"):
        for prefix, key in _PREFIXES:
            if line.startswith(prefix):
                info[key] += line[len(prefix):].split()
                parsing = True
                break
        else:
            if parsing:
                break
    return info


def order(paths, keep=(), skip=(), warn=lambda m: None):
    """Files in rcorder's order: depth-first over the arguments, requirements first."""
    infos = {p: parse(p) for p in paths}
    infos = {p: i for p, i in infos.items() if i is not None}
    providers = {}
    for p, i in infos.items():
        for name in i["PROVIDE"]:
            providers.setdefault(name, []).append(p)
    needs = {p: [] for p in infos}
    for p, i in infos.items():
        for req in i["REQUIRE"]:
            if req not in providers:
                warn("requirement `%s' in file `%s' has no providers." % (req, p))
            needs[p] += providers.get(req, [])
        for b in i["BEFORE"]:
            for q in providers.get(b, []):
                needs[q].append(p)
    out, done, active = [], set(), set()

    def visit(p):
        if p in done:
            return
        if p in active:
            warn("Circular dependency on file `%s'." % p)
            return
        active.add(p)
        for q in needs[p]:
            visit(q)
        active.discard(p)
        done.add(p)
        kws = set(infos[p]["KEYWORD"])
        if (not keep or kws & set(keep)) and not kws & set(skip):
            out.append(p)
    for p in infos:
        visit(p)
    return out


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "k:ps:")
    except getopt.GetoptError:
        ctx.err.write("usage: rcorder [-gp] [-k keep] [-s skip] file ...\n")
        return 1
    keep = [v for o, v in opts if o == "-k"]
    skip = [v for o, v in opts if o == "-s"]
    for p in order(args, keep, skip, ctx.warnx):
        ctx.print(p)
    return 0
