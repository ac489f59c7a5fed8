# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every bad input of bad_inputs.py is refused by the role, naming the variable, before any file is written."""

from __future__ import annotations

import os

import pytest

from bad_inputs import CASES, eap
from conftest import run_hosts
from test_guest_behaviour import _host_block

pytestmark = pytest.mark.lab


def _named_by_argument_spec(block, message):
    """Wrong types are refused earlier by the role's argument spec, whose message names the variable its way."""
    top = message.split('[')[0].split('.')[0].split(':')[0]
    return 'Validation of arguments failed' in block and top in block


def test_bad_inputs_are_refused_before_any_file(tmp_path):
    work = str(tmp_path)
    odd = os.path.join(work, 'ca cert;x.pem')
    with open(odd, 'w', encoding='utf-8') as handle:
        handle.write('ca\n')
    cases = list(CASES) + [
        ('eap_cert_name', {'wifibox_guest_networks': [eap(ca_cert=odd)]}, 'wifibox_guest_networks[0].ca_cert'),
    ]
    hosts = {name: variables for name, variables, _msg in cases}
    # Positive control: the same run renders a valid configuration for a good host.
    hosts['good'] = {'wifibox_guest_lan_interface': 'lan0', 'wifibox_guest_wlan_interface': 'wlp0s6'}
    run = run_hosts(work, hosts)
    assert run.recap_of('good')['failed'] == 0, _host_block(run.out, 'good')
    assert os.path.isfile(os.path.join(work, 'good', 'appliance', 'iptables'))
    problems = []
    for name, _variables, message in cases:
        block = _host_block(run.out, name)
        if run.recap_of(name)['failed'] != 1:
            problems.append('%s: not refused' % name)
        elif message not in block and not _named_by_argument_spec(block, message):
            problems.append('%s: %r not in the error:\n%s' % (name, message, block[:600]))
        if os.path.exists(os.path.join(work, name)):
            problems.append('%s: files were written' % name)
    assert not problems, '\n'.join(problems)
    for secret in ('correct horse\n}', 'pw\tsecret', 'pw-secret-1'):
        assert secret not in run.out
    assert len(cases) >= 50
