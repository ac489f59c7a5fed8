# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One laptop from nothing to online: real WPA2, NAT and DHCP through the lab guest."""

from __future__ import annotations

import time

import pytest

from vmtier import PSK, psk_network, record_time, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.vm]


def test_laptop_leases_and_fetches_the_page_through_wpa2_and_nat(wifibox):
    from wifibox_lab import api
    start = time.monotonic()
    box = wifibox([psk_network()])
    api.set_air(box.lp, security='wpa2_psk', psk=PSK)
    prepared = time.monotonic()
    box.start()
    lease = box.lease()
    leased = time.monotonic()
    assert lease, box.diagnostics()
    assert lease['ip'].startswith('10.0.0.') and lease['router'] == '10.0.0.1', lease
    # %%DNS%% came from the far side's DHCP (dnsmasq on 192.168.50.1) before the fallbacks
    assert lease['dns'].split()[:3] == ['192.168.50.1', '8.8.8.8', '8.8.4.4'], lease
    page = box.fetch()
    assert page and 'hello-from-the-far-side-of-the-air' in page, box.diagnostics()
    rss = box.lp.state()['vms']['wifibox'].get('rss_mb')
    assert box.stop(), box.diagnostics()
    assert box.exit_status() == 1  # ACPI power-off: bhyve exits 1
    messages = box.lp.sh('cat /var/run/wifibox-bhyve/appliance/log/messages').stdout
    assert 'CTRL-EVENT-CONNECTED' in messages and 'power button' in messages, messages[-3000:]
    record_time('nat_wpa2_end_to_end', time.monotonic() - start, prepare=round(prepared - start, 2),
                vm_start_to_lease=round(leased - box.started, 2), qemu_rss_mb=rss)
