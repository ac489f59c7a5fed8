"""devd.conf(5): parse notify/attach/detach/nomatch statements; pick the rule devd would run.

FREEBSD.md section 8: per event devd runs only the action of the first matching
statement in descending priority order; regexes are anchored; `options { directory }`
lists the folders whose `*.conf` files are read (readdir order).
"""
import os
import re

_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*|#[^\n]*", re.S)
_BLOCK = re.compile(r"\b(notify|attach|detach|nomatch)\s+(-?\d+)\s*\{(.*?)\}\s*;", re.S)
_MATCH = re.compile(r'\bmatch\s+"([^"]*)"\s+"((?:[^"\\]|\\.)*)"\s*;')
_ACTION = re.compile(r'\baction\s+"((?:[^"\\]|\\.)*)"\s*;')
_DIR = re.compile(r'\bdirectory\s+"([^"]*)"\s*;')


def _strip_comments(text):
    # keep quoted strings intact: only strip comments outside quotes
    out, i = [], 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"', text):
        out.append(_COMMENTS.sub("", text[i:m.start()]))
        out.append(m.group(0))
        i = m.end()
    out.append(_COMMENTS.sub("", text[i:]))
    return "".join(out)


def parse(text, source=""):
    rules = []
    text = _strip_comments(text)
    for m in _BLOCK.finditer(text):
        body = m.group(3)
        action = _ACTION.search(body)
        rules.append({"type": m.group(1), "priority": int(m.group(2)), "source": source,
                      "match": [[k, v] for k, v in _MATCH.findall(body)],
                      "action": action.group(1).replace('\\"', '"') if action else None})
    return rules


def read_config(root_path):
    """All rules devd reads at start: /etc/devd.conf, then each `directory`'s *.conf."""
    main = root_path("/etc/devd.conf")
    try:
        with open(main) as f:
            text = f.read()
    except OSError:
        return []
    rules = parse(text, "/etc/devd.conf")
    for d in _DIR.findall(_strip_comments(text)):
        try:
            names = os.listdir(root_path(d))
        except OSError:
            continue
        for n in names:
            p = os.path.join(root_path(d), n)
            if n.endswith(".conf") and os.path.isfile(p):
                with open(p, errors="replace") as f:
                    rules += parse(f.read(), os.path.join(d, n))
    return rules


def first_match(rules, kind, env):
    """The rule devd runs for an event: highest priority first, the first one that matches."""
    ordered = sorted((r for r in rules if r["type"] == kind), key=lambda r: -r["priority"])
    for r in ordered:
        if all(k in env and re.fullmatch(v, env[k]) for k, v in r["match"]):
            return r
    return None


def expand(action, env):
    """devd substitutes $var (and ${var}) from the event's variables before running sh -c."""
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""),
                  action)
