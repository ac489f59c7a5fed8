# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every security mode the role renders connects to a real access point; a wrong PSK does not.

The role renders one network per mode (distinct SSIDs) once; each test switches the far
side of the air to one access point and restarts the VM (SIGTERM, then bhyve again), so
wpa_supplicant joins the one network it can see, with the file exactly as rendered.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from vmtier import FREQ, PSK, RUN_DIR, Wifibox, record_time, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.vm]
PAGE = 'hello-from-the-far-side-of-the-air'
WRONG = 'not the right passphrase'


def _networks(certs):
    def net(ssid, security, **kw):
        item = {'ssid': ssid, 'security': security, 'frequencies': [FREQ]}
        item.update(kw)
        return item
    eap = {'identity': 'alice', 'ca_cert': os.path.join(certs, 'ca.pem'), 'domain_suffix_match': 'lab.example'}
    return [
        net('lab-psk', 'wpa2_psk', psk=PSK),
        net('lab-sae', 'wpa3_sae', psk=PSK),
        net('lab-mixed', 'wpa2_wpa3', psk=PSK),
        net('lab-open', 'open'),
        net('lab-hidden', 'wpa2_psk', psk=PSK, hidden=True),
        net('lab-peap', 'wpa2_eap', eap='peap', password='wonderland', **eap),
        net('lab-ttls', 'wpa2_eap', eap='ttls', password='wonderland', **eap),
        net('lab-tls', 'wpa2_eap', eap='tls', client_cert=os.path.join(certs, 'client.pem'),
            private_key=os.path.join(certs, 'client.key'), **eap),
        net('lab-wrong', 'wpa2_psk', psk=WRONG),
    ]


@pytest.fixture(scope='module')
def box(module_laptop, guest_image, certs):
    start = time.monotonic()
    the_box = Wifibox(module_laptop).prepare(_networks(certs))
    record_time('security_prepare', time.monotonic() - start)
    yield the_box
    if the_box.bhyve_pid():
        the_box.stop()


def _boot_with_air(box, **air):
    from wifibox_lab import api
    # the guest off first: set_air replaces the air folder the running guest shares and writes to
    if box.bhyve_pid():
        last_exit = box.stop()
        assert last_exit and last_exit['code'] == 1, (last_exit, box.diagnostics())
    api.set_air(box.lp, **air)
    return box.start()


MODES = [
    ('wpa2_psk', dict(ssid='lab-psk', security='wpa2_psk', psk=PSK), 'WPA2-PSK'),
    ('wpa3_sae', dict(ssid='lab-sae', security='wpa3_sae', psk=PSK), 'SAE'),
    ('wpa2_wpa3', dict(ssid='lab-mixed', security='wpa2_wpa3', psk=PSK), None),
    ('open', dict(ssid='lab-open', security='open'), 'NONE'),
    ('hidden', dict(ssid='lab-hidden', security='wpa2_psk', psk=PSK, hidden=True), 'WPA2-PSK'),
    ('peap', dict(ssid='lab-peap', security='wpa2_eap'), 'WPA2/IEEE 802.1X/EAP'),
    ('ttls', dict(ssid='lab-ttls', security='wpa2_eap'), 'WPA2/IEEE 802.1X/EAP'),
    ('tls', dict(ssid='lab-tls', security='wpa2_eap'), 'WPA2/IEEE 802.1X/EAP'),
]


@pytest.mark.parametrize('mode,air,key_mgmt', MODES, ids=[m[0] for m in MODES])
def test_security_mode_connects_with_the_roles_rendering(box, certs, mode, air, key_mgmt):
    start = time.monotonic()
    if air['security'] == 'wpa2_eap':
        air = dict(air, certs=certs, eap_users={'alice': 'wonderland'})
    started = _boot_with_air(box, **air)
    lease = box.lease(timeout=60)
    leased = time.monotonic()
    assert lease and lease['ip'].startswith('10.0.0.'), box.diagnostics()
    page = box.fetch()
    assert page and PAGE in page, box.diagnostics()
    # this boot's log only (syslogd's start line opens each boot)
    messages = box.lp.sh('cat %s/log/messages' % RUN_DIR).stdout.split('syslogd started')[-1]
    assert "SSID='%s'" % air['ssid'] in messages, messages[-3000:]
    assert 'CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed' in messages, messages[-3000:]
    with open(os.path.join(box.lp.dir, 'air', 'log', 'hostapd.log'), encoding='utf-8') as handle:
        hostapd = handle.read()  # set_air starts a new air dir for each test: this boot's AP
    assert 'AP-STA-CONNECTED' in hostapd, hostapd[-3000:]
    if air['security'] == 'wpa3_sae':
        assert 'SAE' in hostapd, hostapd[-3000:]
    if air['security'] == 'wpa2_eap':
        assert 'CTRL-EVENT-EAP-SUCCESS' in messages, messages[-3000:]
        method = {'peap': 'PEAP', 'ttls': 'TTLS', 'tls': 'TLS'}[mode]
        assert re.search(r'CTRL-EVENT-EAP-METHOD EAP vendor 0 method \d+ \(%s\) selected' % method, messages), \
            messages[-3000:]
    record_time('security_%s' % mode, time.monotonic() - start, vm_start_to_lease=round(leased - started, 2))


def test_wrong_psk_fails_and_says_so(box):
    start = time.monotonic()
    _boot_with_air(box, ssid='lab-wrong', security='wpa2_psk', psk=PSK)

    def said_so():
        messages = box.lp.sh('cat %s/log/messages' % RUN_DIR).stdout.split('syslogd started')[-1]
        return 'reason=WRONG_KEY' in messages and messages
    messages = wait_for(said_so, 90)
    assert messages, box.diagnostics()
    assert '4-Way Handshake failed - pre-shared key may be incorrect' in messages
    assert 'CTRL-EVENT-CONNECTED' not in messages.split('syslogd started')[-1]
    assert box.lease(timeout=5) is None  # no upstream: the guest never serves the LAN
    record_time('security_wrong_psk', time.monotonic() - start)
