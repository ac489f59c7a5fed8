"""What devd does when a network interface appears (IFNET ATTACH): autobridge_* in rc.conf.

/etc/devd.conf runs /etc/pccard_ether for new interfaces, which adds an interface to every
bridge in autobridge_interfaces whose autobridge_<bridge> glob list matches its name.
Only happens while devd runs.
"""
import fnmatch
import os

from . import sysrc


def interface_attached(ctx, st, name, links):
    devd = st.get("devd") or {}
    if not devd.get("pid") or not os.path.exists("/proc/%d" % devd["pid"]):
        return
    files = sysrc.Files(ctx, [])
    bridges = (files.evaluate(["autobridge_interfaces"])[0] or "").split()
    for br in bridges:
        pats = (files.evaluate(["autobridge_" + br])[0] or "").split() if br.isidentifier() \
            else []
        if any(fnmatch.fnmatchcase(name, p) for p in pats):
            from . import ifconfig
            if ifconfig.find(links, br):
                ifconfig._addm(ctx, st, br, name, ifconfig.linux_links())
