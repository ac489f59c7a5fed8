"""sysrc(8) on the laptop's real rc.conf files (FREEBSD.md section 3).

Values are what sh gets by sourcing /etc/defaults/rc.conf then the rc_conf_files (or
the -f files), so quoting and expansions behave as in sysrc's own sh; edits replace the
last assignment in the last file that has one, or append `name="value"` to the first file.
"""
import getopt
import os
import re
import subprocess

from ..freebsd import state

USAGE = "Usage: sysrc [OPTIONS] {name[[+|-]=value] ... | -a | -A | -l | -L [name ...]}\n"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _shq(s):
    return "'" + s.replace("'", "'\\''") + "'"


class Files:
    def __init__(self, ctx, explicit, service=None):
        self.ctx = ctx
        self.defaults = "/etc/defaults/rc.conf"
        if explicit:
            self.files = explicit
        else:
            self.files = (self.evaluate(["rc_conf_files"], defaults_only=True)[0] or
                          "/etc/rc.conf /etc/rc.conf.local").split()
        if service:
            self.files += ["/etc/rc.conf.d/" + service, "/usr/local/etc/rc.conf.d/" + service]

    def evaluate(self, names, defaults_only=False):
        """-> list of value-or-None (None = unset), by sourcing the files in sh."""
        files = [self.defaults] + ([] if defaults_only else self.files)
        script = "".join("[ -r %s ] && . %s >/dev/null 2>&1\n" % (_shq(self.ctx.path(f)),
                                                                 _shq(self.ctx.path(f)))
                         for f in files)
        for n in names:
            if _IDENT.match(n):
                script += 'if [ "${%s+set}" = set ]; then printf "S%%s\\0" "$%s"; ' \
                          'else printf "U\\0"; fi\n' % (n, n)
            else:
                script += 'printf "U\\0"\n'
        r = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True)
        out = r.stdout.split("\0")[:len(names)]
        return [None if v.startswith("U") else v[1:] for v in out]

    def where(self, name):
        """The last file that assigns `name` (for edits and -v)."""
        pat = _assign_re(name)
        found = None
        for f in self.files:
            try:
                with open(self.ctx.path(f)) as fh:
                    if any(pat.match(line) for line in fh):
                        found = f
            except OSError:
                pass
        return found


def _assign_re(name):
    # sysrc matches `name=` at the start of a line (leading blanks allowed); a dotted name is
    # cut at its first `.`, so a loader tunable like hw.vmm.amdvi.enable is never found
    key = name.split(".", 1)[0] if "." in name else name
    return re.compile(r"^[ \t]*%s=" % re.escape(key) + ("$^" if "." in name else ""))


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "aAcdDeEf:FhiIjlLnNqR:s:vx")
    except getopt.GetoptError as e:
        ctx.err.write("sysrc: %s\n%s" % (e, USAGE))
        return 1
    flags = "".join(o[1] for o, _ in opts if o not in ("-f", "-s", "-R"))
    explicit = [v for o, v in opts if o == "-f"]
    service = next((v for o, v in opts if o == "-s"), None)
    if "h" in flags:
        ctx.err.write(USAGE)
        return 1
    files = Files(ctx, explicit, service)
    if "a" in flags or "A" in flags:
        return _list_all(ctx, files, flags)
    if not args:
        ctx.err.write(USAGE)
        return 1
    status = 0
    for arg in args:
        eq = arg.find("=")
        if eq > 0:
            cut = eq - 1 if arg[eq - 1] in "+-" else eq
            rc = _set(ctx, files, flags, arg[:cut], arg[cut:eq + 1], arg[eq + 1:])
        elif "x" in flags:
            rc = _delete(ctx, files, flags, arg)
        else:
            rc = _query(ctx, files, flags, arg)
        status = status or rc
    return status


def _unknown(ctx, flags, name):
    if "i" in flags:
        return 0
    if "q" not in flags:
        ctx.warnx("unknown variable '%s'" % name)
    return 1


def _query(ctx, files, flags, name):
    value = files.evaluate([name])[0]
    if value is None:
        return _unknown(ctx, flags, name)
    if "c" in flags:
        return 0
    prefix = ""
    if "v" in flags:
        prefix = "%s: " % (files.where(name) or files.defaults)
    if "n" in flags:
        ctx.print(prefix + value)
    elif "N" in flags:
        ctx.print(prefix + name)
    elif "e" in flags:
        ctx.print(prefix + '%s="%s"' % (name, value))
    else:
        ctx.print(prefix + "%s: %s" % (name, value))
    return 0


def _new_value(old, op, value):
    if op == "=":
        return value
    sep = value[0] if value and not value[0].isalnum() else " "
    items = [x for x in (value[1:] if sep != " " else value).split(sep) if x]
    current = [x for x in (old or "").split(sep if sep != " " else None) if x]
    if op == "+=":
        current += [x for x in items if x not in current]
    else:
        current = [x for x in current if x not in items]
    return sep.join(current)


def _set(ctx, files, flags, name, op, value):
    old = files.evaluate([name])[0]
    new = _new_value(old, op, value)
    old_s = old or ""
    target = files.where(name) or files.files[0]
    if "c" in flags:
        if old is not None and old_s == new:
            if "v" in flags:
                ctx.print("%s: already set to `%s'" % (name, new))
            return 0
        if "v" in flags:
            ctx.print("%s: %s: would change from `%s' to `%s'" % (target, name, old_s, new))
        return 1
    st = state.read(ctx.laptop_dir)
    if state.fault(st, "disk-full"):
        return ctx.errx(1, "%s: No space left on device" % target)
    path = ctx.path(target)
    for f in files.files:
        p = ctx.path(f)
        if os.path.exists(p) and subprocess.run(["/bin/sh", "-n", p]).returncode != 0:
            return ctx.errx(1, "Exiting due to previous syntax errors")
    _write_assignment(path, name, new)
    if "q" not in flags:
        if "v" in flags:
            ctx.print("%s: %s: %s -> %s" % (target, name, old_s, new))
        else:
            ctx.print("%s: %s -> %s" % (name, old_s, new))
    return 0


def _write_assignment(path, name, value):
    """Replace the last `name=` line, or append one; always double quotes."""
    pat = _assign_re(name)
    try:
        with open(path) as f:
            lines = f.read().splitlines(keepends=True)
    except FileNotFoundError:
        lines = []
    line = '%s="%s"\n' % (name, value.replace("\\", "\\\\").replace('"', '\\"'))
    idx = [i for i, l in enumerate(lines) if pat.match(l)]
    if idx:
        lines[idx[-1]] = line
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(line)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.writelines(lines)


def _delete(ctx, files, flags, name):
    pat = _assign_re(name)
    found = False
    for f in files.files:
        p = ctx.path(f)
        try:
            with open(p) as fh:
                lines = fh.read().splitlines(keepends=True)
        except OSError:
            continue
        keep = [l for l in lines if not pat.match(l)]
        if len(keep) != len(lines):
            found = True
            with open(p, "w") as fh:
                fh.writelines(keep)
    if not found and files.evaluate([name])[0] is None:
        return _unknown(ctx, flags, name)
    return 0


def _list_all(ctx, files, flags):
    names = set()
    sources = files.files + ([files.defaults] if "A" in flags else [])
    for f in sources:
        try:
            with open(ctx.path(f)) as fh:
                for line in fh:
                    m = re.match(r"^[ \t]*([A-Za-z_][A-Za-z0-9_]*)=", line)
                    if m:
                        names.add(m.group(1))
        except OSError:
            pass
    names = sorted(names)
    for n, v in zip(names, files.evaluate(names)):
        if v is not None:
            ctx.print(v if "n" in flags else "%s: %s" % (n, v))
    return 0
