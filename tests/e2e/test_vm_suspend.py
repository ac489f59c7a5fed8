# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Suspend/resume with the real guest: online again after every cycle, for each recovery
method of wifibox.bhyve.vm; with the card lost after resume, the escalation recovers.

Cycles per method: $WIFIBOX_VM_SUSPEND_CYCLES (default 1; .ci/run runs 10; a cycle is a
full guest power-off and boot under TCG, about 12 s on an idle core, more when the 2 CI cores
are shared).  Each cycle's time goes to bench/results with the guest's boot marks (its uptime
at each step, from boot.log on the var share).  Online is
checked in full (a new lease on wifibox0, then a page from the far side) after the first
cycle; after the later ones by a page fetched from the far side through the guest's NAT with
the lease the laptop holds (the guest rebooted, re-associated and NATs again: a real proof).
"""

from __future__ import annotations

import os
import re
import time

import pytest

from vmtier import PSK, RUN_DIR, Wifibox, psk_network, record_time, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.vm]
CYCLES = int(os.environ.get('WIFIBOX_VM_SUSPEND_CYCLES', '1'))
PAGE = 'hello-from-the-far-side-of-the-air'


@pytest.fixture(scope='module')
def box(module_laptop, guest_image):
    from wifibox_lab import api
    the_box = Wifibox(module_laptop).prepare([psk_network()])
    api.set_air(module_laptop, security='wpa2_psk', psk=PSK)
    the_box.start()
    assert the_box.lease(), the_box.diagnostics()
    yield the_box
    if the_box.bhyve_pid():
        the_box.stop()


def _online(box):
    lease = box.lease()
    page = box.fetch() if lease else None
    return bool(page and PAGE in page)


def _page_through_nat(box, timeout=90):
    """A page from the far side through the guest's NAT, with the lease the laptop already holds.
    Tries of 3 s (the far side answers in milliseconds once the guest NATs; a try made while the
    guest still boots fails on ARP), until `timeout`."""
    return bool(wait_for(lambda: PAGE in (box.fetch(timeout=3) or ''), timeout))


def _boot_marks(box):
    """The last guest boot's marks in boot.log: {step: the guest's uptime in s}."""
    text = box.lp.sh('cat %s/log/boot.log 2>/dev/null' % RUN_DIR).stdout
    boots = text.split(' wifibox boot: shares:')
    marks = {}
    for line in ('shares:' + boots[-1]).splitlines() if len(boots) > 1 else []:
        found = re.search(r'^(.*?)\s*\(uptime ([0-9.]+)\)$', line.split(' wifibox boot: ')[-1])
        if found:
            marks.setdefault(found.group(1).split(':')[0].strip(), float(found.group(2)))
    return marks


@pytest.mark.parametrize('method', ['restart_vmm', 'suspend_guest', 'suspend_vmm'])
def test_online_again_after_each_suspend_resume(box, method):
    from wifibox_lab import api
    box.start(recovery=method, resume_wait=60)
    for cycle in range(CYCLES):
        start = time.monotonic()
        api.suspend(box.lp)
        api.resume(box.lp)
        status = wait_for(lambda: box.status() if box.status().get('running') else None, 90)
        assert status and status['last_resume']['method'] == method, (box.status(), box.diagnostics())
        assert status['last_resume']['escalated_to'] is None, status
        assert (_online(box) if cycle == 0 else _page_through_nat(box)), box.diagnostics()
        record_time('suspend_%s_cycle%d' % (method, cycle + 1), time.monotonic() - start, cycles=CYCLES,
                    guest=status.get('guest'), boot_marks=_boot_marks(box))


def test_card_lost_after_resume_escalates_and_comes_back(box):
    from wifibox_lab import api
    start = time.monotonic()
    box.start(recovery='suspend_guest', resume_wait=30)
    api.fault(box.lp, 'card-vanish')
    api.suspend(box.lp)
    api.resume(box.lp)
    status = wait_for(lambda: box.status() if box.status().get('running') and box.status().get(
        'last_resume', {}).get('result') else None, 120)
    assert status and status['last_resume']['escalated_to'] == 'restart_vmm', (box.status(), box.diagnostics())
    assert _online(box), box.diagnostics()
    record_time('suspend_card_lost_escalation', time.monotonic() - start)
