# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet after playbooks/fleet.yml: three wifiboxes, two laptops refused and unchanged."""

import os

import pytest

GOOD = ('fleet1-t480', 'fleet3-e14', 'fleet5-x220')


def summary():
    with open(os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'fleet-summary.txt')) as handle:
        return handle.read()


def test_summary_has_every_laptop_and_the_reasons():
    text = summary()
    for name in GOOD:
        assert '"%s: ok"' % name in text or '"%s: changed"' % name in text, text
    assert '"fleet2-noiommu: failed: fleet2-noiommu: no IOMMU' in text, text
    assert '"fleet4-nocard: failed: fleet4-nocard: no Wi-Fi card' in text, text


def test_wifibox_runs_on_the_good_laptops(host):
    name = host.backend.get_hostname()
    if name not in GOOD:
        pytest.skip('refused laptop: see test_refused_laptops_are_unchanged')
    assert 'ppt0@' in host.run('pciconf -l').stdout
    assert host.run('service wifibox_bhyve status').rc == 0
    assert host.file('/dev/vmm/wifibox').exists
    loader = host.file('/boot/loader.conf').content_string
    assert ('hw.vmm.amdvi.enable="1"' in loader) == (name == 'fleet3-e14')


def test_refused_laptops_are_unchanged(host):
    name = host.backend.get_hostname()
    if name in GOOD:
        pytest.skip('configured laptop: see test_wifibox_runs_on_the_good_laptops')
    assert 'vmm_load' not in host.file('/boot/loader.conf').content_string
    assert 'wifibox' not in host.file('/etc/rc.conf').content_string
    assert not host.file('/usr/local/etc/wifibox-bhyve').exists
    assert host.run('kldstat -q -n vmm').rc != 0
    assert 'socat' not in host.run('pkg query -a %n').stdout.split()
