# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Access-point mode in the VM tier: real stations join the guest's hostapd (issue #14).

The laptop is made a wifibox host by playbooks/laptop.yml with wifibox_guest_role
access_point (as molecule access_point), its uplink em1 leading to a wired namespace this
module creates (a web server on 172.16.5.1). The far side of the air is stations
(api.set_stations): each runs wpa_supplicant on its own hwsim radio, leases from the
guest's udhcpd with busybox udhcpc and fetches the wired page through the guest's
MASQUERADE and the host's pf NAT. One VM boot by the playbook, one timed
`service wifibox_bhyve start`, then each security mode is a re-render of the guest files
and `wifibox-bhyve restart guest`.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from vmtier import PSK, playbook, record_time, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.vm]
PAGE = 'hello-from-the-wired-side'
WRONG = 'not the right passphrase'
WIRED = '172.16.5.1'
FETCH = 'http://%s:8080/page' % WIRED
USER_PF = 'ext_if = "em1"\nset skip on lo0\nscrub in all\npass out all keep state\nblock in on $ext_if\n'
AP_VARS = {'wifibox_guest_role': 'access_point', 'wifibox_guest_country': 'DE', 'wifibox_guest_ap_ssid': 'lab-ap',
           'wifibox_guest_ap_passphrase': PSK, 'wifibox_guest_ap_channel': 6, 'wifibox_host_ap_uplink': 'em1',
           'wifibox_host_vm_memory': 256}
RENDER = """- name: Render the guest's files again (another security mode)
  hosts: all
  gather_facts: false
  roles:
    - role: wifibox.bhyve.wifibox_guest
"""
LAPTOP = """- name: The whole laptop
  ansible.builtin.import_playbook: wifibox.bhyve.laptop
"""


def _sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False)


class Wired:
    """A namespace behind the laptop's uplink em1 with a web server (this module's own)."""

    def __init__(self, lp, work):
        self.ns = 'apw%d' % os.getpid()
        self.lp = lp
        _sh('ip', 'netns', 'add', self.ns)
        host_end = 'apw%de' % os.getpid()
        assert _sh('ip', 'link', 'add', host_end, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', self.ns).returncode == 0
        _sh('ip', 'link', 'set', host_end, 'netns', lp.netns)
        _sh('ip', '-n', lp.netns, 'link', 'set', host_end, 'name', 'em1')
        _sh('ip', '-n', lp.netns, 'addr', 'add', '172.16.5.2/24', 'dev', 'em1')
        _sh('ip', '-n', lp.netns, 'link', 'set', 'em1', 'up')
        _sh('ip', '-n', self.ns, 'addr', 'add', WIRED + '/24', 'dev', 'eth0')
        _sh('ip', '-n', self.ns, 'link', 'set', 'eth0', 'up')
        _sh('ip', '-n', self.ns, 'link', 'set', 'lo', 'up')
        www = os.path.join(work, 'www')
        os.makedirs(www, exist_ok=True)
        with open(os.path.join(www, 'page'), 'w', encoding='utf-8') as handle:
            handle.write(PAGE + '\n')
        self.log_path = os.path.join(work, 'wired.log')
        self.log = open(self.log_path, 'w', encoding='utf-8')
        self.server = subprocess.Popen(['ip', 'netns', 'exec', self.ns, 'python3', '-m', 'http.server', '8080',
                                        '--bind', WIRED, '--directory', www], stdout=self.log, stderr=self.log)
        assert wait_for(lambda: _sh('ip', 'netns', 'exec', self.ns, 'curl', '-s', 'http://%s:8080/page' % WIRED)
                        .stdout.strip() == PAGE, timeout=20)

    def requests(self):
        with open(self.log_path, encoding='utf-8', errors='replace') as handle:
            return handle.read()

    def close(self):
        self.server.terminate()
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
        self.log.close()
        _sh('ip', 'netns', 'delete', self.ns)


def _stations(ssid, security, psk=PSK, wrong=False, wpa2_only=False):
    stations = [{'name': 'sta1', 'ssid': ssid, 'security': security, 'psk': psk, 'freq': 2437},
                {'name': 'sta2', 'ssid': ssid, 'security': 'wpa2_wpa3_as_wpa2' if wpa2_only else security,
                 'psk': psk, 'freq': 2437}]
    if wrong:
        stations.append({'name': 'sta3', 'ssid': ssid, 'security': security, 'psk': WRONG, 'freq': 2437})
    return stations


def _diagnostics(lp):
    from wifibox_lab import api
    out = []
    files = api.guest_files(lp)
    try:
        with open(files['serial'], encoding='utf-8', errors='replace') as handle:
            out.append('== serial\n' + handle.read()[-3000:])
    except OSError:
        pass
    try:
        with open(files['log'], encoding='utf-8', errors='replace') as handle:
            out.append('== qemu runner\n' + handle.read()[-3000:])
    except OSError:
        pass
    for path in ('/var/log/wifibox-bhyve.log', '/var/run/wifibox-bhyve/appliance/log/messages'):
        out.append('== %s\n%s' % (path, lp.sh('tail -n 40 %s' % path).stdout))
    log = os.path.join(lp.dir, 'air', 'log')
    for name in sorted(os.listdir(log)) if os.path.isdir(log) else []:
        with open(os.path.join(log, name), encoding='utf-8', errors='replace') as handle:
            out.append('== air %s\n%s' % (name, handle.read()[-1500:]))
    return '\n'.join(out)


def _why(res, lp):
    """The stations' results and the diagnostics, as one str (pytest shows a str message whole)."""
    return '%r\n%s' % (res, _diagnostics(lp))


def _results(lp, names, timeout=180):
    """Wait until every station has its outcome (lease or none, and peers after a lease)."""
    from wifibox_lab import api

    def done():
        res = {n: api.station_result(lp, n) for n in names}
        if all('lease' in r and (r['lease'] is None or r['peers'] is not None) for r in res.values()):
            return res
        return None
    res = wait_for(done, timeout=timeout, step=1)
    assert res, _diagnostics(lp)
    return res


@pytest.fixture(scope='module')
def ap(module_laptop, guest_image, tmp_path_factory):
    from wifibox_lab import api
    lp = module_laptop
    api.use_guest_vm(lp)
    wired = Wired(lp, str(tmp_path_factory.mktemp('wired')))
    try:
        lp.write_file('/etc/pf.conf', USER_PF)
        api.set_stations(lp, _stations('lab-ap', 'wpa2_psk', wrong=True), fetch=FETCH)
        start = time.monotonic()
        playbook(lp, LAPTOP, dict(AP_VARS, wifibox_guest_ap_security='wpa2_psk',
                                  wifibox_guest_ap_client_isolation=True))
        record_time('access_point_prepare', time.monotonic() - start)
        yield lp, wired
    finally:
        lp.ssh('service', 'wifibox_bhyve', 'stop')
        wired.close()


def test_the_vm_passes_the_hostapd_share(ap):
    lp, _wired = ap
    argv = lp.read_file('/var/log/wifibox-bhyve.log')
    assert 'app_config=/usr/local/etc/wifibox-bhyve/hostapd' in argv, argv[-3000:]
    assert 'guest_role="access_point"' in lp.read_file('/usr/local/etc/wifibox-bhyve/vm.conf')


def test_wpa2_psk_stations_lease_and_fetch_isolated_and_a_wrong_passphrase_is_refused(ap):
    from wifibox_lab import api
    lp, wired = ap
    assert lp.ssh('service', 'wifibox_bhyve', 'stop').returncode == 0
    api.set_stations(lp, _stations('lab-ap', 'wpa2_psk', wrong=True), fetch=FETCH)
    start = time.monotonic()
    assert lp.ssh('service', 'wifibox_bhyve', 'start').returncode == 0
    first = wait_for(lambda: any((api.station_result(lp, n).get('lease') or {}).get('ip')
                                 for n in ('sta1', 'sta2')), timeout=180, step=0.5)
    took = time.monotonic() - start
    assert first, _diagnostics(lp)
    # the stop destroyed wifibox0; at boot netif gives it its address after the service made it
    assert lp.ssh('service', 'netif', 'start', 'wifibox0').returncode == 0
    print('access point: service wifibox_bhyve start -> first station lease: %.1f s' % took)
    record_time('access_point_start_to_station_lease', took, security='wpa2_psk')
    res = _results(lp, ['sta1', 'sta2', 'sta3'])
    for name in ('sta1', 'sta2'):
        lease = res[name]['lease']
        assert lease and re.match(r'^192\.168\.0\.\d+$', lease['ip']) and lease['router'] == '192.168.0.1', \
            _why(res, lp)
        assert (res[name]['page'] or '').strip() == PAGE, _why(res, lp)
    # through the guest's MASQUERADE and the host's pf NAT: the wired side sees the laptop's em1
    assert re.search(r'^172\.16\.5\.2 - - .*"GET /page', wired.requests(), re.M), wired.requests()
    # client isolation: the two stations cannot reach each other
    assert res['sta1']['peers'] == {res['sta2']['lease']['ip']: 'fail'}, res
    # the wrong passphrase: no association, no lease
    assert res['sta3']['lease'] is None, res
    wpa = open(os.path.join(lp.dir, 'air', 'log', 'sta3.wpa.log'), encoding='utf-8', errors='replace').read()
    assert 'CTRL-EVENT-CONNECTED' not in wpa, wpa[-2000:]
    assert re.search(r'WRONG_KEY|4-Way Handshake failed|pre-shared key may be incorrect', wpa), wpa[-2000:]


@pytest.mark.parametrize('security,isolation,wpa2_only', [
    ('wpa3_sae', True, False),
    ('wpa2_wpa3', False, True),
    ('open', True, False),
])
def test_security_mode_by_rerender_and_guest_restart(ap, security, isolation, wpa2_only):
    from wifibox_lab import api
    lp, _wired = ap
    ssid = 'lab-ap-' + security.replace('_', '')
    variables = dict(AP_VARS, wifibox_guest_ap_security=security, wifibox_guest_ap_ssid=ssid,
                     wifibox_guest_ap_client_isolation=isolation)
    if security == 'open':
        del variables['wifibox_guest_ap_passphrase']  # the role refuses a passphrase without a PSK security
    playbook(lp, RENDER, variables)
    api.set_stations(lp, _stations(ssid, security, wpa2_only=wpa2_only), fetch=FETCH)
    start = time.monotonic()
    r = lp.ssh('/usr/local/sbin/wifibox-bhyve', 'restart', 'guest')
    assert r.returncode == 0, r.stdout + r.stderr
    res = _results(lp, ['sta1', 'sta2'])
    record_time('access_point_restart_to_results', time.monotonic() - start, security=security)
    for name in ('sta1', 'sta2'):
        lease = res[name]['lease']
        assert lease and lease['ip'].startswith('192.168.0.'), _why(res, lp)
        assert (res[name]['page'] or '').strip() == PAGE, _why(res, lp)
    # isolation on: the stations cannot reach each other; off: they can (so the check can fail)
    assert res['sta1']['peers'] == {res['sta2']['lease']['ip']: 'fail' if isolation else 'ok'}, \
        _why(res, lp)
