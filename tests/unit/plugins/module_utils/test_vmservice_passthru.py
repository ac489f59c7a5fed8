# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The service's host side of the socket pass-through and its guest-readiness probe."""

import os
import socket
import subprocess

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils import bhyve
from ansible_collections.wifibox.bhyve.plugins.module_utils import constants as C
from ansible_collections.wifibox.bhyve.plugins.module_utils import vmservice
from ansible_collections.wifibox.bhyve.plugins.module_utils.vmservice import ServiceError

# what the wifibox_guest role renders (templates/wifibox_alpine/uds_passthru.conf.j2)
CONF = """# Ansible managed
# Sourced as sh by the host's wifibox and by the guest's uds_passthru service.
network=10.0.0.1:255.255.255.0
sockets="path={run}/wpa/wlan0,user=root,group=0,mode=770,port=1200 path={run}/wpa/p2p-dev-wlan0,user=root,group=wheel,mode=660,port=1201"
"""
BRIDGE_WITH_ADDRESS = ('wifibox0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\n'
                       '\tinet 10.0.0.2 netmask 0xffffff00 broadcast 10.0.0.255\n')
BRIDGE_WITHOUT_ADDRESS = 'wifibox0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\n'
ROUTE_VIA_BRIDGE = ('   route to: default\ndestination: default\n       mask: default\n    gateway: 10.0.0.1\n'
                    '        fib: 0\n  interface: wifibox0\n      flags: <UP,GATEWAY,DONE,STATIC>\n')


class Runner(object):
    def __init__(self, answers=None):
        self.answers = answers or {}
        self.calls = []
        self.default = (1, '', 'not answered')

    def __call__(self, argv):
        key = tuple([os.path.basename(argv[0])] + list(argv[1:]))
        self.calls.append(key)
        return self.answers.get(key, self.default)


@pytest.fixture
def service(tmp_path, monkeypatch):
    run = tmp_path / 'run'
    run.mkdir()
    conf = tmp_path / 'conf'
    (conf / C.APPLIANCE_DIR).mkdir(parents=True)
    socat = tmp_path / 'socat'
    socat.write_text('#!/bin/sh\n')
    socat.chmod(0o755)
    monkeypatch.setattr(C, 'WIFIBOX_BHYVE_CONF_DIR', str(conf))
    monkeypatch.setattr(C, 'UDS_PASSTHRU_PIDFILE', str(run / 'uds-passthru.%d.pid'))
    monkeypatch.setattr(C, 'SOCAT', str(socat))
    real_sleep = vmservice.time.sleep
    monkeypatch.setattr(vmservice.time, 'sleep', lambda s: real_sleep(min(s, 0.01)))
    vm = bhyve.normalise(dict(passthru=['3/0/0'], ready_wait=1))
    log = vmservice.Log(str(tmp_path / 'log'), 'debug')
    runner = Runner()
    svc = vmservice.Service(vm, vmservice.Host(runner, log), log, vmservice.State(str(tmp_path / 'state.json')))
    svc.runner = runner
    svc.tmp = tmp_path
    svc.conf_path = conf / C.APPLIANCE_DIR / C.UDS_PASSTHRU_CONF
    svc.logtext = lambda: open(str(tmp_path / 'log')).read()
    return svc


def _write_conf(service, text=None):
    service.conf_path.write_text((CONF if text is None else text).format(run=service.tmp))


def test_parse_uds_conf_reads_what_the_role_renders():
    conf = vmservice.parse_uds_conf(CONF.format(run='/var/run'))
    assert conf['ip'] == '10.0.0.1' and conf['netmask'] == '255.255.255.0'
    assert conf['sockets'] == [
        {'path': '/var/run/wpa/wlan0', 'user': 'root', 'group': '0', 'mode': '770', 'port': 1200},
        {'path': '/var/run/wpa/p2p-dev-wlan0', 'user': 'root', 'group': 'wheel', 'mode': '660', 'port': 1201}]


def test_parse_uds_conf_defaults_and_an_empty_network():
    conf = vmservice.parse_uds_conf("network=\nsockets='path=/var/run/hostapd/wlan0,port=1200'\n")
    assert conf['ip'] is None
    assert conf['sockets'] == [{'path': '/var/run/hostapd/wlan0', 'user': 'root', 'group': '0', 'mode': '770',
                                'port': 1200}]


@pytest.mark.parametrize('text,words', [
    ('network=10.0.0:255.255.255.0\n', 'network='),
    ('sockets="path=/x,port=1200,owner=me"\n', "'owner=me'"),
    ('sockets="path=relative,port=1200"\n', 'absolute path='),
    ('sockets="path=/x,port=70000"\n', 'port= 1..65535'),
    ('sockets="path=/x,port=1200,mode=rw"\n', 'octal mode='),
])
def test_parse_uds_conf_names_the_bad_line(text, words):
    with pytest.raises(ServiceError) as err:
        vmservice.parse_uds_conf(text, 'uds_passthru.conf')
    assert 'uds_passthru.conf line 1' in err.value.msg and words in err.value.msg


def test_parse_route_get():
    assert vmservice.parse_route_get(ROUTE_VIA_BRIDGE) == {'gateway': '10.0.0.1', 'interface': 'wifibox0'}


def test_no_conf_no_forwarders(service):
    assert service.start_passthru() == []
    assert service.runner.calls == []
    assert service.passthru_status() == []


def test_one_supervised_socat_per_socket(service):
    _write_conf(service)
    service.runner.default = (0, '', '')
    assert service.start_passthru() == [1200, 1201]
    run = service.tmp
    assert service.runner.calls == [
        ('daemon', '-r', '-P', str(run / 'run' / 'uds-passthru.1200.pid'), '-t', 'wifibox-uds-passthru', C.SOCAT,
         'UNIX-RECVFROM:%s/wpa/wlan0,reuseaddr,fork,unlink-early,user=root,group=0,mode=770' % run,
         'TCP4:10.0.0.1:1200'),
        ('daemon', '-r', '-P', str(run / 'run' / 'uds-passthru.1201.pid'), '-t', 'wifibox-uds-passthru', C.SOCAT,
         'UNIX-RECVFROM:%s/wpa/p2p-dev-wlan0,reuseaddr,fork,unlink-early,user=root,group=wheel,mode=660' % run,
         'TCP4:10.0.0.1:1201')]
    assert os.path.isdir(str(run / 'wpa'))  # the socket directory is made
    assert 'socket pass-through: %s/wpa/wlan0 -> 10.0.0.1:1200' % run in service.logtext()


def test_socat_missing_is_one_warning_and_nothing_started(service, monkeypatch):
    _write_conf(service)
    os.unlink(C.SOCAT)
    monkeypatch.setenv('PATH', str(service.tmp / 'empty'))
    assert service.start_passthru() == []
    assert service.runner.calls == []
    assert service.logtext().count('WARN') == 1
    assert 'socket pass-through skipped: socat is not installed (pkg install socat)' in service.logtext()


def test_the_guest_ip_from_the_default_route_via_the_bridge(service):
    _write_conf(service, CONF.replace('network=10.0.0.1:255.255.255.0', 'network='))
    service.runner.answers[('route', '-n', 'get', 'default')] = (0, ROUTE_VIA_BRIDGE, '')
    assert service.guest_ip(service.uds_conf()) == '10.0.0.1'
    service.runner.answers[('route', '-n', 'get', 'default')] = (0, ROUTE_VIA_BRIDGE.replace('wifibox0', 'em0'), '')
    assert service.guest_ip(service.uds_conf()) is None
    assert service.start_passthru() == []
    assert 'no guest IP' in service.logtext()


def test_forwarders_already_running_are_not_started_twice(service):
    _write_conf(service)
    with open(C.UDS_PASSTHRU_PIDFILE % 1200, 'w') as handle:
        handle.write('%d\n' % os.getpid())
    service.runner.default = (0, '', '')
    assert service.start_passthru() == [1201]
    assert 'already runs (pid %d)' % os.getpid() in service.logtext()


def test_stop_ends_the_forwarders_and_status_lists_them(service):
    _write_conf(service)
    child = subprocess.Popen(['sleep', '30'])
    try:
        with open(C.UDS_PASSTHRU_PIDFILE % 1201, 'w') as handle:
            handle.write('%d\n' % child.pid)
        status = service.passthru_status()
        assert [(s['port'], s['running'], s['pid']) for s in status] == [(1200, False, None), (1201, True, child.pid)]
        assert service.stop_passthru() == [1201]
        assert child.wait(5) is not None
        assert not os.path.exists(C.UDS_PASSTHRU_PIDFILE % 1201)
        assert service.passthru_status()[1]['running'] is False
    finally:
        if child.poll() is None:
            child.kill()


def test_stop_guest_stops_the_forwarders_first(service, monkeypatch):
    order = []
    monkeypatch.setattr(service, 'stop_passthru', lambda: order.append('passthru'))
    monkeypatch.setattr(service, 'supervisor_pid', lambda: order.append('supervisor'))
    monkeypatch.setattr(service, 'bhyve_pid', lambda: None)
    monkeypatch.setattr(service.host, 'vms', lambda: [])
    service.stop_guest(quiet=True)
    assert order[:2] == ['passthru', 'supervisor']


def test_readiness_is_not_asked_without_an_address_on_the_bridge(service):
    _write_conf(service)
    service.runner.answers[('ifconfig', 'wifibox0')] = (0, BRIDGE_WITHOUT_ADDRESS, '')
    guest = service.wait_ready(0)
    assert guest['answering'] is None and guest['detail'] == 'wifibox0 has no IPv4 address yet'
    assert service.state.read()['guest']['answering'] is None


def test_readiness_without_any_guest_address(service):
    guest = service.guest_answers()
    assert guest['answering'] is None and 'guest address unknown' in guest['detail']


def test_a_guest_that_does_not_answer_is_named_after_ready_wait(service, monkeypatch):
    _write_conf(service)
    service.runner.answers[('ifconfig', 'wifibox0')] = (0, BRIDGE_WITH_ADDRESS, '')
    probes = []
    monkeypatch.setattr(vmservice, 'tcp_probe', lambda ip, port: probes.append((ip, port)) or (
        False, 'no answer from %s:%d within 1 s' % (ip, port)))
    guest = service.wait_ready(0)
    assert guest['answering'] is False
    assert guest['detail'] == ('bhyve running, guest not answering on wifibox0 after 1 s '
                               '(no answer from 10.0.0.1:1200 within 1 s)')
    assert len(probes) > 1 and set(probes) == {('10.0.0.1', 1200)}
    assert 'WARN  bhyve running, guest not answering' in service.logtext()


def test_a_guest_answering_ends_the_wait_at_once(service, monkeypatch):
    _write_conf(service)
    service.runner.answers[('ifconfig', 'wifibox0')] = (0, BRIDGE_WITH_ADDRESS, '')
    answers = iter([(False, 'no answer'), (True, 'refused on 10.0.0.1:1200 (the guest answered)')])
    monkeypatch.setattr(vmservice, 'tcp_probe', lambda ip, port: next(answers))
    guest = service.wait_ready(0)
    assert guest == {'answering': True, 'ip': '10.0.0.1', 'detail': 'refused on 10.0.0.1:1200 (the guest answered)'}


def test_tcp_probe_accepted_refused_and_silent():
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        assert vmservice.tcp_probe('127.0.0.1', port) == (True, 'accepted on 127.0.0.1:%d' % port)
    finally:
        listener.close()
    answered, detail = vmservice.tcp_probe('127.0.0.1', port)
    assert answered and 'refused' in detail


def test_ready_wait_is_a_vm_setting():
    assert bhyve.DEFAULTS['ready_wait'] == 60
    assert bhyve.normalise(dict(passthru=['3/0/0'], ready_wait=0))['ready_wait'] == 0
    with pytest.raises(bhyve.VMConfigError):
        bhyve.normalise(dict(passthru=['3/0/0'], ready_wait=601))
