# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading net/wifibox (the original) for migration: bhyve.conf, wpa_supplicant.conf, rc.d, devd.

The bad-input table of the migration is here: every row is a file the migration must refuse,
with the file and line named, because it cannot be carried over exactly.
"""

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils import netwifibox as W

SAMPLE_BHYVE = 'cpus=1\nmemory=128M\npassthru=\nconsole=no\npriority=50\nstop_wait_max=30\n'
USER_BHYVE = '# edited\ncpus=2\nmemory="256M"\npassthru="3/0/0"\nconsole=yes\npriority=50\nstop_wait_max=30\n'

USER_WPA = '''ctrl_interface=/var/run/wpa_supplicant
ctrl_interface_group=0
update_config=1
country=DE

network={
    ssid="home net"
    psk="correct horse battery"
    priority=5
}

network={
    ssid=636166c3a9
    key_mgmt=SAE
    sae_password="sae-secret-1"
    ieee80211w=2
}

network={
    ssid="hidden"
    scan_ssid=1
    key_mgmt=NONE
}

network={
    ssid="both"
    key_mgmt=WPA-PSK SAE
    psk="transition1"
    freq_list=2412 5180
}

network={
    ssid="corp"
    key_mgmt=WPA-EAP
    eap=PEAP
    identity="alice"
    password="eap-secret"
    phase2="auth=MSCHAPV2"
}

network={
    ssid="raw"
    psk=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
}
'''


def test_bhyve_conf_carried_over():
    settings, problems = W.read_bhyve_conf(USER_BHYVE)
    assert problems == []
    assert settings == dict(cpus=2, memory=256, passthru=['3/0/0'], console=True, priority=50, stop_wait_max=30)


def test_sample_bhyve_conf_needs_passthru():
    _settings, problems = W.read_bhyve_conf(SAMPLE_BHYVE)
    assert [(p[1], 'passthru' in p[2]) for p in problems] == [(3, True)]


@pytest.mark.parametrize('value, mib', [('128M', 128), ('1G', 1024), ('262144K', 256), ('1', None), ('12X', None),
                                        ('0M', None)])
def test_memory(value, mib):
    assert W.memory_mib(value) == mib


def test_networks_carried_over():
    result, problems = W.read_wpa_supplicant_conf(USER_WPA)
    assert problems == []
    assert result['country'] == 'DE'
    assert result['networks'] == [
        dict(ssid='home net', security='wpa2_psk', psk='correct horse battery', priority=5),
        dict(ssid='café', security='wpa3_sae', psk='sae-secret-1'),
        dict(ssid='hidden', security='open', hidden=True),
        dict(ssid='both', security='wpa2_wpa3', psk='transition1', frequencies=[2412, 5180]),
        dict(ssid='corp', security='wpa2_eap', eap='peap', identity='alice', password='eap-secret',
             phase2='auth=MSCHAPV2'),
        dict(ssid='raw', security='wpa2_psk', psk='0123456789abcdef' * 4),
    ]


def test_refusals_never_show_secrets():
    text = 'network={\n\tssid="x"\n\tpsk="short"\n}\nnetwork={\n\tssid="y"\n\tpsk="secret-value"\n\twep_key0="s3cr3t"\n}\n'
    _result, problems = W.read_wpa_supplicant_conf(text)
    assert len(problems) == 2
    assert not any('short' in p[2] or 's3cr3t' in p[2] or 'secret-value' in p[2] for p in problems)


@pytest.mark.parametrize('resume, method', [
    ('resume_cmd="/usr/local/sbin/wifibox restart vmm"', 'restart_vmm'),
    ('resume_cmd="/usr/local/sbin/wifibox start guest"', 'suspend_guest'),
    ('resume_cmd="/usr/local/sbin/wifibox start vmm"', 'suspend_vmm'),
    ('resume_cmd="true"', 'none'),
])
def test_recovery_method(resume, method):
    assert W.recovery_method('#!/bin/sh\nname=wifibox\n%s\n' % resume) == method


def test_boot_generation():
    assert W.boot_method('bhyve -l bootrom,/x.fd', ['esp.img', 'root.img']) == 'uefi'
    assert W.boot_method('grub-bhyve -S -M', ['disk.img']) == 'grub'
    assert W.boot_method(None, ['disk.img', 'grub.cfg', 'vmlinuz']) == 'grub'


def test_devd_references():
    shim = 'notify 11 {\n\tmatch "system" "ACPI";\n\taction "/usr/sbin/service wifibox suspend";\n};\n'
    assert W.devd_references(shim) == [3]
    # our own service and commented lines are not the original
    assert W.devd_references('action "service wifibox_bhyve resume";\n# service wifibox stop\n'
                             'action "/usr/local/sbin/wifibox-bhyve start";\n') == []


def test_rc_conf():
    assert W.read_rc_conf('wifibox_enable="YES"\nwifibox_env="VMM_KO=/boot/k/vmm.ko"\n') == \
        ('YES', 'VMM_KO=/boot/k/vmm.ko')
    assert W.read_rc_conf('hostname="x"\n') == (None, None)


# (id, reader, text, line the refusal names, words of its reason)
BAD = [
    ('bhyve-garbled', 'bhyve', 'cpus=1\nmemory="128M\n', 2, 'cannot read this line'),
    ('bhyve-custom-argument', 'bhyve', USER_BHYVE + 'bhyve_args="-s 7,virtio-rnd"\n', 8, 'bhyve_args'),
    ('bhyve-script-code', 'bhyve', USER_BHYVE + 'if true; then cpus=2; fi\n', 8, 'cannot read this line'),
    ('bhyve-expansion', 'bhyve', USER_BHYVE + 'memory="${MEM}"\n', 8, 'shell expansion'),
    ('bhyve-two-devices', 'bhyve', 'passthru="3/0/0 0/20/0"\n', 1, 'passes 2 devices'),
    ('bhyve-passthru-selector', 'bhyve', 'passthru="pci0:3:0:0"\n', 1, 'bus/slot/function'),
    ('bhyve-cpus', 'bhyve', 'passthru=3/0/0\ncpus=0\n', 2, 'cpus'),
    ('bhyve-memory', 'bhyve', 'passthru=3/0/0\nmemory=lots\n', 2, 'memory'),
    ('bhyve-console', 'bhyve', 'passthru=3/0/0\nconsole=maybe\n', 2, 'console'),
    ('bhyve-priority', 'bhyve', 'passthru=3/0/0\npriority=10\n', 2, 'priority=10'),
    ('wpa-unknown-option', 'wpa', 'network={\n\tssid="a"\n\tpsk="12345678"\n\tid_str="home"\n}\n', 4, 'id_str'),
    ('wpa-wep', 'wpa', 'network={\n\tssid="a"\n\tkey_mgmt=NONE\n\twep_key0="abcde"\n}\n', 4, 'wep_key0'),
    ('wpa-eap-tls', 'wpa', 'network={\n\tssid="a"\n\tkey_mgmt=WPA-EAP\n\teap=TLS\n\tidentity="x"\n}\n', 4, 'EAP method'),
    ('wpa-ca-cert', 'wpa', 'network={\n\tssid="a"\n\tkey_mgmt=WPA-EAP\n\teap=PEAP\n\tca_cert="/etc/wpa_supplicant/ca.pem"\n}\n',
     5, 'ca_cert'),
    ('wpa-wpa1', 'wpa', 'network={\n\tssid="a"\n\tpsk="12345678"\n\tproto=WPA\n}\n', 4, 'WPA1'),
    ('wpa-key-mgmt', 'wpa', 'network={\n\tssid="a"\n\tkey_mgmt=FT-PSK\n\tpsk="12345678"\n}\n', 3, 'key_mgmt=FT-PSK'),
    ('wpa-no-ssid', 'wpa', 'network={\n\tpsk="12345678"\n}\n', 1, 'no readable ssid'),
    ('wpa-no-passphrase', 'wpa', 'network={\n\tssid="a"\n\tkey_mgmt=WPA-PSK\n}\n', 1, 'no passphrase'),
    ('wpa-unquoted-psk', 'wpa', 'network={\n\tssid="a"\n\tpsk=plaintext\n}\n', 3, 'no passphrase'),
    ('wpa-short-psk', 'wpa', 'network={\n\tssid="a"\n\tpsk="short"\n}\n', 3, '8 to 63'),
    ('wpa-unclosed', 'wpa', 'network={\n\tssid="a"\n\tpsk="12345678"\n', 1, 'not closed'),
    ('wpa-garbled-line', 'wpa', 'network={\n\tssid="a"\n\tgarbage\n}\n', 3, 'not a name=value line'),
    ('wpa-unknown-global', 'wpa', 'p2p_disabled=1\n', 1, 'p2p_disabled'),
]


@pytest.mark.parametrize('reader, text, line, words', [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_bad_input_refused_with_file_and_line(reader, text, line, words):
    if reader == 'bhyve':
        _result, problems = W.read_bhyve_conf(text)
        path = W.BHYVE_CONF
    else:
        _result, problems = W.read_wpa_supplicant_conf(text)
        path = W.WPA_SUPPLICANT_CONF
    assert problems, 'not refused'
    assert any(p[0] == path and p[1] == line and words in p[2] for p in problems), problems
