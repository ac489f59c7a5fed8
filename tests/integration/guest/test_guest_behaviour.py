# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the role behaves: idempotence, check mode, diff with secrets masked, no secret at -vvv, validation first."""

from __future__ import annotations

import os
import re

from conftest import run_hosts
from scenarios import eap_nets

SECRETS = {
    'psk': 'Vvv-Psk-Secret-1',
    'sae': 'Vvv-Sae-Secret-4',
    'eap': 'Vvv-Eap-Secret-2',
    'key': 'Vvv-Key-Secret-3',
}


def secret_networks(work):
    nets = eap_nets(work)
    nets[0]['password'] = SECRETS['eap']
    nets[2]['private_key_password'] = SECRETS['key']
    return [
        {'ssid': 'home', 'security': 'wpa2_psk', 'psk': SECRETS['psk']},
        {'ssid': 'sae', 'security': 'wpa3_sae', 'psk': SECRETS['sae']},
        nets[0], nets[2],
    ]


def _host_block(out, host):
    """The output lines about HOST (fatal/ok/changed lines and the indented lines after them)."""
    lines = []
    keep = False
    for line in out.splitlines():
        if re.match(r'^(fatal|failed|ok|changed|skipping|included): ', line):
            keep = ('[%s]' % host) in line
        elif not line.startswith((' ', '\t', '}', '{')) and line.strip():
            keep = False
        if keep:
            lines.append(line)
    return '\n'.join(lines)


# One scenario per flavour, the ones with the most files (EAP files, port forwards, IPv6),
# keeps the second run short; every scenario shares the same templates and tasks.
IDEMPOTENCE_HOSTS = ('wifibox_alpine_nat_nat66_psk', 'ifupdown_routed_routed_eap', 'openwrt_routed_routed_eap')


def test_second_run_changes_nothing(rendered):
    """A second run (with --diff) reports no change and shows no diff."""
    first, all_hosts, work = rendered
    for host in all_hosts:
        assert first.recap_of(host)['failed'] == 0, first.out[-3000:]
        assert first.recap_of(host)['changed'] > 0
    hosts = {name: all_hosts[name] for name in IDEMPOTENCE_HOSTS}
    again = run_hosts(work, hosts, '--diff')
    assert again.rc == 0, again.out[-4000:]
    for host in hosts:
        assert again.recap_of(host)['changed'] == 0, _host_block(again.out, host)
    assert '--- before' not in again.out and '+++ after' not in again.out


def test_check_mode_writes_nothing_and_masks_the_diff(tmp_path):
    work = str(tmp_path)
    nets = secret_networks(work)
    hosts = {
        'alpine': {'wifibox_guest_networks': nets},
        'openwrt': {'wifibox_guest_flavour': 'openwrt', 'wifibox_guest_networks': nets},
    }
    run = run_hosts(work, hosts, '--check', '--diff')
    assert run.rc == 0, run.out[-4000:]
    for host in hosts:
        assert run.recap_of(host)['changed'] > 0
        assert not os.path.exists(os.path.join(work, host)), 'check mode wrote files'
    # The diff of the secret-bearing files is shown, masked.
    assert '+\tpsk=********(secret ' in run.out
    assert "+\toption key ********(secret " in run.out
    assert '+\tssid="home"' in run.out
    for secret in SECRETS.values():
        assert secret not in run.out


def test_no_secret_at_vvv_and_a_changed_secret_diffs_masked(tmp_path):
    """At -vvv, with diff, for both secret files and for a failed validation, no secret is printed anywhere.

    (The ifupdown flavour writes wpa_supplicant.conf with the same tasks as wifibox_alpine.)

    Then a changed passphrase shows in the diff as a change of masked values only.
    """
    work = str(tmp_path)
    nets = secret_networks(work)
    hosts = {
        'alpine': {'wifibox_guest_networks': nets},
        'openwrt': {'wifibox_guest_flavour': 'openwrt', 'wifibox_guest_networks': nets},
        'invalid': {'wifibox_guest_networks': [{'ssid': 'x', 'psk': 'Sh0rt!'},
                                               {'ssid': 'y', 'psk': 'Vvv-Non-Ascii-\u00e9-Secret'}]},
    }
    run = run_hosts(work, hosts, '-vvv', '--diff')
    assert run.recap_of('invalid')['failed'] == 1
    for host in ('alpine', 'openwrt'):
        assert run.recap_of(host)['failed'] == 0, _host_block(run.out, host)
    for secret in list(SECRETS.values()) + ['Sh0rt!', 'Vvv-Non-Ascii']:
        assert secret not in run.out, 'secret %r printed at -vvv' % secret
    # The secrets did reach the files (so the grep above means something).
    with open(os.path.join(work, 'openwrt', 'etc', 'config', 'wireless'), encoding='utf-8') as handle:
        wireless = handle.read()
    assert SECRETS['psk'] in wireless and SECRETS['eap'] in wireless and SECRETS['key'] in wireless
    conf = os.path.join(work, 'alpine', 'wpa_supplicant', 'wpa_supplicant.conf')
    with open(conf, encoding='utf-8') as handle:
        assert SECRETS['psk'] in handle.read()
    assert oct(os.stat(conf).st_mode & 0o777) == '0o600'

    nets[0] = dict(nets[0], psk='Vvv-Psk-Secret-NEW')
    run = run_hosts(work, {'alpine': {'wifibox_guest_networks': nets}}, '--diff')
    assert run.rc == 0, run.out[-4000:]
    assert run.recap_of('alpine')['changed'] == 1
    assert re.search(r'^-\tpsk=\*{8}\(secret \d\)$', run.out, re.M) and \
        re.search(r'^\+\tpsk=\*{8}\(secret \d\)$', run.out, re.M), run.out
    for secret in list(SECRETS.values()) + ['Vvv-Psk-Secret-NEW']:
        assert secret not in run.out


def test_validation_fails_before_any_file_is_written(tmp_path):
    work = str(tmp_path)
    cases = {
        'short_psk': ({'wifibox_guest_networks': [{'ssid': 'home', 'psk': 'short'}]},
                      'wifibox_guest_networks[0].psk: must be 8 to 63 printable ASCII characters or 64 hex digits'),
        'long_ssid': ({'wifibox_guest_networks': [{'ssid': 'x' * 33, 'security': 'open'}]},
                      'wifibox_guest_networks[0].ssid: is 33 bytes long'),
        'missing_ca': ({'wifibox_guest_networks': [{'ssid': 'corp', 'security': 'wpa2_eap', 'eap': 'peap',
                                                    'identity': 'a', 'password': 'b', 'ca_cert': '/nonexistent/ca.pem'}]},
                       "file '/nonexistent/ca.pem' does not exist on the controller"),
        'range_outside': ({'wifibox_guest_dhcp_range_end': '10.0.1.9'},
                          'wifibox_guest_dhcp_range_end: 10.0.1.9 is not a host address inside the guest LAN'),
        'range_has_guest': ({'wifibox_guest_dhcp_range_start': '10.0.0.1'}, "contains the guest's own address"),
        'overlap': ({'wifibox_guest_upstream': {'proto': 'static', 'address': '10.0.0.77/16', 'gateway': '10.0.0.254'}},
                    'overlaps the upstream network'),
        'bad_prefix': ({'wifibox_guest_lan_address': '10.0.0.1/33'}, 'wifibox_guest_lan_address'),
        'flavour': ({'wifibox_guest_flavour': 'gentoo'}, 'wifibox_guest_flavour'),
        'mode': ({'wifibox_guest_mode': 'mesh'}, 'wifibox_guest_mode'),
        'bridged_alpine': ({'wifibox_guest_mode': 'bridged'}, 'bridged mode is not possible with flavour'),
    }
    run = run_hosts(work, {name: case[0] for name, case in cases.items()})
    assert run.rc != 0
    for name, (_variables, message) in cases.items():
        assert run.recap_of(name)['failed'] == 1, name
        block = _host_block(run.out, name)
        assert message in block, '%s: %r not in\n%s' % (name, message, block)
        assert not os.path.exists(os.path.join(work, name)), '%s: files were written' % name


def test_one_module_call_per_run(tmp_path):
    """The role runs one module on the target (config_files), whatever the number of files: counted, not timed."""
    work = str(tmp_path)
    hosts = {'alpine': {'wifibox_guest_networks': secret_networks(work)}}
    first = run_hosts(work, hosts)
    assert first.rc == 0, first.out[-3000:]
    again = run_hosts(work, hosts, '-vvv')
    assert again.rc == 0 and again.recap_of('alpine')['changed'] == 0, again.out[-3000:]
    modules = re.findall(r'AnsiballZ_(\w+)\.py', again.out)
    assert modules and set(modules) == {'config_files'}, sorted(set(modules))
    puts = re.findall(r'^<alpine> PUT .*AnsiballZ_config_files\.py', again.out, re.M)
    assert len(puts) == 1, puts
