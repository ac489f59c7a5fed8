# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every printable ASCII passphrase and EAP string reaches wpa_supplicant exactly.

The role renders networks for every secret of passphrases.py; the real wpa_supplicant
reads the file with -ddd -K (key material in its debug output) and every value it parsed
is compared byte for byte with what was asked: the PSK (derived by wpa_supplicant from
the passphrase, or written derived), the SAE password, the EAP identity and password.
The UCI wireless file of the OpenWrt flavour is parsed back the same way.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess

import pytest

import passphrases
import uci
from conftest import check_wpa_supplicant, is_root, need_tools, run_hosts

pytestmark = pytest.mark.lab


def parse_debug(out):
    """The networks wpa_supplicant parsed, in file order: [{field: bytes}], from -ddd -K output."""
    nets = []
    lines = out.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r'^(?P<name>[A-Za-z0-9_ ()]+?) - hexdump(?P<ascii>_ascii)?\(len=(?P<len>\d+)\):(?P<rest>.*)$',
                     line)
        i += 1
        if not m:
            continue
        name, size = m.group('name'), int(m.group('len'))
        if m.group('ascii'):
            data = []
            while len(data) < size and i < len(lines) and lines[i].startswith('     '):
                data.extend(lines[i][5:5 + 16 * 3].split())
                i += 1
            value = bytes(int(h, 16) for h in data)
        else:
            value = bytes(int(h, 16) for h in m.group('rest').split())
        if name == 'ssid':
            nets.append({})
        if nets:
            nets[-1][name] = value
    return nets


def psk_of(passphrase, ssid):
    return hashlib.pbkdf2_hmac('sha1', passphrase.encode(), ssid.encode(), 4096, 32)


@pytest.fixture(scope='module')
def hard(tmp_path_factory):
    if not is_root():
        pytest.fail('run the tests as root')
    need_tools('wpa_supplicant')
    work = str(tmp_path_factory.mktemp('passphrases'))
    ca = os.path.join(work, 'ca.pem')
    with open(ca, 'w', encoding='utf-8') as handle:
        handle.write('-----BEGIN TEST FILE-----\nca\n-----END TEST FILE-----\n')
    nets = passphrases.networks(ca)
    hosts = {
        'alpine': {'wifibox_guest_networks': nets},
        'openwrt': {'wifibox_guest_flavour': 'openwrt', 'wifibox_guest_networks': nets},
    }
    run = run_hosts(work, hosts)
    assert run.rc == 0, run.out[-4000:]
    return run, nets, work


def test_every_secret_is_parsed_exactly_by_wpa_supplicant(hard):
    _run, nets, work = hard
    conf = os.path.join(work, 'alpine', 'wpa_supplicant', 'wpa_supplicant.conf')
    ok, out = check_wpa_supplicant(conf)
    assert ok, out
    proc = subprocess.run(['timeout', '20', 'wpa_supplicant', '-c', conf, '-i', 'wbxnone0', '-D', 'nl80211',
                           '-ddd', '-K'], capture_output=True, text=True, check=False)
    parsed = parse_debug(proc.stdout + proc.stderr)
    assert len(parsed) == len(nets), 'wpa_supplicant parsed %d networks of %d' % (len(parsed), len(nets))
    for net, got in zip(nets, parsed):
        ssid, sec = net['ssid'], net['security']
        assert got['ssid'] == ssid.encode(), (ssid, got)
        if sec in ('wpa2_psk', 'wpa2_wpa3'):
            psk = got.get('PSK (from passphrase)', got.get('PSK'))
            want = bytes.fromhex(net['psk']) if passphrases.is_raw_psk(net['psk']) else psk_of(net['psk'], ssid)
            assert psk == want, 'PSK of %s differs' % ssid
        if sec in ('wpa3_sae', 'wpa2_wpa3'):
            # SAE uses sae_password when set, else the passphrase.
            sae = got.get('sae_password', got.get('PSK (ASCII passphrase)'))
            assert sae == net['psk'].encode(), 'SAE password of %s differs' % ssid
        if sec == 'wpa2_eap':
            assert got['identity'] == net['identity'].encode(), ssid
            assert got['anonymous_identity'] == net['anonymous_identity'].encode(), ssid
            assert got['password'] == net['password'].encode(), ssid
            assert got['phase2'] == b'auth=MSCHAPV2'
            assert got['ca_cert'] == b'/etc/wpa_supplicant/ca.pem'


def test_uci_wireless_holds_every_secret_exactly(hard):
    _run, nets, work = hard
    with open(os.path.join(work, 'openwrt', 'etc', 'config', 'wireless'), encoding='utf-8') as handle:
        parsed = uci.parse(handle.read())
    ifaces = uci.find(parsed, 'wifi-iface')
    assert len(ifaces) == len(nets)
    for net, iface in zip(nets, ifaces):
        opts = iface['options']
        assert opts['ssid'] == net['ssid']
        if 'psk' in net:
            assert opts['key'] == net['psk']
        else:
            assert opts['identity'] == net['identity'] and opts['password'] == net['password']


def test_the_old_quoting_broke_the_file(tmp_path):
    """Negative control: the quoted form the role used to write for such a passphrase is rejected."""
    path = str(tmp_path / 'old.conf')
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write('network={\n\tssid="x"\n\tkey_mgmt=WPA-PSK\n\tpsk="ab"cd#efgh"\n}\n')
    ok, out = check_wpa_supplicant(path)
    assert not ok, out
    # ... and the parser's error shows part of the passphrase: why it must never be written that way.
    assert 'ab"cd' in out


def test_parse_debug_reads_what_it_should():
    out = ('ssid - hexdump_ascii(len=1):\n     78                                                x               \n'
           'PSK (from passphrase) - hexdump(len=2): ab cd\n'
           'ssid - hexdump_ascii(len=2):\n     79 7a                                             yz              \n'
           'password - hexdump_ascii(len=3):\n     23 22 23                                          #"#             \n')
    assert parse_debug(out) == [{'ssid': b'x', 'PSK (from passphrase)': b'\xab\xcd'},
                                {'ssid': b'yz', 'password': b'#"#'}]
