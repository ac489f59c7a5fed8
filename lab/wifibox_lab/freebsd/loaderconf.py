"""The lua loader reading loader.conf(5) files: kenv and the module table at boot.

Modelled on stand/lua/config.lua (FreeBSD source), line by line:
* each non-blank line is tried against, in order: a comment; `MODULE_load`, `_name`,
  `_type`, `_flags`, `_before`, `_after`, `_error`; `exec="..."`; `name=VALUE`;
* VALUE is first tried as a quoted value that runs greedily to the LAST `"` of the line,
  then as an unquoted word (`[-alnum][-alnum_.]*`); what follows must be blank or a `#`
  comment, else the line is reported "Malformed line (N)" and skipped.  So
  `vmm_load="YES" # the "vmm" module` is malformed, and `vmm_load="YES" # "vmm"` sets the
  load value to `YES" # "VMM`, which is not "yes": vmm is not loaded either way;
* module settings are stored as written (`_load` upper-cased); tunable values go through
  escape (`\\x` -> x) and `$name`/`${name}` expansion from the loader's environment; a
  `"` left in the value, a `\\` or `$` at its end, or a bad `$` expression rejects the
  line ("Failed to parse variable") and the variable keeps its earlier value;
* last assignment wins across files.

The kernel then copies the loader's environment (sys/kern/kern_environment.c): a string
`name=value` longer than KENV_MNAMELEN + 1 + KENV_MVALLEN (257) bytes is dropped whole
("WARNING: too long kenv string, ignoring"), shorter ones are kept whole, even when the
value passes KENV_MVALLEN (128).  The 128-byte cut only applies to `kenv name=value` at
runtime (see sim/kenv.py).
"""
import os
import re

KENV_MNAMELEN = 128
KENV_MVALLEN = 128
KENV_BOOT_MAX = KENV_MNAMELEN + 1 + KENV_MVALLEN  # longest "name=value" the kernel keeps
MODULE_SUFFIXES = ("_load", "_name", "_type", "_flags", "_before", "_after", "_error")
DEFAULT_BLACKLIST = "drm drm2 radeonkms i915kms amdgpu"

_S = r"[ \t\n\v\f\r]*"                      # lua %s*
_QVAL = r'"(.*)"'                           # greedy: to the last quote of the line
_WORD = r"([-A-Za-z0-9][-A-Za-z0-9_.]*)"
_REST = _S + r"(.*)$"
_COMMENT = re.compile(r"^" + _S + r"#", re.S)
_BLANK = re.compile(r"^" + _S + r"$")
_MODULE = [(s, r"^" + _S + r"([-A-Za-z0-9_]+)" + s + _S + "=" + _S + "%s" + _REST)
           for s in MODULE_SUFFIXES]
_EXEC = re.compile(r"^" + _S + r"exec" + _S + "=" + _S + _QVAL + _REST, re.S)
_ENV = r"^" + _S + r"([A-Za-z0-9][-A-Za-z0-9_.]*)" + _S + "=" + _S + "%s" + _REST
_VARNAME = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_.]*")


def _valid_rest(rest):
    return rest == "" or rest.startswith("#") or _BLANK.match(rest) is not None


def _match_value(pattern, line):
    """Quoted form first, then a word, as config.lua's checkPattern does."""
    m = re.compile(pattern % _QVAL, re.S).match(line)
    if m:
        return m
    return re.compile(pattern % _WORD, re.S).match(line)


def process_env_value(value, env):
    """The loader's escape and $ processing of a tunable value -> (value, error)."""
    out, i, n = [], 0, len(value)
    while i < n:
        c = value[i]
        if c == "\\":
            if i == n - 1:
                return None, "Stray escape at end of line"
            out.append(value[i + 1])
            i += 2
        elif c == '"':
            return None, "Stray quote at position '%d'" % (i + 1)
        elif c == "$":
            if i == n - 1:
                return None, "Unescaped $ at end of line"
            if value[i + 1] == "{":
                end = value.find("}", i + 2)
                name = value[i + 2:end] if end > i + 2 else None
                nxt = end + 1
            else:
                m = _VARNAME.match(value, i + 1)
                name = m.group(0) if m else None
                nxt = m.end() if m else None
            if not name:
                return None, "Malformed variable expression at position '%d'" % (i + 1)
            out.append(env.get(name, ""))
            i = nxt
        else:
            out.append(c)
            i += 1
    return "".join(out), None


def parse_line(line):
    """How the loader reads one line -> (kind, name, value) or ("malformed", None, None).

    kind: "blank", "comment", "module" (name is (prefix, suffix)), "exec", "env".
    """
    if _BLANK.match(line):
        return "blank", None, None
    if _COMMENT.match(line):
        return "comment", None, None
    for suffix, pattern in _MODULE:
        m = _match_value(pattern, line)
        if m:
            if _valid_rest(m.group(3)):
                return "module", (m.group(1), suffix), m.group(2)
            return "malformed", None, None
    m = _EXEC.match(line)
    if m:
        return ("exec", None, m.group(1)) if _valid_rest(m.group(2)) else ("malformed", None, None)
    m = _match_value(_ENV, line)
    if m:
        if _valid_rest(m.group(3)):
            return "env", m.group(1), m.group(2)
    return "malformed", None, None


def parse_file(path, env, modules, messages):
    """Apply one file to env (the loader's environment) and modules, in place."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return
    for n, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue  # lua's gmatch("([^\n]+)") skips empty lines but counts them
        kind, name, value = parse_line(line)
        if kind == "malformed":
            messages.append("Malformed line (%d):\n\t'%s'" % (n, line))
        elif kind == "module":
            prefix, suffix = name
            modules.setdefault(prefix, {})[suffix[1:]] = value.upper() if suffix == "_load" \
                else value
        elif kind == "exec":
            messages.append("exec not modelled: '%s'" % value)
        elif kind == "env":
            processed, error = process_env_value(value, env)
            if error:
                messages.append("Failed to parse variable '%s': %s" % (name, error))
                continue
            env.pop(name, None)  # re-insert so `kenv` lists in assignment order
            env[name] = processed


def files_in_order(root, osreldate):
    """loader_conf_files, then loader.conf.d/*.conf (directory order), then loader.conf.local.

    Before 14.1 loader.conf.local was read before loader.conf.d (Dec-2023 change).
    """
    b = lambda p: os.path.join(root, p.lstrip("/"))  # noqa: E731
    confd = b("/boot/loader.conf.d")
    dropins = []
    if os.path.isdir(confd):
        dropins = [os.path.join(confd, n) for n in os.listdir(confd)
                   if n.endswith(".conf") and os.path.isfile(os.path.join(confd, n))]
    head = [b("/boot/defaults/loader.conf"), b("/boot/device.hints"), b("/boot/loader.conf")]
    local = [b("/boot/loader.conf.local")]
    if osreldate >= 1401000:
        return head + dropins + local
    return head + local + dropins


def kernel_env(loader_env, messages):
    """What the kernel keeps of the loader's environment (init_dynamic_kenv)."""
    kept = {}
    for name, value in loader_env.items():
        if len(("%s=%s" % (name, value)).encode("utf-8")) > KENV_BOOT_MAX:
            messages.append("WARNING: too long kenv string, ignoring %s=%s" % (name, value))
            continue
        kept[name] = value
    return kept


def read_all(root, osreldate, initial=None):
    """-> (kenv dict, [module file names to load in order], messages).

    `initial` is the environment the loader set before reading files (smbios.*).
    """
    env, modules, messages = dict(initial or {}), {}, []
    for path in files_in_order(root, osreldate):
        parse_file(path, env, modules, messages)
    blacklist = env.get("module_blacklist", DEFAULT_BLACKLIST).replace(",", " ").replace(
        ";", " ").split()
    load = []
    for prefix, settings in modules.items():
        if settings.get("load", "").lower() != "yes":
            continue
        name = settings.get("name", prefix)
        if name in blacklist:
            continue
        load.append(name)
    return env, load, messages
