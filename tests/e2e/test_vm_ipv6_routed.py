# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Routed IPv6: the guest advertises a routed prefix on its LAN, no NAT66; the far side routes
that prefix to the guest's wlan0, and the laptop reaches it with its own address."""

from __future__ import annotations

import re
import time

import pytest

from vmtier import PSK, RUN_DIR, Wifibox, psk_network, record_time, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.vm]
PREFIX = 'fd51::'
# the guest's wlan0 is hwsim radio 0 (02:00:00:00:00:00): its SLAAC address in fd50::/64
GUEST_WLAN6 = 'fd50::ff:fe00:0'


@pytest.fixture(scope='module')
def box(module_laptop, guest_image):
    from wifibox_lab import api
    the_box = Wifibox(module_laptop).prepare([psk_network()], {
        'wifibox_guest_ipv6': 'routed', 'wifibox_guest_ipv6_lan_address': PREFIX + 'ffff/64'})
    api.set_air(module_laptop, security='wpa2_psk', psk=PSK, routes6=[(PREFIX + '/64', GUEST_WLAN6)])
    the_box.start()
    yield the_box
    if the_box.bhyve_pid():
        the_box.stop()


def test_routed_ipv6_reaches_the_far_side_without_nat66(box):
    start = time.monotonic()
    lp = box.lp
    assert '*nat' not in lp.read_file('/usr/local/etc/wifibox-bhyve/appliance/ip6tables')
    lp.sh('echo 0 > /proc/sys/net/ipv6/conf/wifibox0/accept_dad; '
          'echo 2 > /proc/sys/net/ipv6/conf/wifibox0/accept_ra')

    def address():
        out = lp.sh('ip -6 -o addr show dev wifibox0 scope global').stdout
        found = re.search(r'inet6 (fd51::[0-9a-f:]+)/64', out)
        return found.group(1) if found else None
    assert wait_for(address, 60), box.diagnostics()
    assert wait_for(lambda: 'default' in lp.sh('ip -6 route show default').stdout, 20)
    page = wait_for(lambda: box.fetch('http://[fd50::1]/', timeout=5), 30)
    assert page and 'hello-from-the-far-side-of-the-air' in page, box.diagnostics()
    # no NAT66 in the guest: the far side answered the laptop's own fd51:: address, which only
    # its route to the guest's wlan0 (routes6) reaches
    messages = lp.sh('cat %s/log/messages' % RUN_DIR).stdout
    assert 'radvd' in messages
    record_time('ipv6_routed', time.monotonic() - start)
