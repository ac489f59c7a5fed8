#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P3 boot to online: the hand-written floor (bench/floor.py), step by step.

    sudo .venv/bin/python bench/boot_online.py --floor-only [--quick]

The floor: qemu started directly (no service, no simulated bhyve) in a network namespace of
its own, the lab guest image with /floor.sh as rdinit, the far side of the air as in the lab;
the "laptop" is that namespace: busybox udhcpc on the tap from the moment qemu starts, then one
curl of the far side's page. Breakdown from host-observed times of the console marks.

NOT DONE: the product variant (a lab laptop prepared by the collection, `service wifibox_bhyve
start`) side by side; until it exists this script measures the floor only and is not part of
the P3 figure (scripts/bench p3 refuses without --floor-only).
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
    qemu = laptop = None
    try:
        subprocess.run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'], check=True)
        subprocess.run(['ip', 'netns', 'exec', ns, 'ip', 'tuntap', 'add', 'fl0', 'mode', 'tap'], check=True)
        subprocess.run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'fl0', 'up'], check=True)
        argv = ['ip', 'netns', 'exec', ns, 'qemu-system-x86_64', '-accel', 'tcg,tb-size=64', '-machine', 'pc',
                '-m', '256', '-smp', '1', '-display', 'none', '-nodefaults', '-no-user-config',
                '-kernel', kernel, '-initrd', initrd,
                '-append', 'console=ttyS0 quiet panic=-1 loglevel=4 rdinit=/floor.sh wifibox_lab.wifi=1',
                '-serial', 'file:' + console,
                '-netdev', 'tap,id=n0,ifname=fl0,script=no,downscript=no', '-device', 'e1000,netdev=n0',
                '-virtfs', 'local,path=%s,mount_tag=labair,security_model=none,id=labair'
                % os.path.join(work, 'air')]
        began = time.monotonic()
        qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        laptop = subprocess.Popen(['ip', 'netns', 'exec', ns, 'busybox', 'udhcpc', '-i', 'fl0', '-s', script,
                                   '-q', '-n', '-t', str(timeout), '-T', '1', '-A', '1'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen = {}
        deadline = began + timeout
        while 'laptop_lease' not in seen:
            if time.monotonic() > deadline or qemu.poll() is not None:
                raise RuntimeError('floor not online after %.0f s; marks %s; console tail:\n%s'
                                   % (time.monotonic() - began, seen, open(console, errors='replace').read()[-2000:]))
            now = time.monotonic() - began
            with open(console, encoding='utf-8', errors='replace') as handle:
                for step in floor.parse_marks(handle.read()):
                    seen.setdefault(step, now)
            if laptop.poll() is not None:
                if laptop.returncode != 0:
                    raise RuntimeError('the laptop side got no lease (udhcpc exit %d)' % laptop.returncode)
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
        subprocess.run(['ip', 'netns', 'del', ns], check=False)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))
    argparser = _common.parser(__doc__, runs=5)
    argparser.add_argument('--floor-only', action='store_true', help='the floor alone (the product side is not written)')
    args = argparser.parse_args()
    _common.check_runs(argparser, args)
    if not args.floor_only:
        argparser.error('the product variant is not written yet: only --floor-only measures (the floor alone)')
    from wifibox_lab.guest import image  # pylint: disable=import-outside-toplevel
    kernel, base = image.ensure()
    report = _common.Report('P3 boot to online: the floor alone (product side not written)', args.markdown)
    work = tempfile.mkdtemp(prefix='bootbench-floor-')
    try:
        initrd = floor.initramfs(base, floor.script(SSID, PSK, 2437), os.path.join(work, 'floor.cpio'))
        results = _common.alternate({'floor': lambda: floor_round(work, kernel, initrd)}, args.runs, 'floor ')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    steps = list(floor.STEPS) + ['laptop_lease', 'first_fetch']
    report.table(['floor step (host s since qemu start)', 'median (min–max)'],
                 [[s, _common.fmt(results['floor'][s])] for s in steps if s in results['floor']])
    report.write()


if __name__ == '__main__':
    main()
