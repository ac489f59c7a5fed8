"""rcorder(8): print rc.d files in dependency order (PROVIDE/REQUIRE/BEFORE), -k keep, -s skip."""
import getopt
import re

_HDR = re.compile(r"^#\s*(PROVIDE|REQUIRE|BEFORE|KEYWORD|KEYWORDS):\s*(.*)$")


def parse(path):
    """-> dict(provide, require, before, keyword) from the script's leading comment block."""
    info = {"PROVIDE": [], "REQUIRE": [], "BEFORE": [], "KEYWORD": []}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = _HDR.match(line.strip())
                if m:
                    info[m.group(1).rstrip("S") if m.group(1) == "KEYWORDS" else m.group(1)] \
                        += m.group(2).split()
    except OSError:
        return None
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
