# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every hard secret associates: the guest's real wpa_supplicant, reading the file the role
rendered, with a real hostapd, for every passphrase of passphrases.py as WPA2-PSK and as
WPA3-SAE, and every EAP string as a PEAP/MSCHAPv2 and a TTLS/PAP password; a secret one
character off does not.

One VM boot for the module, no guest reboot per secret:
- the role renders ALL the networks (67) into one wpa_supplicant.conf, so one hard
  secret that broke the file would break every network;
- the far side offers them all at once: one access point (BSS) per passphrase on the one far
  hwsim radio (hostapd bss= sections, air.set_air_multi, which writes each secret in a form
  hostapd reads byte for byte), in WPA2/WPA3 transition mode, so the guest's WPA2-PSK network
  and its WPA3-SAE network (same SSID, key_mgmt WPA-PSK or SAE only) both join it and `status`
  says which key management was used; and one EAP access point whose eap_user file holds
  every identity with its password (hex form). 19 BSSs, not 36: each BSS costs hostapd's
  start-up time under TCG;
- the test selects each network in turn the way a user would: wpa_cli on the laptop through
  the boot service's socket pass-through (select_network ID), then `status` must say
  COMPLETED on that network id, that SSID and that access point's BSSID, and hostapd's own
  log must show the station connected to that BSS; for EAP, a full TLS handshake, the inner
  method and EAP success for this very association (the far side caches no PMKSA).
Negative controls, in the same file and boot: a WPA2-PSK, a WPA3-SAE, a PEAP and a TTLS network
whose secret is one character off must not associate (WRONG_KEY; the SAE confirm rejected;
EAP failure).
EAP identities that contain '"' cannot be written in hostapd's eap_user file (identity between
two '"', no escape): those networks use identity `userN` and keep the hard string as their
password and their anonymous (phase 1) identity, which the far side's `*` entry accepts.
"""

from __future__ import annotations

import os
import re
import sys
import time

import pytest

from vmtier import FREQ, RUN_DIR, Wifibox, record_time, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'integration', 'guest'))
import passphrases  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = [pytest.mark.lab, pytest.mark.vm]
WPA_CLI = 'wpa_cli -p /var/run/wpa_supplicant -i wlan0 '
EAP_SSID = 'pass-eap'
KEY_MGMT = {'wpa2_psk': 'WPA2-PSK', 'wpa3_sae': 'SAE', 'peap': 'WPA2/IEEE 802.1X/EAP', 'ttls': 'WPA2/IEEE 802.1X/EAP'}
EAP_METHOD = {'peap': '25 (EAP-PEAP)', 'ttls': '21 (EAP-TTLS)'}
PHASE2 = {'peap': 'MSCHAPV2', 'ttls': 'PAP'}


def off_by_one(text):
    """The same secret with its last character changed (still printable)."""
    last = text[-1]
    return text[:-1] + ('a' if last != 'a' else 'b')


def _plan():
    """-> (air access points, EAP users, [case]); a case is one guest network and what to expect."""
    aps, cases = [], []
    from wifibox_lab.guest import air
    for i, psk in enumerate(passphrases.PASSPHRASES):
        # one access point per passphrase; transition mode (WPA2-PSK and SAE) unless the
        # secret is a raw PSK, which is no SAE password
        ssid = 'pass-%d' % i
        raw = passphrases.is_raw_psk(psk)
        aps.append({'ssid': ssid, 'security': 'wpa2_psk' if raw else 'wpa2_wpa3', 'psk': psk})
        for security, prefix in (('wpa2_psk', 'psk'), ('wpa3_sae', 'sae')):
            if security == 'wpa3_sae' and raw:
                continue
            cases.append({'id': '%s-%d' % (prefix, i), 'kind': security, 'ssid': ssid, 'ap': len(aps) - 1,
                          'good': True, 'net': {'ssid': ssid, 'security': security, 'psk': psk}})
    aps.append({'ssid': EAP_SSID, 'security': 'wpa2_eap'})
    eap_ap = len(aps) - 1
    users = []
    for i, text in enumerate(passphrases.EAP_STRINGS):
        identity = text if air.eap_identity_ok(text) else 'user%d' % i
        users.append((identity, text))
        for eap, phase2 in (('peap', 'auth=MSCHAPV2'), ('ttls', 'auth=PAP')):
            cases.append({'id': '%s-%d' % (eap, i), 'kind': eap, 'ssid': EAP_SSID, 'ap': eap_ap, 'good': True,
                          'net': {'ssid': EAP_SSID, 'security': 'wpa2_eap', 'eap': eap, 'identity': identity,
                                  'anonymous_identity': text, 'password': text, 'phase2': phase2}})
    # negative controls: the guest's network with the secret one character off
    psk, sae = cases[0], next(c for c in cases if c['kind'] == 'wpa3_sae')
    for good in (psk, sae):
        net = dict(good['net'], psk=off_by_one(good['net']['psk']))
        cases.append(dict(good, id='wrong-' + good['kind'], good=False, net=net))
    for eap in ('peap', 'ttls'):
        good = next(c for c in cases if c['kind'] == eap and c['net']['identity'] == c['net']['password'])
        net = dict(good['net'], password=off_by_one(good['net']['password']))
        cases.append(dict(good, id='wrong-' + eap, good=False, net=net))
    for number, case in enumerate(cases):
        case['number'] = number  # wpa_supplicant's network id: the role writes the networks in order
    return aps, users, cases


APS, USERS, CASES = _plan()


@pytest.fixture(scope='module')
def box(module_laptop, guest_image, certs):
    from wifibox_lab.guest import air
    start = time.monotonic()
    eap = {'ca_cert': os.path.join(certs, 'ca.pem'), 'domain_suffix_match': 'lab.example'}
    networks = []
    for case in CASES:
        net = dict(case['net'], frequencies=[FREQ])
        if net['security'] == 'wpa2_eap':
            net.update(eap)
        networks.append(net)
    the_box = Wifibox(module_laptop).prepare(networks)
    air.set_air_multi(module_laptop, APS, certs=certs, eap_users=USERS)
    prepared = time.monotonic()
    the_box.start()
    # hostapd sets every BSS up before it serves any station (lab-air says "air up" after it):
    # slow under TCG on a loaded machine
    assert wait_for(lambda: 'air up' in air.air_log(module_laptop), 300, 1), the_box.diagnostics()
    # the socket pass-through reaches the guest over wifibox0: the laptop leases first (the
    # guest serves its LAN once wpa_supplicant joined any of the networks on its own)
    lease = the_box.lease(timeout=180)
    assert lease, the_box.diagnostics()
    assert wait_for(lambda: 'PONG' in cli(the_box, 'ping'), 30), the_box.diagnostics()
    record_time('passphrases_prepare', prepared - start, networks=len(networks), access_points=len(APS))
    record_time('passphrases_boot_to_wpa_cli', time.monotonic() - prepared)
    yield the_box
    if the_box.bhyve_pid():
        the_box.stop()


def cli(box, *args):
    return box.lp.sh(WPA_CLI + ' '.join(args), timeout=30).stdout


def status(box):
    return dict(line.partition('=')[::2] for line in cli(box, 'status').splitlines() if '=' in line)


def hostapd_connected(box, ap):
    """hostapd's AP-STA-CONNECTED lines of the access point `ap` (its log, the lab's air share)."""
    from wifibox_lab.guest import air
    iface = 'wlan1' if ap == 0 else 'wlan1-%d' % ap
    return len(re.findall(r'^%s: AP-STA-CONNECTED ' % re.escape(iface), air.air_log(box.lp, 'hostapd.log'), re.M))


def guest_messages(box):
    return box.lp.sh('cat %s/log/messages' % RUN_DIR).stdout


def test_one_file_holds_every_network_in_order(box):
    """The rendered file is whole: wpa_supplicant lists every network, in the role's order."""
    from wifibox_lab.guest import air
    listed = [line.split('\t') for line in cli(box, 'list_networks').splitlines()[1:] if '\t' in line]
    assert [(int(n[0]), n[1]) for n in listed] == [(c['number'], c['ssid']) for c in CASES], listed
    # the far side: hostapd set every BSS up (it says AP-ENABLED once, for the first, after all)
    assert 'wlan1: AP-ENABLED' in air.air_log(box.lp, 'hostapd.log') and 'hostapd failed' not in air.air_log(box.lp)


def _select(box, case):
    """wpa_cli select_network. Its reply can be lost on the way back through the socket
    pass-through when the guest is slow to answer (seen here under load: wpa_cli says "timed
    out" although the guest switched; likely socat's 0.5 s close timeout in the host's
    UNIX-RECVFROM child): the network's status is what tells, so a lost reply is allowed."""
    # disconnect first: select_network on the network already joined would keep the association
    box.lp.sh('timeout 12 ' + WPA_CLI + 'disconnect', timeout=30)
    out = box.lp.sh('timeout 12 ' + WPA_CLI + 'select_network %d' % case['number'], timeout=30).stdout
    assert out.strip().endswith('OK') or 'timed out' in out or not out.strip(), out


@pytest.mark.parametrize('case', [c for c in CASES if c['good']], ids=lambda c: c['id'])
def test_secret_associates(box, case):
    from wifibox_lab.guest import air
    start = time.monotonic()
    before = hostapd_connected(box, case['ap'])
    before_msgs = len(guest_messages(box))
    _select(box, case)

    def completed():
        got = status(box)
        return got if got.get('wpa_state') == 'COMPLETED' and got.get('id') == str(case['number']) else None
    got = wait_for(completed, 45, 0.5)
    if not got:  # once more (a request lost on the way, or a first attempt that timed out)
        _select(box, case)
        got = wait_for(completed, 60, 0.5)
    assert got, (case['id'], status(box), guest_messages(box)[-4000:], air.air_log(box.lp, 'hostapd.log')[-3000:])
    assert got['ssid'] == case['ssid'] and got['bssid'] == air.bssid(case['ap']), got
    assert got['key_mgmt'] == KEY_MGMT[case['kind']], got
    if case['kind'] in EAP_METHOD:
        # a whole EAP exchange for this association: a full TLS handshake (no resumed session),
        # the inner method with the password, success (the far side caches no PMKSA)
        assert got.get('EAP state') == 'SUCCESS' and got.get('selectedMethod') == EAP_METHOD[case['kind']], got
        assert got.get('tls_session_reused') == '0', got
        assert [v for k, v in got.items() if k.endswith(' Phase2 method')] == [PHASE2[case['kind']]], got
        new = guest_messages(box)[before_msgs:]
        assert re.search(r'CTRL-EVENT-EAP-METHOD EAP vendor 0 method \d+ \(%s\) selected' % case['kind'].upper(), new) \
            and 'CTRL-EVENT-EAP-SUCCESS' in new, new[-3000:]
    # the far side agrees: hostapd saw the station connect to this very access point
    assert wait_for(lambda: hostapd_connected(box, case['ap']) > before, 20), \
        air.air_log(box.lp, 'hostapd.log')[-3000:]
    record_time('passphrase_%s' % case['kind'], time.monotonic() - start)


@pytest.mark.parametrize('case', [c for c in CASES if not c['good']], ids=lambda c: c['id'])
def test_secret_one_character_off_does_not_associate(box, case):
    """The negative control per security: the same secret off by one must fail, and say so."""
    from wifibox_lab.guest import air
    start = time.monotonic()
    before_msgs = len(guest_messages(box))
    before = hostapd_connected(box, case['ap'])
    _select(box, case)
    disabled = re.compile(r'CTRL-EVENT-SSID-TEMP-DISABLED id=%d ssid="%s" auth_failures=\d+ duration=\d+ '
                          r'reason=(\S+)' % (case['number'], re.escape(case['ssid'])))

    def refused():
        found = disabled.search(guest_messages(box)[before_msgs:])
        return found and found.group(1)
    reason = wait_for(refused, 90, 0.5)
    new = guest_messages(box)[before_msgs:]
    assert reason, (case['id'], status(box), new[-4000:])
    got = status(box)
    assert not (got.get('wpa_state') == 'COMPLETED' and got.get('id') == str(case['number'])), got
    assert hostapd_connected(box, case['ap']) == before, air.air_log(box.lp, 'hostapd.log')[-3000:]
    if case['kind'] == 'wpa2_psk':
        assert reason == 'WRONG_KEY', new[-3000:]  # the 4-way handshake's MIC did not match
    elif case['kind'] == 'wpa3_sae':
        # the far side rejected the SAE confirm (auth_transaction 2): the passwords differ
        assert reason == 'CONN_FAILED' and re.search(
            r'CTRL-EVENT-AUTH-REJECT %s auth_type=3 auth_transaction=2 status_code=1' % air.bssid(case['ap']), new), \
            new[-3000:]
    else:
        assert reason == 'AUTH_FAILED' and 'CTRL-EVENT-EAP-FAILURE' in new, new[-3000:]
    record_time('passphrase_wrong_%s' % case['kind'], time.monotonic() - start, reason=reason)
