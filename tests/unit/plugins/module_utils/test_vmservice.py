# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The laptop-side service: exit-code rules, crash bound, undo, suspend/resume escalation, scrubbing."""

import os
import signal

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils import bhyve
from ansible_collections.wifibox.bhyve.plugins.module_utils import constants as C
from ansible_collections.wifibox.bhyve.plugins.module_utils import vmservice
from ansible_collections.wifibox.bhyve.plugins.module_utils.vmservice import ServiceError


class Runner(object):
    def __init__(self, answers=None):
        self.answers = answers or {}
        self.calls = []

    def __call__(self, argv):
        key = tuple([os.path.basename(argv[0])] + list(argv[1:]))
        self.calls.append(key)
        return self.answers.get(key, (0, '', ''))


@pytest.fixture
def service(tmp_path, monkeypatch):
    monkeypatch.setattr(C, 'SUPERVISOR_PIDFILE', str(tmp_path / 'supervisor.pid'))
    monkeypatch.setattr(C, 'VMM_DEV_DIR', str(tmp_path / 'vmm'))
    real_sleep = vmservice.time.sleep
    monkeypatch.setattr(vmservice.time, 'sleep', lambda s: real_sleep(min(s, 0.01)))
    vm = bhyve.normalise(dict(passthru=['3/0/0'], crash_limit=3, crash_window=60, restart_delay=1, resume_wait=1))
    log = vmservice.Log(str(tmp_path / 'log'), 'debug')
    runner = Runner()
    svc = vmservice.Service(vm, vmservice.Host(runner, log), log, vmservice.State(str(tmp_path / 'state.json')))
    svc.runner = runner
    svc.logtext = lambda: open(str(tmp_path / 'log')).read()
    return svc


@pytest.mark.parametrize('code,result,words', [
    (0, 1, 'the guest rebooted: starting it again'),
    (1, 0, 'the guest powered off: supervision ends'),
    (2, 0, 'the guest halted: supervision ends'),
    (-signal.SIGTERM, 0, 'supervision ends'),
])
def test_exit_code_rules(service, code, result, words):
    assert service._decide(code, [], False) == result
    assert words in service.logtext()


def test_crash_restarts_then_the_crash_loop_ends_supervision(service):
    assert service._decide(4, ['vm_run error -1, errno 6'], False) == 1
    assert service._decide(3, [], False) == 1
    assert 'crash 2 of crash_limit=3' in service.logtext()
    assert service.state.read()['restarts'] == 2
    assert service._decide(4, ['vm_run error -1, errno 6'], False) == 0
    st = service.state.read()
    assert st['stopped_reason'].startswith('crash loop: 3 crashes within 60 s')
    assert 'ERROR crash loop' in service.logtext() and 'vm_run error' in st['stopped_reason']


def test_a_stop_request_wins_over_a_crash(service):
    service.state.update(stop_requested=True)
    assert service._decide(4, [], False) == 0


def test_after_exit_destroys_and_gives_the_card_back(service):
    service.state.update(drivers={'3/0/0': 'iwm0'})
    service._after_exit()
    assert service.runner.calls == [('bhyvectl', '--destroy', '--vm=wifibox'),
                                    ('devctl', 'clear', 'driver', '-f', 'pci3:0:0')]


def test_after_exit_leaves_a_card_that_ppt_held_before(service):
    service.state.update(drivers={'3/0/0': 'ppt0'})
    service._after_exit()
    assert service.runner.calls == [('bhyvectl', '--destroy', '--vm=wifibox')]


def test_failed_start_undoes_what_it_created(service, monkeypatch):
    service.runner.answers.update({('ifconfig', 'wifibox0'): (1, '', ''), ('ifconfig', 'tap0'): (1, '', ''),
                                   ('kldstat', '-q', '-m', 'vmm'): (1, '', '')})

    def fail(done):
        raise ServiceError('IOMMU off')
    monkeypatch.setattr(service, 'start_guest', lambda done: (service.load_vmm(done), fail(done)))
    monkeypatch.setattr(service, 'add_tap', lambda done: done.extend(['tap', 'addm']))
    with pytest.raises(ServiceError):
        service.start('netif')
    undo = service.runner.calls[-4:]
    assert undo == [('kldunload', 'vmm'), ('ifconfig', 'wifibox0', 'deletem', 'tap0'), ('ifconfig', 'tap0', 'destroy'),
                    ('ifconfig', 'wifibox0', 'destroy')]


def test_no_vmm_reload_while_other_vms_exist(service):
    os.makedirs(C.VMM_DEV_DIR)
    open(os.path.join(C.VMM_DEV_DIR, 'freebsd1'), 'w').close()
    with pytest.raises(ServiceError, match='other bhyve VMs exist .freebsd1.'):
        service.stop('vmm')


def test_resume_escalates_to_restart_vmm(service, monkeypatch):
    service.state.update(last_suspend={'was_running': True})
    service.vm['recovery'] = 'suspend_guest'
    done = []
    monkeypatch.setattr(service, '_recover', lambda method, escalation=False: done.append(method) or (
        'card gone' if method == 'suspend_guest' else None))
    monkeypatch.setattr(service, 'guest_back', lambda: None)
    assert service.resume()
    assert done == ['suspend_guest', 'restart_vmm']
    st = service.state.read()['last_resume']
    assert st['escalated_to'] == 'restart_vmm' and st['result'].startswith('guest back')
    assert 'escalating to restart_vmm' in service.logtext()


def test_resume_does_nothing_when_the_vm_was_stopped(service, monkeypatch):
    service.state.update(last_suspend={'was_running': False})
    monkeypatch.setattr(service, '_recover', lambda *a, **k: pytest.fail('no recovery expected'))
    assert service.resume()


def test_suspend_guest_stops_the_guest(service, monkeypatch):
    service.vm['recovery'] = 'suspend_guest'
    monkeypatch.setattr(service, 'running', lambda: True)
    stopped = []
    monkeypatch.setattr(service, 'stop_guest', lambda quiet=False: stopped.append(True))
    service.suspend()
    assert stopped and service.state.read()['last_suspend']['result'] == 'guest stopped'


def test_scrub_removes_secrets():
    text = ('network={\n\tssid="home"\n\tpsk="hunter22"\n\tpassword="x y"\n}\noption key \'s3cret\'\n'
            'sae_password=abc\nwpa: password=Another-Secret seen\n')
    out = vmservice.scrub(text)
    assert 'hunter22' not in out and 'x y' not in out and 's3cret' not in out and 'abc' not in out
    assert 'Another-Secret' not in out and 'seen' in out
    assert 'ssid="home"' in out


def test_rc_script_and_launcher():
    script = vmservice.rc_script_text()
    assert 'rcvar="wifibox_bhyve_enable"' in script and 'extra_commands="suspend resume"' in script
    assert 'pidfile="/var/run/wifibox-bhyve/supervisor.pid"' in script
    launcher = vmservice.launcher_text('/usr/local/bin/python3.11')
    assert launcher.startswith('#!/usr/local/bin/python3.11\n') and '/usr/local/libexec/wifibox-bhyve' in launcher


def test_command_usage_and_targets(service, monkeypatch):
    with pytest.raises(ServiceError, match='too many parameters'):
        vmservice._dispatch(service, 'start', ['guest', 'vmm'])
    with pytest.raises(ServiceError, match='unknown target'):
        vmservice._dispatch(service, 'stop', ['wifi'])
    with pytest.raises(ServiceError, match='not by hand'):
        vmservice._dispatch(service, '_run', [])


def test_stop_forces_power_off_after_stop_wait(service, monkeypatch):
    """A guest that ignores the ACPI power button gets bhyvectl --force-poweroff after stop_wait."""
    with open(C.SUPERVISOR_PIDFILE, 'w') as handle:
        handle.write('4242\n')
    service.state.update(bhyve_pid=4343)
    service.vm['stop_wait'] = 1
    alive = {4242: True, 4343: True}
    signals = []

    def kill(pid, sig):
        signals.append((pid, sig))

    def runner(argv):
        key = tuple([os.path.basename(argv[0])] + list(argv[1:]))
        service.runner.calls.append(key)
        if key == ('bhyvectl', '--force-poweroff', '--vm=wifibox'):
            alive[4343] = alive[4242] = False  # bhyve exits 1, the manager ends supervision
        return 0, '', ''
    monkeypatch.setattr(vmservice, '_kill', kill)
    monkeypatch.setattr(vmservice, 'pid_alive', lambda pid: alive.get(pid, False))
    service.host.runner = runner
    assert service.stop_guest()
    assert signals == [(4343, signal.SIGTERM)]
    assert ('bhyvectl', '--force-poweroff', '--vm=wifibox') in service.runner.calls
    assert 'did not power off within stop_wait=1 s' in service.logtext()


@pytest.mark.parametrize('method', ['restart_vmm', 'suspend_guest', 'suspend_vmm'])
def test_resume_never_waits_for_guest_readiness(service, monkeypatch, method):
    """rc.resume runs from devd(8), which handles no other event until it returns."""
    calls = []
    for name in ('check_no_other_vm', 'unload_vmm'):
        monkeypatch.setattr(service, name, lambda *a, **k: None)
    monkeypatch.setattr(service, 'stop_guest', lambda quiet=False: None)
    monkeypatch.setattr(service, 'load_vmm', lambda done: None)
    monkeypatch.setattr(service, 'start_guest', lambda done, wait_ready=True: calls.append(wait_ready))
    assert service._recover(method) is None
    assert calls == [False]


def test_start_guest_without_readiness_wait_does_not_probe(service, monkeypatch):
    for name in ('running',):
        monkeypatch.setattr(service, name, lambda: False)
    for name in ('load_vmm', 'add_tap'):
        monkeypatch.setattr(service, name, lambda done: None)
    monkeypatch.setattr(service, 'preflight', lambda: None)
    monkeypatch.setattr(service, '_wait_started', lambda began: True)
    monkeypatch.setattr(service, 'start_passthru', lambda: None)
    monkeypatch.setattr(service.host, 'vms', lambda: [])
    waited = []
    monkeypatch.setattr(service, 'wait_ready', waited.append)
    assert service.start_guest([], wait_ready=False)
    assert not waited
    assert service.start_guest([])
    assert len(waited) == 1
