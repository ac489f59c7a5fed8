# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A converge of the wifibox_guest role at -vvv --diff over real SSH leaves no secret anywhere.

PSK, SAE, EAP and private-key passwords are set (some with quotes, '#', '$' and backslashes, so
they are written as derived PSKs or hex). Every form a secret can take (as typed, JSON-escaped,
hex, the derived PSK) is searched for in stdout, stderr and the diffs of a first converge and of a
second one that changes a passphrase, in the controller's temporary files, in every log file of
the laptop and in every world-readable file of the laptop's configuration, temporary and home
directories. Positive control: the same scanner finds the secrets in the laptop's mode-0600
files, so zero findings mean something.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import subprocess

import pytest

from scenarios import eap_nets

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
CONF_DIR = '/usr/local/etc/wifibox-bhyve'

SECRETS = {
    'psk_plain': 'VvvPlainPskSecret5',
    'psk_hard': 'Vvv"Psk#Secret$1\\',
    'sae_hard': 'Vvv-Sae"#$-Secret-2',
    'eap_hard': 'Vvv"Eap#Secret$3',
    'key': 'Vvv-Key-Secret-4',
    'psk_new': 'Vvv"New#Psk$Secret6',
}

SCAN = r'''
import os, stat, sys, json
needles = [n.encode() for n in json.loads(sys.argv[1])]
mode = sys.argv[2]
roots = sys.argv[3:]
hits = []
for top in roots:
    for base, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(base, d) not in ('/proc', '/sys', '/dev')]
        for name in files:
            path = os.path.join(base, name)
            try:
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode) or st.st_size > 20 * 1024 * 1024:
                    continue
                if mode == 'world' and not st.st_mode & 0o004:
                    continue
                with open(path, 'rb') as handle:
                    data = handle.read()
            except OSError:
                continue
            for needle in needles:
                if needle in data:
                    hits.append('%s (%o)' % (path, stat.S_IMODE(st.st_mode)))
                    break
print(json.dumps(sorted(set(hits))))
'''


def forms(ssids):
    """Every way a secret may be written: as typed, JSON-escaped, hex, the PSK derived for each SSID."""
    out = set()
    for secret in SECRETS.values():
        out.add(secret)
        out.add(json.dumps(secret)[1:-1])
        out.add(binascii.hexlify(secret.encode()).decode())
        for ssid in ssids:
            out.add(hashlib.pbkdf2_hmac('sha1', secret.encode(), ssid.encode(), 4096, 32).hex())
    return sorted(out)


def networks(work, psk_hard):
    eap = eap_nets(work)
    eap[0]['password'] = SECRETS['eap_hard']
    eap[2]['private_key_password'] = SECRETS['key']
    return [
        {'ssid': 'plain', 'security': 'wpa2_psk', 'psk': SECRETS['psk_plain']},
        {'ssid': 'hard', 'security': 'wpa2_psk', 'psk': psk_hard},
        {'ssid': 'sae', 'security': 'wpa3_sae', 'psk': SECRETS['sae_hard']},
        {'ssid': 'mixed', 'security': 'wpa2_wpa3', 'psk': SECRETS['sae_hard']},
        eap[0], eap[2],
    ]


def converge(laptop, work, nets, tag):
    play = os.path.join(work, 'play-%s.yml' % tag)
    with open(os.path.join(work, 'vars-%s.json' % tag), 'w', encoding='utf-8') as handle:
        json.dump({'wifibox_guest_networks': nets}, handle)
    with open(play, 'w', encoding='utf-8') as handle:
        handle.write('- name: Converge\n  hosts: %s\n  gather_facts: false\n  roles:\n'
                     '    - wifibox.bhyve.wifibox_guest\n' % laptop.name)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=os.path.join(work, 'ansible-local'), ANSIBLE_RETRY_FILES_ENABLED='0',
               PATH=VENV_BIN + os.pathsep + os.environ.get('PATH', ''))
    return subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '-i', laptop.inventory_path, play,
                           '-e', '@' + os.path.join(work, 'vars-%s.json' % tag), '-vvv', '--diff'],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def scan(laptop, needles, mode, *roots):
    proc = laptop.nsenter(['python3', '-c', SCAN, json.dumps(needles), mode] + list(roots))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_converge_at_vvv_leaves_no_secret(lab_laptop, tmp_path):
    work = str(tmp_path)
    nets = networks(work, SECRETS['psk_hard'])
    needles = forms([n['ssid'] for n in nets])
    first = converge(lab_laptop, work, nets, 'first')
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert '+\tpsk=********(secret ' in first.stdout  # the masked diff is there
    nets[1] = dict(nets[1], psk=SECRETS['psk_new'])
    second = converge(lab_laptop, work, nets, 'second')
    assert second.returncode == 0, second.stdout[-4000:]
    assert 'changed=1' in second.stdout
    assert '-\tpsk=********(secret ' in second.stdout and '+\tpsk=********(secret ' in second.stdout

    found = {}
    for name, run in (('first', first), ('second', second)):
        for stream in ('stdout', 'stderr'):
            text = getattr(run, stream)
            hits = [n for n in needles if n in text]
            if hits:
                found['%s %s' % (name, stream)] = hits
    local = []
    for base, _dirs, files in os.walk(os.path.join(work, 'ansible-local')):
        for fname in files:
            with open(os.path.join(base, fname), 'rb') as handle:
                data = handle.read()
            if any(n.encode() in data for n in needles):
                local.append(os.path.join(base, fname))
    if local:
        found['controller temporary files'] = local
    world = scan(lab_laptop, needles, 'world', '/usr/local/etc', '/etc', '/var', '/tmp', '/root', '/boot')
    if world:
        found['world-readable files on the laptop'] = world
    logs = scan(lab_laptop, needles, 'all', '/var/log')
    if logs:
        found['laptop logs'] = logs
    assert not found, found

    # Positive control: the scanner finds the secrets where they must be, in the 0600 files.
    private = scan(lab_laptop, needles, 'all', CONF_DIR)
    assert '%s/wpa_supplicant/wpa_supplicant.conf (600)' % CONF_DIR in private, private
    conf = lab_laptop.read_file(CONF_DIR + '/wpa_supplicant/wpa_supplicant.conf')
    assert SECRETS['psk_plain'] in conf  # quoted as typed
    assert hashlib.pbkdf2_hmac('sha1', SECRETS['psk_new'].encode(), b'hard', 4096, 32).hex() in conf  # derived
    assert SECRETS['eap_hard'].encode().hex() in conf and SECRETS['sae_hard'].encode().hex() in conf  # hex
    # ... and a world-readable copy would have been found.
    lab_laptop.sh('cp %s/wpa_supplicant/wpa_supplicant.conf /tmp/leak.conf && chmod 644 /tmp/leak.conf' % CONF_DIR)
    assert scan(lab_laptop, needles, 'world', '/tmp') == ['/tmp/leak.conf (644)']
    lab_laptop.sh('rm -f /tmp/leak.conf')
