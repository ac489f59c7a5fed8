#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P4 resume to online: the resume event to the laptop's connectivity back, per recovery method ÷ the floor.

    sudo .venv/bin/python bench/resume_online.py [--quick] [--methods restart_vmm,suspend_guest]

The product: the lab laptop of P3 (bench/boot_online.py), wifibox.bhyve.vm started with
recovery=METHOD; each round the lab's suspend (api.suspend: devd's ACPI Suspend), then from the
resume event (api.resume: devd's ACPI Resume, its handler included) until a curl of the far
side's page from the laptop succeeds (1 s tries), with the guest's log marks on the way.
The floor's resume is its minimal restart: qemu started again and the floor's boot to online
(bench/floor.py), the same as the P3 floor round. Methods and floor alternate.
"""

import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position
import boot_online  # noqa: E402  pylint: disable=wrong-import-position
import floor  # noqa: E402  pylint: disable=wrong-import-position

METHODS = ('restart_vmm', 'suspend_guest', 'suspend_vmm')

WAIT_ONLINE = r"""
RUN=%(run)s
up() { cut -d' ' -f1 /proc/uptime; }
seen=""
mark() { case " $seen " in *" $1 "*) ;; *) seen="$seen $1"; echo "$1 $(up)";; esac; }
end=$(( $(cut -d. -f1 /proc/uptime) + %(timeout)d ))
while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do
	grep -q 'shares:' $RUN/log/boot.log 2>/dev/null && mark init
	grep -q 'CTRL-EVENT-CONNECTED' $RUN/log/messages 2>/dev/null && mark associated
	grep -q 'wlan0: lease' $RUN/log/messages 2>/dev/null && mark wlan0_lease
	if curl -s --max-time 1 http://%(far)s.1/ | grep -q %(page)s; then echo "online $(up)"; exit 0; fi
done
echo "not-online"
"""


def uptime():
    with open('/proc/uptime', encoding='ascii') as handle:
        return float(handle.read().split()[0])


def resume_round(lp, timeout=300):
    """One suspend, then the resume event to online. -> {step: seconds since the resume event}."""
    from wifibox_lab import api  # pylint: disable=import-outside-toplevel
    from wifibox_lab.guest import air  # pylint: disable=import-outside-toplevel
    from vmtier import RUN_DIR  # pylint: disable=import-outside-toplevel,import-error
    api.suspend(lp)
    lp.sh(': > %s/log/boot.log; : > %s/log/messages' % (RUN_DIR, RUN_DIR))
    t0 = uptime()
    api.resume(lp)
    marks = {'resume_handled': uptime() - t0}
    out = lp.sh(WAIT_ONLINE % {'run': RUN_DIR, 'timeout': timeout, 'far': air.SUBNET, 'page': air.PAGE},
                timeout=timeout + 60).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            marks[parts[0]] = float(parts[1]) - t0
    if 'online' not in marks:
        raise RuntimeError('not online after resume:\n' + out[-2000:])
    return marks


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))
    argparser = _common.parser(__doc__, runs=5)
    argparser.add_argument('--methods', default=','.join(METHODS), help='recovery methods (default all)')
    args = argparser.parse_args()
    _common.check_runs(argparser, args)
    methods = [m for m in args.methods.split(',') if m]
    sys.path.insert(0, os.path.join(_common.ROOT, 'tests', 'e2e'))
    from wifibox_lab.guest import image  # pylint: disable=import-outside-toplevel
    kernel, base = image.ensure()
    report = _common.Report('P4 resume to online', args.markdown)
    work = tempfile.mkdtemp(prefix='bootbench-floor-')
    results = {}
    with _common.lab_root('resume') as root:
        try:
            initrd = floor.initramfs(base, floor.script(boot_online.SSID, boot_online.PSK, 2437),
                                     os.path.join(work, 'floor.cpio'))
            lp = boot_online.prepare_product(root)
            from vmtier import Wifibox  # pylint: disable=import-outside-toplevel,import-error
            box = Wifibox(lp)
            box.card = lp.state()['wifi']
            for method in methods:
                def product(method=method):
                    box.start(recovery=method, resume_wait=60)  # untimed: online before the suspend
                    if not box.lease():
                        raise RuntimeError('no lease before a %s round' % method)
                    try:
                        return resume_round(lp)
                    finally:
                        lp.ssh('service', 'wifibox_bhyve', 'stop')  # the floor rounds run with no other VM
                got = _common.alternate({
                    'floor': lambda: {'online': boot_online.floor_round(work, kernel, initrd)['first_fetch']},
                    method: product,
                }, args.runs, method + ' ')
                results[method] = got
        finally:
            shutil.rmtree(work, ignore_errors=True)
    report.add('Seconds since the resume event (product: api.resume, devd\'s ACPI Resume and its handler; '
               'floor: its minimal restart, qemu started again), median (min–max) of %d rounds, each method '
               'alternated with its own floor rounds.' % args.runs)
    report.add()
    steps = ['resume_handled', 'init', 'associated', 'wlan0_lease', 'online']
    report.table(['step'] + methods + ['floor (with %s)' % m for m in methods],
                 [[s] + [_common.fmt(results[m][m][s]) if s in results[m][m] else '–' for m in methods]
                  + [_common.fmt(results[m]['floor'][s]) if s in results[m]['floor'] else '–' for m in methods]
                  for s in steps])
    for method in methods:
        med = _common.ratio(results[method][method]['online'], results[method]['floor']['online'])[0]
        report.target('%s resume to online ÷ floor' % method,
                      _common.fmt_ratio(results[method][method]['online'], results[method]['floor']['online']),
                      '≤ 1.2', med <= 1.2, 'See the breakdown: the step that differs from the floor is the limit.')
    report.write()


if __name__ == '__main__':
    main()
