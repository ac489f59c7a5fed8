"""pfctl(8): the part of pf the wifibox uses, from pf.conf(5) and pfctl(8).

* `pfctl -n -f FILE` parses FILE and loads nothing (no /dev/pf needed); `-v` prints the rules.
* `pfctl -f FILE` loads the main ruleset; `pfctl -a ANCHOR -f FILE` loads an anchor's;
  `load anchor "NAME" from "FILE"` in the main file does the same at load time.
* `pfctl -e` / `-d` enable and disable pf; `-s info` says which; `-s nat` / `-s rules`
  (with `-a ANCHOR`) show what is loaded; `-F all|nat|rules` flushes; `-q` quiets -e/-d.
* Without pf.ko loaded every command except -n fails as pfctl does when /dev/pf is missing.

The parser checks what FreeBSD's parse.y checks for the rules it knows: macros ($name),
`set`, `ether`, `scrub`, `altq`/`queue`, translation (`nat`, `rdr`, `binat` and their
`-anchor` forms), filtering (`pass`, `block`, `anchor`, `antispoof`, `match`), `table` and
`load anchor`, and the order of the classes ("Rules must be in order: ..."). A `nat` rule
must be `nat [pass] on IF [inet] [proto P] from SRC to DST -> (IF)|IF|ADDR`.

Packets: while pf is enabled its translation is carried by the laptop's Linux network
namespace. The nat rules, with each nat-anchor replaced by its anchor's nat rules, become
iptables rules in the nat table's chain LAB_PF (jumped to from POSTROUTING), in pf's first-
match order: `-> (IF)`/`-> IF` is MASQUERADE, `-> ADDR` is SNAT. Filter rules are parsed,
shown and kept, but not enforced on packets. A reboot forgets everything (pf is kernel
state): the rules come back only through rc.d/pf.
"""
import getopt
import ipaddress
import re
import shlex
import subprocess

from ..freebsd import kernel, state as statemod

ORDER_MSG = "Rules must be in order: options, ethernet, normalization, queueing, translation, filtering"
CLASSES = {"set": 0, "ether": 1, "scrub": 2, "altq": 3, "queue": 3,
           "nat": 4, "rdr": 4, "binat": 4, "nat-anchor": 4, "rdr-anchor": 4, "binat-anchor": 4,
           "pass": 5, "block": 5, "anchor": 5, "antispoof": 5, "match": 5}
CHAIN = "LAB_PF"
_IFNAME = re.compile(r"^[a-z][a-z0-9_.]*[0-9]$")


class ParseError(Exception):
    pass


def _pf(st):
    """pf's kernel state for this boot."""
    pf = st.get("pf")
    if not pf or pf.get("boot") != st.get("boots"):
        pf = st["pf"] = {"boot": st.get("boots"), "enabled": False, "main": [], "anchors": {}}
    return pf


def _lines(text):
    """(line number, text) of each logical line: comments cut, backslash continuations joined."""
    out, buf, start = [], "", None
    for no, raw in enumerate(text.split("\n"), 1):
        line = raw.split("#", 1)[0] if '"' not in raw else _strip_comment(raw)
        if start is None:
            start = no
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        buf += line
        if buf.strip():
            out.append((start, buf.strip()))
        buf, start = "", None
    return out


def _strip_comment(line):
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return line[:i]
    return line


def _expand(line, macros, no):
    def sub(m):
        if m.group(1) not in macros:
            raise ParseError("%d: macro '%s' not defined" % (no, m.group(1)))
        return macros[m.group(1)]
    return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", sub, line)


def _addr(tok, no):
    if tok == "any":
        return "any"
    neg = tok.startswith("!")
    body = tok[1:] if neg else tok
    if body.startswith("(") and body.endswith(")") and _IFNAME.match(body[1:-1]):
        raise ParseError("%d: interface addresses as a source or destination are not supported by the lab" % no)
    try:
        net = ipaddress.ip_network(body, strict=False)
    except ValueError:
        raise ParseError("%d: syntax error" % no) from None
    return ("! " if neg else "") + str(net)


def parse_nat(words, no):
    """nat [pass] on IF [inet|inet6] [proto P] from SRC to DST -> TARGET."""
    merged = []
    for word in words:
        if merged and merged[-1] == "!":
            merged[-1] = "!" + word
        else:
            merged.append(word)
    words = merged
    i = 1
    rule = {"type": "nat"}
    if i < len(words) and words[i] == "pass":
        rule["pass"] = True
        i += 1
    if words[i:i + 1] != ["on"] or i + 1 >= len(words) or not _IFNAME.match(words[i + 1]):
        raise ParseError("%d: syntax error" % no)
    rule["on"] = words[i + 1]
    i += 2
    if i < len(words) and words[i] in ("inet", "inet6"):
        rule["af"] = words[i]
        i += 1
    if i < len(words) and words[i] == "proto":
        if i + 1 >= len(words) or words[i + 1] not in ("tcp", "udp", "icmp"):
            raise ParseError("%d: syntax error" % no)
        rule["proto"] = words[i + 1]
        i += 2
    if words[i:i + 1] != ["from"] or i + 3 >= len(words) or words[i + 2] != "to":
        raise ParseError("%d: syntax error" % no)
    rule["from"] = _addr(words[i + 1], no)
    rule["to"] = _addr(words[i + 3], no)
    i += 4
    if words[i:i + 1] != ["->"] or i + 1 >= len(words):
        raise ParseError("%d: syntax error" % no)
    target = words[i + 1]
    i += 2
    if target.startswith("(") and target.endswith(")") and _IFNAME.match(target[1:-1]):
        rule["target"] = target
    elif _IFNAME.match(target):
        rule["target"] = target
    else:
        try:
            rule["target"] = str(ipaddress.ip_address(target))
        except ValueError:
            raise ParseError("%d: syntax error" % no) from None
    if i < len(words) and words[i] == "static-port":
        rule["static_port"] = True
        i += 1
    if i != len(words):
        raise ParseError("%d: syntax error" % no)
    if rule.get("af") == "inet6" or ":" in rule["from"] or ":" in rule["to"]:
        raise ParseError("%d: IPv6 nat is not supported by the lab" % no)
    return rule


def parse(text, main=True):
    """The rules of a pf.conf text: [{type, ...}], 'loads': [(anchor, file)]. Raises ParseError."""
    macros, rules, loads, state = {}, [], [], 0
    errors = []
    for no, line in _lines(text):
        try:
            m = re.match(r'^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$', line)
            if m:
                value = m.group(2).strip()
                if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                    value = value[1:-1]
                macros[m.group(1)] = _expand(value, macros, no)
                continue
            line = _expand(line, macros, no)
            try:
                words = shlex.split(line, posix=True)
            except ValueError:
                raise ParseError("%d: syntax error" % no) from None
            word = words[0]
            if word == "load":
                if len(words) != 5 or words[1] != "anchor" or words[3] != "from":
                    raise ParseError("%d: syntax error" % no)
                if not main:
                    raise ParseError("%d: load anchor not supported in anchors" % no)
                loads.append((words[2], words[4]))
                continue
            if word == "table":
                continue
            if word not in CLASSES:
                raise ParseError("%d: syntax error" % no)
            if CLASSES[word] < state:
                raise ParseError("%d: %s" % (no, ORDER_MSG))
            state = CLASSES[word]
            if word == "nat":
                rules.append(dict(parse_nat(words, no), text=line))
            elif word.endswith("anchor"):
                if len(words) < 2:
                    raise ParseError("%d: syntax error" % no)
                rules.append({"type": word, "name": words[1], "text": line})
            else:
                rules.append({"type": word, "text": line})
        except ParseError as exc:
            errors.append(str(exc))
    if errors:
        raise ParseError("\n".join(errors))
    return rules, loads


def iptables_rules(pf):
    """The iptables argv lists (nat table, chain LAB_PF) that carry the loaded translation."""
    out = []
    if not pf["enabled"]:
        return out

    def add(rule):
        argv = ["-A", CHAIN, "-o", rule["on"]]
        for key, flag in (("from", "-s"), ("to", "-d")):
            if rule[key] != "any":
                if rule[key].startswith("! "):
                    argv += ["!", flag, rule[key][2:]]
                else:
                    argv += [flag, rule[key]]
        if rule.get("proto"):
            argv += ["-p", rule["proto"]]
        target = rule["target"]
        if target.startswith("(") or _IFNAME.match(target):
            argv += ["-j", "MASQUERADE"]
        else:
            argv += ["-j", "SNAT", "--to-source", target]
        out.append(argv)

    for rule in pf["main"]:
        if rule["type"] == "nat":
            add(rule)
        elif rule["type"] == "nat-anchor":
            for sub in pf["anchors"].get(rule["name"], []):
                if sub["type"] == "nat":
                    add(sub)
    return out


def apply(pf):
    """Make the laptop namespace's iptables carry pf's translation (called after every change)."""
    ipt = "/usr/sbin/iptables"
    subprocess.run([ipt, "-t", "nat", "-N", CHAIN], capture_output=True, check=False)
    subprocess.run([ipt, "-t", "nat", "-F", CHAIN], capture_output=True, check=True)
    if subprocess.run([ipt, "-t", "nat", "-C", "POSTROUTING", "-j", CHAIN], capture_output=True,
                      check=False).returncode != 0:
        subprocess.run([ipt, "-t", "nat", "-A", "POSTROUTING", "-j", CHAIN], capture_output=True, check=True)
    for argv in iptables_rules(pf):
        subprocess.run([ipt, "-t", "nat"] + argv, capture_output=True, check=True)


def _read(ctx, name):
    if name == "-":
        import sys
        return sys.stdin.read()
    with open(ctx.path(name)) as f:
        return f.read()


def _show(ctx, pf, what, anchor):
    rules = pf["anchors"].get(anchor, []) if anchor else pf["main"]
    kinds = ("nat", "rdr", "binat", "nat-anchor", "rdr-anchor", "binat-anchor") if what == "nat" else \
        ("scrub", "pass", "block", "anchor", "antispoof", "match")
    for rule in rules:
        if rule["type"] in kinds:
            ctx.print(rule["text"])


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "a:deF:f:nqs:v")
    except getopt.GetoptError as exc:
        ctx.warnx(str(exc))
        ctx.err.write("usage: pfctl [-AdeghMmNnOPqRrvz] [-a anchor] [-D macro=value] [-F modifier] [-f file]\n"
                      "\t[-s modifier] [-t table -T command [address ...]] [-x level]\n")
        return 1
    if args:
        return ctx.errx(1, "unknown command line argument: %s ..." % args[0])
    o = dict(opts)
    flags = {k for k, _ in opts}
    anchor = o.get("-a", "")
    noaction = "-n" in flags
    with statemod.locked(ctx.laptop_dir) as st:
        if not noaction and not kernel.loaded_file(st, "pf"):
            return ctx.errx(1, "/dev/pf: No such file or directory")
        pf = _pf(st)
        changed = False
        if "-F" in flags:
            what = o["-F"]
            if what not in ("all", "nat", "rules"):
                return ctx.errx(1, "Unknown flush modifier '%s'" % what)
            if not noaction:
                target = pf["anchors"].setdefault(anchor, []) if anchor else pf["main"]
                keep = [] if what == "all" else [r for r in target if (r["type"] in ("nat", "nat-anchor", "rdr",
                        "rdr-anchor", "binat", "binat-anchor")) != (what == "nat")]
                target[:] = keep
                if not anchor and what == "all":
                    pf["anchors"] = {}
                changed = True
                if "-q" not in flags:
                    ctx.err.write("%s cleared\n" % ("rules" if what == "rules" else "nat" if what == "nat"
                                                    else "all"))
        if "-f" in flags:
            name = o["-f"]
            try:
                text = _read(ctx, name)
            except OSError:
                return ctx.errx(1, "cannot open the main config file!: No such file or directory")
            try:
                rules, loads = parse(text, main=not anchor)
                loaded = {}
                for sub, path in loads:
                    try:
                        loaded[sub] = parse(_read(ctx, path), main=False)[0]
                    except OSError:
                        raise ParseError("cannot load anchor %s from %s" % (sub, path)) from None
            except ParseError as exc:
                for line in str(exc).split("\n"):
                    ctx.err.write("%s:%s\n" % (name if name != "-" else "stdin", line))
                return ctx.errx(1, "Syntax error in config file: pf rules not loaded")
            if "-v" in flags:
                for rule in rules:
                    ctx.print(rule["text"])
            if not noaction:
                if anchor:
                    pf["anchors"][anchor] = rules
                else:
                    pf["main"] = rules
                    pf["anchors"].update(loaded)
                changed = True
        if "-e" in flags and not noaction:
            if pf["enabled"]:
                return ctx.errx(1, "pf already enabled")
            pf["enabled"] = True
            changed = True
            if "-q" not in flags:
                ctx.err.write("pf enabled\n")
        if "-d" in flags and not noaction:
            if not pf["enabled"]:
                return ctx.errx(1, "pf not enabled")
            pf["enabled"] = False
            changed = True
            if "-q" not in flags:
                ctx.err.write("pf disabled\n")
        if "-s" in flags:
            what = o["-s"]
            if what == "info":
                ctx.print("Status: %s" % ("Enabled" if pf["enabled"] else "Disabled"))
            elif what in ("nat", "rules"):
                _show(ctx, pf, what, anchor)
            elif what == "Anchors":
                for name in sorted(pf["anchors"]):
                    ctx.print("  " + name)
            else:
                return ctx.errx(1, "Unknown show modifier '%s'" % what)
        if changed and not noaction:
            apply(pf)
    return 0
