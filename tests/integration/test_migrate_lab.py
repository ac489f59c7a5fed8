# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Migration from net/wifibox on a lab laptop: check mode changes nothing, and the passphrases
the migration reads never show, also not at -vvv (the molecule scenario `migrate` checks the
result of a real take-over).  Needs root."""

import os
import re
import stat
import subprocess
import threading
import time

import pytest

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook')
SECRETS = ('migrate-home-passphrase', 'migrate-sae-secret', 'migrate-eap-password')
BACKUP = '/var/backups/wifibox-before-wifibox-bhyve.tar'


class ModeWatch(threading.Thread):
    """Every mode the backup file has while the migration runs (polled every 5 ms in the laptop's
    /var upper layer on the host): a file created world-readable and chmod-ed in a later task
    shows up here for at least one SSH round trip."""

    def __init__(self, laptop):
        super().__init__(daemon=True)
        self.path = os.path.join(laptop.dir, 'fs', BACKUP.lstrip('/'))
        self.modes = set()
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                self.modes.add(stat.S_IMODE(os.stat(self.path).st_mode))
            except OSError:
                pass
            time.sleep(0.005)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join()


def install_net_wifibox(laptop):
    """The laptop as a net/wifibox user leaves it, the original running."""
    assert laptop.ssh('pkg', 'install', '-y', 'wifibox').returncode == 0
    laptop.write_file('/usr/local/etc/wifibox/bhyve.conf', 'cpus=1\nmemory=256M\npassthru="3/0/0"\nconsole=no\n')
    laptop.write_file('/usr/local/etc/wifibox/wpa_supplicant/wpa_supplicant.conf',
                      'ctrl_interface=/var/run/wpa_supplicant\nctrl_interface_group=0\nupdate_config=1\n'
                      'network={\n\tssid="home"\n\tpsk="%s"\n}\n'
                      'network={\n\tssid="cafe"\n\tkey_mgmt=SAE\n\tsae_password="%s"\n}\n'
                      'network={\n\tssid="corp"\n\tkey_mgmt=WPA-EAP\n\teap=PEAP\n\tidentity="alice"\n'
                      '\tpassword="%s"\n}\n' % SECRETS, mode=0o600)
    laptop.write_file('/usr/local/etc/devd/wifibox.conf', laptop.read_file('/usr/local/etc/devd/wifibox.conf.sample'))
    assert laptop.ssh('sysrc', 'wifibox_enable=YES', 'devmatch_blocklist=if_iwm').returncode == 0
    assert laptop.ssh('kldunload', 'if_iwm').returncode == 0
    assert laptop.ssh('service', 'wifibox', 'start').returncode == 0


def laptop_yml(laptop, *options):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([PLAYBOOK, '-i', laptop.inventory_path, 'wifibox.bhyve.laptop', *options], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_check_mode_changes_nothing_and_secrets_never_show(lab_laptops):
    laptop = lab_laptops('thinkpad-t480')
    install_net_wifibox(laptop)
    before = {path: laptop.read_file(path) for path in ('/etc/rc.conf', '/boot/loader.conf',
                                                        '/usr/local/etc/devd/wifibox.conf')}
    rc, output = laptop_yml(laptop, '--check', '--diff')
    assert rc == 0, output[-5000:]
    assert not any(secret in output for secret in SECRETS)
    assert {path: laptop.read_file(path) for path in before} == before
    assert laptop.ssh('service', 'wifibox', 'onestatus').returncode == 0

    with ModeWatch(laptop) as watch:
        rc, output = laptop_yml(laptop, '--diff', '-vvv')
    assert rc == 0, output[-5000:]
    # the backup (it holds the passphrases) was never readable by anyone but root, and is a tar of them
    assert watch.modes == {0o600}, sorted('%o' % mode for mode in watch.modes)
    listing = laptop.nsenter(['tar', '-tf', BACKUP]).stdout
    assert 'usr/local/etc/wifibox/wpa_supplicant/wpa_supplicant.conf' in listing, listing
    assert not any(secret in output for secret in SECRETS)
    summary = re.search(r'Wi-Fi networks: 3 from \S+wpa_supplicant.conf: home, cafe, corp', output)
    assert summary, output[-5000:]
    assert laptop.ssh('service', 'wifibox', 'onestatus').returncode == 1
    conf = laptop.read_file('/usr/local/etc/wifibox-bhyve/wpa_supplicant/wpa_supplicant.conf')
    assert all(secret in conf for secret in SECRETS)
