#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P3 boot to online: `service wifibox_bhyve start` on a lab laptop ÷ the hand-written floor.

    sudo .venv/bin/python bench/boot_online.py [--quick] [--floor-only]

The product: a lab laptop made a wifibox host by the collection (tests/e2e/vmtier.py's
Wifibox.prepare: host modules, reboot, bridge, role wifibox_guest, wifibox.bhyve.vm), the VM
stopped; each round `service wifibox_bhyve start`, the laptop's busybox udhcpc on wifibox0
from that moment, then one curl of the far side's page. Breakdown from the laptop's clock
(/proc/uptime) when the service returned and when the guest's var-share logs show init
(boot.log "shares:"), CTRL-EVENT-CONNECTED, wlan0's lease and "boot done".

The floor: qemu started directly (no service, no simulated bhyve) in a network namespace of
its own, the lab guest image with /floor.sh as rdinit, the far side of the air as in the lab;
the "laptop" is that namespace: busybox udhcpc on the tap from the moment qemu starts, then one
curl of the far side's page. Breakdown from host-observed times of the console marks.

Floor and product alternate, each --runs times; figure: product ÷ floor to the first fetch.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position
import floor  # noqa: E402  pylint: disable=wrong-import-position

SSID, PSK = 'labnet', 'correct horse battery'
LAPTOP_UDHCPC = """#!/bin/sh
case "$1" in bound|renew)
  ip addr add "$ip/${mask:-24}" dev "$interface"
  ip route replace default via "${router%% *}" dev "$interface" ;;
esac
exit 0
"""


def _lab_append():
    """The lab runner's kernel options for TCG overhead (the product's guest boots with them too)."""
    from wifibox_lab.guest import runner  # pylint: disable=import-outside-toplevel
    return list(runner.LAB_APPEND)


def floor_round(work, kernel, initrd, timeout=300):
    """One boot of the floor to online. -> {step: host seconds since qemu's start}."""
    from wifibox_lab.guest import air  # pylint: disable=import-outside-toplevel
    ns = 'bbfloor%d' % os.getpid()
    holder = type('Dir', (), {'dir': work})()
    air.set_air(holder, security='wpa2_psk', ssid=SSID, psk=PSK)
    console = os.path.join(work, 'console')
    open(console, 'w', encoding='utf-8').close()
    script = os.path.join(work, 'udhcpc.sh')
    with open(script, 'w', encoding='utf-8') as handle:
        handle.write(LAPTOP_UDHCPC)
    os.chmod(script, 0o755)
    subprocess.run(['ip', 'netns', 'add', ns], check=True)
    qemu = laptop = qemu_err = None
    try:
        subprocess.run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'], check=True)
        subprocess.run(['ip', 'netns', 'exec', ns, 'ip', 'tuntap', 'add', 'fl0', 'mode', 'tap'], check=True)
        subprocess.run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'fl0', 'up'], check=True)
        argv = ['ip', 'netns', 'exec', ns, 'qemu-system-x86_64', '-accel', 'tcg,tb-size=64', '-machine', 'pc',
                '-m', '256', '-smp', '1', '-display', 'none', '-nodefaults', '-no-user-config',
                '-kernel', kernel, '-initrd', initrd,
                '-append', ' '.join(['console=ttyS0', 'quiet', 'panic=-1', 'loglevel=4', 'rdinit=/floor.sh',
                                     'wifibox_lab.wifi=1'] + _lab_append()),
                '-serial', 'file:' + console,
                '-netdev', 'tap,id=n0,ifname=fl0,script=no,downscript=no', '-device', 'e1000,netdev=n0',
                '-virtfs', 'local,path=%s,mount_tag=labair,security_model=none,id=labair'
                % os.path.join(work, 'air')]
        began = time.monotonic()
        qemu_err = open(os.path.join(work, 'qemu.err'), 'w+', encoding='utf-8')  # pylint: disable=consider-using-with
        qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=qemu_err)
        udhcpc = ['ip', 'netns', 'exec', ns, 'busybox', 'udhcpc', '-i', 'fl0', '-s', script,
                  '-q', '-n', '-t', str(timeout), '-T', '1', '-A', '1']
        laptop = subprocess.Popen(udhcpc, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen = {}
        deadline = began + timeout
        while 'laptop_lease' not in seen:
            if time.monotonic() > deadline or qemu.poll() is not None:
                qemu_err.seek(0)
                raise RuntimeError('floor not online after %.0f s (qemu %s); marks %s; qemu said: %s; console tail:\n%s'
                                   % (time.monotonic() - began, 'exited %s' % qemu.returncode
                                      if qemu.poll() is not None else 'runs', seen, qemu_err.read()[-1000:].strip(),
                                      open(console, errors='replace').read()[-2000:]))
            now = time.monotonic() - began
            with open(console, encoding='utf-8', errors='replace') as handle:
                for step in floor.parse_marks(handle.read()):
                    seen.setdefault(step, now)
            if laptop.poll() is not None:
                if laptop.returncode != 0:  # gave up early (no carrier yet): ask again, as the product's does
                    laptop = subprocess.Popen(udhcpc, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                else:
                    seen['laptop_lease'] = now
            time.sleep(0.05)
        fetch = subprocess.run(['ip', 'netns', 'exec', ns, 'curl', '-s', '--max-time', '30',
                                'http://%s.1/' % air.SUBNET], capture_output=True, text=True, check=False)
        if air.PAGE not in fetch.stdout:
            raise RuntimeError('the first fetch failed: %r' % fetch.stdout[-200:])
        seen['first_fetch'] = time.monotonic() - began
        return seen
    finally:
        for proc in (laptop, qemu):
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
        if qemu_err:
            qemu_err.close()
        subprocess.run(['ip', 'netns', 'del', ns], check=False)


PRODUCT_ROUND = r"""
RUN=%(run)s
: > $RUN/log/boot.log; : > $RUN/log/messages
cat > /tmp/bb-udhcpc.sh <<'EOC'
%(udhcpc)sEOC
chmod 755 /tmp/bb-udhcpc.sh
up() { cut -d' ' -f1 /proc/uptime; }
t0=$(up)
echo "t0 $t0"
end=$(( $(cut -d. -f1 /proc/uptime) + %(timeout)d ))
( until busybox udhcpc -i wifibox0 -s /tmp/bb-udhcpc.sh -q -n -t %(timeout)d -T 1 -A 1 >/dev/null 2>&1; do
	[ $(cut -d. -f1 /proc/uptime) -lt $end ] || exit 1; sleep 0.2; done ) &
dh=$!
service wifibox_bhyve start >/tmp/bb-start.out 2>&1 || { echo "start-failed"; cat /tmp/bb-start.out; }
echo "service_started $(up)"
seen=""
mark() { case " $seen " in *" $1 "*) ;; *) seen="$seen $1"; echo "$1 $(up)";; esac; }
while kill -0 $dh 2>/dev/null; do
	grep -q 'shares:' $RUN/log/boot.log 2>/dev/null && mark init
	grep -q 'CTRL-EVENT-CONNECTED' $RUN/log/messages 2>/dev/null && mark associated
	grep -q 'wlan0: lease' $RUN/log/messages 2>/dev/null && mark wlan0_lease
	grep -q 'boot done' $RUN/log/boot.log 2>/dev/null && mark boot_done
	sleep 0.05
done
wait $dh && echo "laptop_lease $(up)" || echo "laptop-lease-failed"
grep -q 'shares:' $RUN/log/boot.log 2>/dev/null && mark init
grep -q 'CTRL-EVENT-CONNECTED' $RUN/log/messages 2>/dev/null && mark associated
grep -q 'wlan0: lease' $RUN/log/messages 2>/dev/null && mark wlan0_lease
grep -q 'boot done' $RUN/log/boot.log 2>/dev/null && mark boot_done
curl -s --max-time 30 http://%(far)s.1/ | grep -q %(page)s && echo "first_fetch $(up)" || echo "fetch-failed"
"""


def product_round(lp, timeout=300):
    """One `service wifibox_bhyve start` to online. -> {step: seconds since the start command}."""
    from wifibox_lab.guest import air  # pylint: disable=import-outside-toplevel
    from vmtier import RUN_DIR  # pylint: disable=import-outside-toplevel,import-error
    stop = lp.ssh('service', 'wifibox_bhyve', 'stop')
    if stop.returncode not in (0, 1):
        raise RuntimeError('service wifibox_bhyve stop: %s' % (stop.stdout + stop.stderr))
    out = lp.sh(PRODUCT_ROUND % {'run': RUN_DIR, 'udhcpc': LAPTOP_UDHCPC, 'timeout': timeout,
                                 'far': air.SUBNET, 'page': air.PAGE}, timeout=timeout + 120).stdout
    marks = dict(line.split() for line in out.splitlines() if len(line.split()) == 2)
    lp.ssh('service', 'wifibox_bhyve', 'stop')  # the floor rounds run with no other VM
    if 'first_fetch' not in marks or 't0' not in marks:
        raise RuntimeError('the product round did not get online:\n' + out[-3000:])
    t0 = float(marks.pop('t0'))
    return {step: float(value) - t0 for step, value in marks.items()}


def prepare_product(root):
    from wifibox_lab import api  # pylint: disable=import-outside-toplevel
    from vmtier import PSK as VPSK, Wifibox, psk_network  # pylint: disable=import-outside-toplevel,import-error
    lp = api.up('boot', 'thinkpad-t480', root=root)
    box = Wifibox(lp).prepare([psk_network()])
    api.set_air(lp, security='wpa2_psk', psk=VPSK)
    box.start()
    lp.ssh('service', 'wifibox_bhyve', 'stop')  # each round starts it; the floor rounds run alone
    return lp


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))
    argparser = _common.parser(__doc__, runs=5)
    argparser.add_argument('--floor-only', action='store_true', help='the floor alone (development)')
    args = argparser.parse_args()
    _common.check_runs(argparser, args)
    sys.path.insert(0, os.path.join(_common.ROOT, 'tests', 'e2e'))
    from wifibox_lab.guest import image  # pylint: disable=import-outside-toplevel
    kernel, base = image.ensure()
    report = _common.Report('P3 boot to online', args.markdown)
    work = tempfile.mkdtemp(prefix='bootbench-floor-')
    with _common.lab_root('boot') as root:
        try:
            initrd = floor.initramfs(base, floor.script(SSID, PSK, 2437), os.path.join(work, 'floor.cpio'))
            variants = {'floor': lambda: floor_round(work, kernel, initrd)}
            if not args.floor_only:
                lp = prepare_product(root)
                variants['product'] = lambda: product_round(lp)
            results = _common.alternate(variants, args.runs, '')
        finally:
            shutil.rmtree(work, ignore_errors=True)
    steps = ['service_started', 'init', 'wlan0', 'associated', 'wlan0_lease', 'nat', 'dhcpd', 'boot_done',
             'laptop_lease', 'first_fetch']
    names = list(results)
    report.add('Seconds since the start (product: `service wifibox_bhyve start` issued; floor: qemu started), '
               'median (min–max) of %d rounds alternated; a step a variant has not is "–".' % args.runs)
    report.add()
    report.table(['step'] + names, [[s] + [_common.fmt(results[n][s]) if s in results[n] else '–' for n in names]
                                    for s in steps if any(s in results[n] for n in names)])
    if 'product' in results:
        med = _common.ratio(results['product']['first_fetch'], results['floor']['first_fetch'])[0]
        report.target('boot to first fetch, product ÷ floor',
                      _common.fmt_ratio(results['product']['first_fetch'], results['floor']['first_fetch']),
                      '≤ 1.2', med <= 1.2, 'See the breakdown above: the step whose gap grows most is the limit.')
    report.write()


if __name__ == '__main__':
    main()
