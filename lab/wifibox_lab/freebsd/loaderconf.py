"""The lua loader reading loader.conf(5) files: kenv and the module table at boot.

FREEBSD.md section 2: `name="value"` or an unquoted word, spaces around `=` allowed,
`#` comments, malformed lines reported and skipped, last assignment wins across files,
`*_load` etc. feed the module table, kenv values truncated to KENV_MVALLEN (128) bytes.
"""
import os
import re

KENV_MVALLEN = 128
MODULE_SUFFIXES = ("_load", "_name", "_type", "_flags", "_before", "_after", "_error")
DEFAULT_BLACKLIST = "drm drm2 radeonkms i915kms amdgpu"

_QUOTED = re.compile(r'^\s*([A-Za-z0-9_.\-]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$')
_WORD = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*=\s*([-A-Za-z0-9][-A-Za-z0-9_.]*)\s*(?:#.*)?$")
_BLANK = re.compile(r"^\s*(#.*)?$")
_VAR = re.compile(r"\$\{([A-Za-z0-9_.]+)\}|\$([A-Za-z0-9_.]+)")


def _expand(value, env):
    value = re.sub(r"\\(.)", r"\1", value)
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), value)


def parse_file(path, env, modules, messages):
    """Apply one file to env (kenv) and modules (prefix -> settings), in place."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for n, line in enumerate(lines, 1):
        if _BLANK.match(line):
            continue
        m = _QUOTED.match(line) or _WORD.match(line)
        if not m:
            messages.append("Malformed line (%d):\n\t'%s'" % (n, line))
            continue
        name, value = m.group(1), _expand(m.group(2), env)
        suffix = next((s for s in MODULE_SUFFIXES if name.endswith(s)), None)
        if suffix:
            modules.setdefault(name[:-len(suffix)], {})[suffix[1:]] = value
        else:
            env.pop(name, None)  # re-insert so `kenv` lists in assignment order
            env[name] = value[:KENV_MVALLEN]


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


def read_all(root, osreldate):
    """-> (kenv dict, [module file names to load in order], messages)."""
    env, modules, messages = {}, {}, []
    for path in files_in_order(root, osreldate):
        parse_file(path, env, modules, messages)
    blacklist = env.get("module_blacklist", DEFAULT_BLACKLIST).split()
    load = []
    for prefix, settings in modules.items():
        if settings.get("load", "").lower() != "yes":
            continue
        name = settings.get("name", prefix)
        if name in blacklist:
            continue
        load.append(name)
    return env, load, messages
