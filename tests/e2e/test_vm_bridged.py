# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bridged mode (issue #10 item 6): a plain ifupdown guest bridges eth0 and wlan0 at layer 2
(wlan0 in 4-address station mode), and the laptop leases on wifibox0 from the far side's own
DHCP server: no NAT, no DHCP server in the guest.

The guest's files are the wifibox_guest role's ifupdown flavour, rendered with
wifibox_guest_root_dir = the config share (CONF_DIR/appliance): the lab image boots as a plain
ifupdown guest when it finds etc/network/interfaces there (lab/README.md), and interprets that
file (bridge br0, "pre-up iw dev wlan0 set 4addr on", wpa-conf), so a rendering mistake is a
failed lease. The far side is hostapd with wds_sta=1; without it (the negative case) the AP
drops the station's 4-address frames and no lease comes.
"""

from __future__ import annotations

import time

import pytest

from vmtier import CONF_DIR, PSK, RUN_DIR, Wifibox, psk_network, record_time, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.vm]

ROOT_DIR = CONF_DIR + '/appliance'
GUEST_VARS = {'wifibox_guest_flavour': 'ifupdown', 'wifibox_guest_mode': 'bridged',
              'wifibox_guest_root_dir': ROOT_DIR}
FAR_SIDE = '192.168.50.1'  # the far side's dnsmasq (lab air.py): DHCP .100-.150, router, DNS
# udhcpc's script: keep what the server said, the server id first
SCRIPT = """#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    printf 'ip=%s\\nmask=%s\\nserverid=%s\\nrouter=%s\\ndns=%s\\n' "$ip" "$mask" "$serverid" "$router" \\
      "$dns" > /tmp/bridged.lease ;;
esac
exit 0
"""


def _booted(lp, timeout=240):
    """The guest's init has run (its boot.log on the var share says so)."""
    return wait_for(lambda: 'boot done' in lp.sh('cat %s/log/boot.log' % RUN_DIR).stdout, timeout, 1)


def _lease(lp, timeout):
    lp.write_file('/tmp/bridged.script', SCRIPT, 0o755)
    lp.sh('rm -f /tmp/bridged.lease; ip -4 addr flush dev wifibox0')
    lp.sh('busybox udhcpc -i wifibox0 -s /tmp/bridged.script -t %d -T 1 -A 1 -n -q' % timeout,
          timeout=timeout + 30)
    try:
        text = lp.read_file('/tmp/bridged.lease')
    except FileNotFoundError:
        return None
    return dict(line.partition('=')[::2] for line in text.splitlines())


@pytest.fixture(scope='module')
def box(module_laptop, guest_image):
    from wifibox_lab import api
    start = time.monotonic()
    the_box = Wifibox(module_laptop).prepare([psk_network()], GUEST_VARS)
    api.set_air(module_laptop, security='wpa2_psk', psk=PSK, four_addr=True)
    the_box.start()
    record_time('bridged_prepare_and_start', time.monotonic() - start)
    yield the_box
    if the_box.bhyve_pid():
        the_box.stop()


def test_bridged_laptop_leases_from_the_far_side(box):
    start = time.monotonic()
    lp = box.lp
    interfaces = lp.read_file(ROOT_DIR + '/etc/network/interfaces')
    assert 'pre-up iw dev wlan0 set 4addr on' in interfaces and 'bridge_ports eth0 wlan0' in interfaces
    # no guest-side DHCP server or NAT was rendered for bridged mode
    assert lp.sh('test -e %s/etc/udhcpd.conf' % ROOT_DIR).returncode != 0
    assert _booted(lp), box.diagnostics()
    lease = _lease(lp, 120)
    assert lease, box.diagnostics()
    # the far side's server, in the far side's subnet: not a guest LAN (10.0.0.0/24 in NAT mode)
    assert lease['serverid'] == FAR_SIDE, lease
    assert lease['ip'].startswith('192.168.50.') and 100 <= int(lease['ip'].rsplit('.', 1)[1]) <= 150, lease
    assert lease['router'] == FAR_SIDE and lease['mask'] in ('24', '255.255.255.0'), lease
    record_time('bridged_start_to_lease', time.monotonic() - box.started)
    page = wait_for(lambda: box.fetch('http://%s/' % FAR_SIDE, timeout=5), 30)
    assert page and 'hello-from-the-far-side-of-the-air' in page, box.diagnostics()
    # the far side's dnsmasq acked the laptop's own MAC: layer 2 all the way (no NAT, no relay)
    from wifibox_lab.guest.air import air_log
    mac = lp.sh('cat /sys/class/net/wifibox0/address').stdout.strip().lower()
    assert 'DHCPACK(br0) %s %s' % (lease['ip'], mac) in air_log(lp, 'dnsmasq.log'), box.diagnostics()
    record_time('bridged_lease_and_fetch', time.monotonic() - start)


def test_bridged_needs_an_ap_that_accepts_4addr(box):
    """The same guest against an AP without wds_sta: associated, but no 4-address frame passes."""
    from wifibox_lab import api
    start = time.monotonic()
    api.set_air(box.lp, security='wpa2_psk', psk=PSK, four_addr=False)
    box.lp.sh('rm -f %s/log/boot.log' % RUN_DIR)
    box.restart()
    assert _booted(box.lp), box.diagnostics()
    with open(box.lp.dir + '/air/hostapd.conf', encoding='utf-8') as handle:
        assert 'wds_sta' not in handle.read()
    assert _lease(box.lp, 40) is None
    # the station did join (WPA2 done): only its 4-address data frames were dropped
    from wifibox_lab.guest.air import air_log
    assert 'AP-STA-CONNECTED' in air_log(box.lp, 'hostapd.log'), box.diagnostics()
    record_time('bridged_no_wds_sta', time.monotonic() - start)
