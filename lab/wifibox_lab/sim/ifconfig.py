"""ifconfig(8): create/destroy/rename, bridge addm/deletem, up/down, addresses, -l, -g, status.

FREEBSD.md section 5. Interfaces are real Linux links in the laptop's network namespace,
with the same names (Linux `lo` is FreeBSD `lo0`); what Linux does not keep (cloner
unit, groups, who opened a tap) lives in the state file under "ifaces"/"cloners".
"""
import ipaddress
import json
import os
import random
import subprocess

from ..freebsd import kernel, state

CLONERS = {"bridge": "bridge", "tap": "tap", "tun": "tap", "vmnet": "tap", "epair": "epair",
           "wlan": "wlan"}
FLAG_BITS = [(0x1, "UP"), (0x2, "BROADCAST"), (0x4, "DEBUG"), (0x8, "LOOPBACK"),
             (0x10, "POINTOPOINT"), (0x20, "NEEDSEPOCH"), (0x40, "RUNNING"), (0x80, "NOARP"),
             (0x100, "PROMISC"), (0x200, "ALLMULTI"), (0x400, "OACTIVE"), (0x800, "SIMPLEX"),
             (0x1000, "LINK0"), (0x2000, "LINK1"), (0x4000, "LINK2"), (0x8000, "MULTICAST"),
             (0x1000000, "LOWER_UP")]


# ---- Linux side ------------------------------------------------------------------------------
def _ip(*args, check=False):
    return subprocess.run(["/usr/sbin/ip", *args], capture_output=True, text=True, check=check)


def linux_links():
    """Links in ifindex order, as dicts from `ip -j -d addr show`."""
    out = _ip("-j", "-d", "addr", "show").stdout
    return sorted(json.loads(out or "[]"), key=lambda l: l["ifindex"])


def bsd_name(linux):
    return "lo0" if linux == "lo" else linux


def linux_name(bsd):
    return "lo" if bsd == "lo0" else bsd


def find(links, name):
    return next((l for l in links if bsd_name(l["ifname"]) == name), None)


def kind(link, st=None):
    if st and st["ifaces"].get(bsd_name(link["ifname"]), {}).get("cloner") == "wlan":
        return "wlan"  # the lab's stand-in for a wlan(4) vap is a Linux tap
    info = link.get("linkinfo", {})
    k = info.get("info_kind")
    if k == "tun":
        return "tap" if info.get("info_data", {}).get("type") == "tap" else "tun"
    if link["ifname"] == "lo":
        return "lo"
    return k or "ether"


# ---- the command -----------------------------------------------------------------------------
def main(ctx, argv):
    if argv[:1] == ["-l"] or (argv and argv[0] in ("-lu", "-ld")):
        links = linux_links()
        if "-u" in argv or argv[0] == "-lu":
            links = [l for l in links if "UP" in l["flags"]]
        if "-d" in argv or argv[0] == "-ld":
            links = [l for l in links if "UP" not in l["flags"]]
        ctx.print(" ".join(bsd_name(l["ifname"]) for l in links))
        return 0
    if argv[:1] == ["-g"]:
        if len(argv) != 2:
            return _usage(ctx)
        st = state.read(ctx.laptop_dir)
        for l in linux_links():
            if argv[1] in groups(st, l):
                ctx.print(bsd_name(l["ifname"]))
        return 0
    if not argv or argv[0] == "-a":
        st = state.read(ctx.laptop_dir)
        links = linux_links()
        for l in links:
            ctx.print(*status(st, l, links))
        return 0
    if argv[0].startswith("-"):
        return _usage(ctx)
    name, ops = argv[0], argv[1:]
    with state.locked(ctx.laptop_dir) as st:
        return _configure(ctx, st, name, ops)


def _usage(ctx):
    ctx.err.write("usage: ifconfig [-j jail] [-f type:format] %s\n" % "interface address_family "
                  "[address [dest_address]]\n                [parameters]\n"
                  "       ifconfig [-j jail] interface create\n"
                  "       ifconfig [-j jail] -a [-dDW] [-G nogroup] [-g group] [-u] [-v] "
                  "[address_family]\n       ifconfig -l [-du] [-g group] [address_family]\n"
                  "       ifconfig [-j jail] [-dkLmuv] [-f type:format]")
    return 1


def _configure(ctx, st, name, ops):
    links = linux_links()
    if ops[:1] == ["create"]:
        return _create(ctx, st, name, ops[1:], links)
    link = find(links, name)
    if link is None:
        return ctx.errx(1, "interface %s does not exist" % name)
    if not ops:
        ctx.print(*status(st, link, links))
        return 0
    i = 0
    while i < len(ops):
        op = ops[i]
        arg = ops[i + 1] if i + 1 < len(ops) else None
        i += 1
        if op == "destroy":
            return _destroy(ctx, st, name, link)
        if op == "name":
            if arg is None:
                return ctx.errx(1, "missing argument for name")
            i += 1
            rc = _rename(ctx, st, name, arg, links)
            if rc:
                return rc
            name = arg
            ctx.print(name)
        elif op in ("up", "down"):
            _ip("link", "set", linux_name(name), op)
        elif op in ("addm", "deletem"):
            if arg is None:
                return ctx.errx(1, "missing argument for %s" % op)
            i += 1
            rc = (_addm if op == "addm" else _deletem)(ctx, st, name, arg, linux_links())
            if rc:
                return rc
        elif op == "mtu":
            i += 1
            _ip("link", "set", linux_name(name), "mtu", arg)
        elif op in ("ether", "lladdr", "link"):
            i += 1
            _ip("link", "set", linux_name(name), "address", arg)
        elif op == "description" or op == "descr":
            i += 1
            st["ifaces"].setdefault(name, {})["description"] = arg
        elif op == "-description":
            st["ifaces"].setdefault(name, {}).pop("description", None)
        elif op == "group":
            i += 1
            st["ifaces"].setdefault(name, {}).setdefault("groups", []).append(arg)
        elif op == "-group":
            i += 1
            g = st["ifaces"].setdefault(name, {}).setdefault("groups", [])
            if arg in g:
                g.remove(arg)
        elif op == "inet":
            rc, i = _inet(ctx, name, ops, i)
            if rc:
                return rc
        elif op == "inet6":
            rc, i = _inet6(ctx, st, name, ops, i)
            if rc:
                return rc
        elif op[0].isdigit():
            rc, i = _inet(ctx, name, ops, i - 1)
            if rc:
                return rc
        elif op in ("stp", "-stp", "-learn", "learn", "discover", "-discover", "edge", "-edge",
                    "maxaddr", "timeout", "priority", "hellotime", "fwddelay", "maxage",
                    "proto", "ifpriority", "ifpathcost"):
            if op in ("stp", "-stp", "learn", "-learn", "discover", "-discover", "edge",
                      "-edge", "ifpriority", "ifpathcost"):
                i += 1 if op in ("stp", "-stp", "learn", "-learn", "discover", "-discover",
                                 "edge", "-edge") else 2
            else:
                i += 1
        elif op in ("-tso", "tso", "-lro", "lro", "-txcsum", "txcsum", "-rxcsum", "rxcsum",
                    "-vlanhwtag", "vlanhwtag", "promisc", "-promisc", "monitor", "-monitor"):
            pass
        else:
            return ctx.errx(1, "%s: bad value" % op) if arg is None else \
                ctx.errx(1, "%s: bad value" % op)
    return 0


def _inet(ctx, name, ops, i):
    """`inet ADDR[/len] [netmask M] [broadcast B] [alias|-alias]` starting at ops[i]."""
    if i >= len(ops):
        return ctx.errx(1, "inet: missing address"), i
    addr = ops[i]
    i += 1
    netmask, alias, remove = None, False, False
    while i < len(ops) and ops[i] in ("netmask", "broadcast", "alias", "-alias", "delete"):
        if ops[i] == "netmask":
            netmask = ops[i + 1]
            i += 2
        elif ops[i] == "broadcast":
            i += 2
        else:
            alias, remove = ops[i] == "alias", ops[i] in ("-alias", "delete")
            i += 1
    try:
        if netmask:
            if netmask.startswith("0x"):
                netmask = str(ipaddress.IPv4Address(int(netmask, 16)))
            iface = ipaddress.IPv4Interface("%s/%s" % (addr, netmask))
        elif "/" in addr:
            iface = ipaddress.IPv4Interface(addr)
        else:
            a = ipaddress.IPv4Address(addr)
            # classful default mask, as FreeBSD still applies without a prefix length
            plen = 8 if a.packed[0] < 128 else 16 if a.packed[0] < 192 else 24
            iface = ipaddress.IPv4Interface("%s/%d" % (addr, plen))
    except (ValueError, IndexError):
        return ctx.errx(1, "%s: bad value" % addr), i
    dev = linux_name(name)
    if remove:
        r = _ip("addr", "del", str(iface), "dev", dev)
        if r.returncode:
            return ctx.errx(1, "ioctl (SIOCDIFADDR): Can't assign requested address"), i
        return 0, i
    if not alias:
        _ip("-4", "addr", "flush", "dev", dev)
    _ip("addr", "add", str(iface), "broadcast", str(iface.network.broadcast_address), "dev", dev)
    _ip("link", "set", dev, "up")  # setting an address brings the interface up on FreeBSD
    return 0, i


# nd6 flags (netinet6/nd6.h) as ifconfig prints them
ND6_FLAGS = (("PERFORMNUD", 0x1), ("ACCEPT_RTADV", 0x2), ("PREFER_SOURCE", 0x4), ("IFDISABLED", 0x8),
             ("DONT_SET_IFROUTE", 0x10), ("AUTO_LINKLOCAL", 0x20), ("NO_RADR", 0x40),
             ("NO_PREFER_IFACE", 0x80), ("NO_DAD", 0x100))
ND6_WORDS = {"accept_rtadv": "ACCEPT_RTADV", "ifdisabled": "IFDISABLED", "auto_linklocal": "AUTO_LINKLOCAL",
             "nud": "PERFORMNUD", "prefer_source": "PREFER_SOURCE", "no_radr": "NO_RADR",
             "no_prefer_iface": "NO_PREFER_IFACE", "no_dad": "NO_DAD"}


def nd6_default(k):
    return {"lo": {"PERFORMNUD", "AUTO_LINKLOCAL"}, "bridge": {"PERFORMNUD", "IFDISABLED"}}.get(
        k, {"PERFORMNUD", "IFDISABLED", "AUTO_LINKLOCAL"})


def nd6_line(flags):
    value = sum(bit for flag, bit in ND6_FLAGS if flag in flags)
    return "\tnd6 options=%x<%s>" % (value, ",".join(flag for flag, _ in ND6_FLAGS if flag in flags))


def _sysctl6(dev, key, value):
    try:
        with open("/proc/sys/net/ipv6/conf/%s/%s" % (dev, key), "w") as f:
            f.write(str(value))
    except OSError:
        pass


def _inet6(ctx, st, name, ops, i):
    """`inet6 [ADDR[/len] [prefixlen N] [alias|-alias|delete]] [[-]accept_rtadv] [[-]ifdisabled] ...`:
    addresses on the Linux link; nd6 flags in the lab's state, ACCEPT_RTADV and IFDISABLED also
    as Linux's accept_ra and disable_ipv6 (what they mean there)."""
    dev = linux_name(name)
    link = find(linux_links(), name)
    entry = st["ifaces"].setdefault(name, {})
    flags = set(entry.get("nd6") or nd6_default(kind(link, st)))
    addr, plen, remove = None, 64, False
    while i < len(ops):
        word = ops[i]
        i += 1
        bare = word.lstrip("-")
        if bare in ND6_WORDS:
            (flags.discard if word.startswith("-") else flags.add)(ND6_WORDS[bare])
        elif word == "prefixlen" and i < len(ops):
            plen = ops[i]
            i += 1
        elif word in ("alias",):
            pass
        elif word in ("-alias", "delete"):
            remove = True
        elif ":" in word and addr is None:
            addr, _, given = word.partition("/")
            plen = given or plen
        else:
            return ctx.errx(1, "%s: bad value" % word), i
    if addr:
        try:
            iface = ipaddress.IPv6Interface("%s/%s" % (addr, plen))
        except ValueError:
            return ctx.errx(1, "%s: bad value" % addr), i
        if remove:
            if _ip("-6", "addr", "del", str(iface), "dev", dev).returncode:
                return ctx.errx(1, "ioctl (SIOCDIFADDR_IN6): Can't assign requested address"), i
        else:
            flags.discard("IFDISABLED")  # an address turns IPv6 on (in6_control)
            _sysctl6(dev, "disable_ipv6", 0)
            _ip("-6", "addr", "replace", str(iface), "dev", dev, "nodad")
    entry["nd6"] = sorted(flags)
    _sysctl6(dev, "disable_ipv6", 1 if "IFDISABLED" in flags else 0)
    _sysctl6(dev, "accept_ra", 2 if "ACCEPT_RTADV" in flags else 0)
    return 0, i


def _fbsd_mac():
    # FreeBSD gives cloned bridges and taps addresses in the FreeBSD Foundation OUI 58:9c:fc
    return "58:9c:fc:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(3))


def _create(ctx, st, name, rest, links):
    cloner = name.rstrip("0123456789")
    unit = name[len(cloner):]
    if cloner not in CLONERS or cloner == "epair":
        return ctx.errx(1, "SIOCIFCREATE2 (%s): Invalid argument" % name)
    newname = None
    if rest[:1] == ["name"] and len(rest) >= 2:
        newname = rest[1]
        rest = rest[2:]
    used = set(st["cloners"].get(cloner, []))
    if unit:
        unit = int(unit)
        if find(links, name) or unit in used:
            return ctx.errx(1, "interface %s already exists" % name)
    else:
        unit = 0
        while unit in used or find(links, "%s%d" % (cloner, unit)):
            unit += 1
    wlandev = None
    if cloner == "wlan":
        if rest[:1] != ["wlandev"] or len(rest) < 2:
            return ctx.errx(1, "no device specified with wlandev")
        wlandev, rest = rest[1], rest[2:]
        if not _attached_driver(st, wlandev):
            return ctx.errx(1, "SIOCIFCREATE2 (%s): Device not configured" % name)
    if cloner == "bridge" and not kernel.loaded_file(st, "if_bridge"):
        kernel.load(st, "if_bridge")  # ifconfig autoloads if_bridge.ko
    created = "%s%d" % (cloner, unit)
    target = newname or created
    if newname and find(links, newname):
        return ctx.errx(1, "ioctl SIOCSIFNAME (set name): File exists")
    if cloner == "bridge":
        r = _ip("link", "add", target, "address", _fbsd_mac(), "type", "bridge",
                "stp_state", "0", "forward_delay", "0")
    else:
        r = _ip("tuntap", "add", target, "mode", "tap")
        if r.returncode == 0:
            _ip("link", "set", target, "address", _fbsd_mac())
    if r.returncode:
        return ctx.errx(1, "SIOCIFCREATE2 (%s): %s" % (created, r.stderr.strip()))
    st["cloners"].setdefault(cloner, []).append(unit)
    st["ifaces"][target] = {"cloner": cloner, "unit": unit, "groups": [CLONERS[cloner]]}
    if wlandev:
        st["ifaces"][target]["wlandev"] = wlandev
    from . import autobridge
    autobridge.interface_attached(ctx, st, target, linux_links())
    if rest:
        rc = _configure(ctx, st, target, rest)
        if rc:
            return rc
    if newname or name == cloner:
        ctx.print(target)
    return 0


def _destroy(ctx, st, name, link):
    meta = st["ifaces"].get(name)
    if meta is None or "cloner" not in meta:
        return ctx.errx(1, "SIOCIFDESTROY: Invalid argument")  # only cloned interfaces
    st["ifaces"].pop(name)
    _ip("link", "del", linux_name(name))
    units = st["cloners"].get(meta["cloner"], [])
    if meta["unit"] in units:
        units.remove(meta["unit"])
    for other in st["ifaces"].values():
        if name in other.get("members", []):
            other["members"].remove(name)
    return 0


def _rename(ctx, st, name, new, links):
    if find(links, new):
        return ctx.errx(1, "ioctl SIOCSIFNAME (set name): File exists")
    link = find(links, name)
    was_up = "UP" in link["flags"]
    if was_up:
        _ip("link", "set", linux_name(name), "down")
    r = _ip("link", "set", linux_name(name), "name", new)
    if r.returncode:
        return ctx.errx(1, "ioctl SIOCSIFNAME (set name): Invalid argument")
    if was_up:
        _ip("link", "set", new, "up")
    meta = st["ifaces"].pop(name, {})
    st["ifaces"][new] = meta  # the cloner unit stays taken until the interface is destroyed
    for other in st["ifaces"].values():
        if name in other.get("members", []):
            other["members"][other["members"].index(name)] = new
    return 0


def _addm(ctx, st, bridge, member, links):
    blink, mlink = find(links, bridge), find(links, member)
    if mlink is None:
        return ctx.errx(1, "BRDGADD %s: No such file or directory" % member)
    master = mlink.get("master")
    if master == linux_name(bridge):
        return ctx.errx(1, "BRDGADD %s: File exists" % member)
    if master:
        return ctx.errx(1, "BRDGADD %s: Device busy" % member)
    members = [l for l in links if l.get("master") == linux_name(bridge)]
    if members and mlink["mtu"] != blink["mtu"]:
        return ctx.errx(1, "BRDGADD %s: Invalid argument" % member)
    r = _ip("link", "set", linux_name(member), "master", linux_name(bridge))
    if r.returncode:
        return ctx.errx(1, "BRDGADD %s: Invalid argument" % member)
    # bridge_ioctl_add() (if_bridge.c) makes the member promiscuous but does not bring it up
    st["ifaces"].setdefault(bridge, {}).setdefault("members", []).append(member)
    return 0


def _deletem(ctx, st, bridge, member, links):
    mlink = find(links, member)
    if mlink is None or mlink.get("master") != linux_name(bridge):
        return ctx.errx(1, "BRDGDEL %s: No such file or directory" % member)
    _ip("link", "set", linux_name(member), "nomaster")
    m = st["ifaces"].setdefault(bridge, {}).setdefault("members", [])
    if member in m:
        m.remove(member)
    return 0


def _attached_driver(st, unit_name):
    """Is there a PCI device attached as `iwm0` etc.?"""
    return any(d.get("attached") and "%s%d" % (d["attached"]["driver"], d["attached"]["unit"])
               == unit_name for d in kernel.present(st))


def members_in_order(st, link, links):
    """A bridge's members as BRDGGIFS lists them: newest first (if_bridge.c inserts each new
    member at the head of sc_iflist)."""
    name = bsd_name(link["ifname"])
    linux = [l for l in links if l.get("master") == link["ifname"]]
    added = st["ifaces"].get(name, {}).get("members", [])
    known = [m for m in reversed(added) if find(linux, m)]
    return [find(linux, m) for m in known] + [l for l in linux if bsd_name(l["ifname"]) not in known]


def drop_bridges_without_driver(st):
    """kldunload if_bridge: MOD_UNLOAD detaches the bridge cloner (if_bridge.c), which destroys
    every bridge, renamed ones included; their members are released."""
    if kernel.loaded_file(st, "if_bridge"):
        return
    for name, meta in list(st["ifaces"].items()):
        if meta.get("cloner") != "bridge":
            continue
        _ip("link", "del", linux_name(name))
        st["ifaces"].pop(name)
        units = st["cloners"].get("bridge", [])
        if meta["unit"] in units:
            units.remove(meta["unit"])


def drop_orphan_wlans(st):
    """wlan(4) vaps go away with their parent device (driver unloaded, devctl, ppt)."""
    for name, meta in list(st["ifaces"].items()):
        if meta.get("wlandev") and not _attached_driver(st, meta["wlandev"]):
            _ip("link", "del", name)
            st["ifaces"].pop(name)
            units = st["cloners"].get("wlan", [])
            if meta["unit"] in units:
                units.remove(meta["unit"])


# ---- status output ---------------------------------------------------------------------------
def groups(st, link):
    name = bsd_name(link["ifname"])
    meta = st["ifaces"].get(name, {})
    g = list(meta.get("groups") or {"bridge": ["bridge"], "tap": ["tap"], "lo": ["lo"],
                                    "wlan": ["wlan"]}
             .get(kind(link, st), []))
    return g + ["all"]


def _opened_by(st, name):
    pid = st["ifaces"].get(name, {}).get("opened_by")
    if pid and os.path.exists("/proc/%d" % pid):
        return pid
    return None


def flags_of(st, link, links):
    k, lf = kind(link, st), link["flags"]
    name = bsd_name(link["ifname"])
    f = 0
    if "UP" in lf:
        f |= 0x1
    if k == "lo":
        f |= 0x8 | 0x8000
    else:
        f |= 0x2 | 0x800 | 0x8000
    if k == "tap":
        if _opened_by(st, name):
            f |= 0x40
    elif k == "wlan" and "UP" in lf:
        f |= 0x40
    elif "UP" in lf:
        f |= 0x40
    if link.get("master"):
        f |= 0x100  # members are promiscuous
    if k != "wlan" and ("LOWER_UP" in lf or (k == "bridge" and "UP" in lf)) \
            and st["osreldate"] >= 1400000:
        f |= 0x1000000
    return f


def _flagstr(f):
    return "flags=%x<%s>" % (f, ",".join(n for bit, n in FLAG_BITS if f & bit))


def status(st, link, links):
    name, k = bsd_name(link["ifname"]), kind(link, st)
    mtu = 16384 if k == "lo" else link["mtu"]  # FreeBSD's loopback MTU
    lines = ["%s: %s metric 0 mtu %d" % (name, _flagstr(flags_of(st, link, links)), mtu)]
    meta = st["ifaces"].get(name, {})
    if meta.get("description"):
        lines.append("\tdescription: %s" % meta["description"])
    if k == "lo":
        lines.append("\toptions=680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>")
    elif k == "tap":
        lines.append("\toptions=80000<LINKSTATE>")
    elif k == "wlan":
        lines.append("\toptions=0")
    elif k not in ("bridge",):
        lines.append("\toptions=481249b<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,LRO,WOL_MAGIC,"
                     "VLAN_HWFILTER,NOMAP>")
    if k != "lo":
        lines.append("\tether %s" % link.get("address", "00:00:00:00:00:00"))
    for a in link.get("addr_info", []):
        if a.get("family") != "inet":
            continue
        net = ipaddress.IPv4Interface("%s/%d" % (a["local"], a["prefixlen"]))
        line = "\tinet %s netmask 0x%08x" % (a["local"], int(net.netmask))
        if k != "lo":
            line += " broadcast %s" % a.get("broadcast", net.network.broadcast_address)
        lines.append(line)
    if k == "bridge":
        members = members_in_order(st, link, links)
        root = "00:00:00:00:00:00"  # as FREEBSD.md's example shows, members or not
        lines += ["\tid %s priority 32768 hellotime 2 fwddelay 15" % root,
                  "\tmaxage 20 holdcnt 6 proto rstp maxaddr 2000 timeout 1200",
                  "\troot id %s priority 32768 ifcost 0 port 0" % root]
        for m in members:
            lines += ["\tmember: %s flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>"
                      % bsd_name(m["ifname"]),
                      "\t        ifmaxaddr 0 port %d priority 128 path cost 2000000"
                      % m["ifindex"]]
    g = [x for x in groups(st, link) if x != "all"]
    if g:
        lines.append("\tgroups: %s" % " ".join(g))
    if k == "tap":
        pid = _opened_by(st, name)
        lines.append("\tmedia: Ethernet 1000baseT <full-duplex>")
        if pid:
            lines.append("\tstatus: active")
            lines.append("\tOpened by PID %d" % pid)
        else:
            lines.append("\tstatus: no carrier")
    elif k == "wlan":
        lines += ['\tssid "" channel 1 (2412 MHz 11b)',
                  "\tregdomain FCC country US authmode OPEN privacy OFF txpower 30 bmiss 7 "
                  "scanvalid 60 bgscan bgscanintvl 300 bgscanidle 250 roam:rssi 7 roam:rate 1 "
                  "wme bintval 0",
                  "\tparent interface: %s" % meta.get("wlandev", "?"),
                  "\tmedia: IEEE 802.11 Wireless Ethernet autoselect (autoselect)",
                  "\tstatus: no carrier"]
    elif k not in ("bridge", "lo"):
        lines.append("\tmedia: Ethernet autoselect (1000baseT <full-duplex>)")
        lines.append("\tstatus: %s" % ("active" if "LOWER_UP" in link["flags"] else "no carrier"))
    lines.append(nd6_line(set(st["ifaces"].get(name, {}).get("nd6") or nd6_default(k))))
    return lines
