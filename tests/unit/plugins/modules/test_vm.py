# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wifibox.bhyve.vm and vm_info with run_command scripted and the laptop's paths in a tmp dir."""

import os

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils import constants as C
from ansible_collections.wifibox.bhyve.plugins.module_utils import vmservice
from ansible_collections.wifibox.bhyve.plugins.modules import vm, vm_info

PCI_IWM = 'iwm0@pci0:3:0:0:\tclass=0x028000 rev=0x78 hdr=0x00 vendor=0x8086 device=0x24fd subvendor=0x8086 subdevice=0x0010\n'
PCI_PPT = PCI_IWM.replace('iwm0', 'ppt0')


@pytest.fixture
def laptop(tmp_path, monkeypatch):
    """FreeBSD paths of the module and the service moved below tmp_path."""
    def p(path):
        return str(tmp_path / path.lstrip('/'))
    for name in ('VM_CONF', 'WIFIBOX_BHYVE_COMMAND', 'WIFIBOX_BHYVE_RC_SCRIPT', 'WIFIBOX_BHYVE_LIBEXEC',
                 'WIFIBOX_BHYVE_DEVD_CONF', 'WIFIBOX_BHYVE_CONF_DIR', 'WIFIBOX_BHYVE_RUN_DIR', 'SUPERVISOR_PIDFILE',
                 'SERVICE_STATE', 'WIFIBOX_BHYVE_LOG', 'GUEST_ROOT', 'UEFI_FIRMWARE', 'VMM_DEV_DIR', 'RC_CONF'):
        monkeypatch.setattr(C, name, p(getattr(C, name)))
    os.makedirs(C.GUEST_ROOT)
    os.makedirs(os.path.dirname(C.UEFI_FIRMWARE))
    os.makedirs(C.VMM_DEV_DIR)
    for path in (C.GUEST_ROOT + '/esp.img', C.GUEST_ROOT + '/root.img', C.UEFI_FIRMWARE):
        open(path, 'w').close()
    return tmp_path


def tree(root):
    out = {}
    for dirpath, _dirs, names in os.walk(str(root)):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as handle:
                out[path] = handle.read()
    return out


def osrel(host, value='1401000'):
    host.on('sysctl', '-n', 'kern.osreldate', out=value + '\n')


def stopped_host(host, enabled=None):
    osrel(host)
    host.on('sysrc', '-n', '-q', 'wifibox_bhyve_enable', rc=0 if enabled else 1, out=(enabled or '') + '\n')
    host.on('kldstat', '-q', '-m', 'vmm', rc=1)
    host.on('pciconf', '-l', 'pci0:3:0:0', out=PCI_IWM)
    host.on('ifconfig', '-a', out='')
    host.on('ifconfig', 'wifibox0', rc=1)
    host.on('ifconfig', 'tap0', rc=1)


def test_check_mode_validates_and_changes_nothing(host, run, laptop):
    stopped_host(host)
    before = tree(laptop)
    result = run(vm.main, dict(passthru=['3/0/0']), check_mode=True, diff=True)
    assert result['changed'] and result['actions'] == ['start netif'], result
    assert C.VM_CONF in result['files'] and C.WIFIBOX_BHYVE_RC_SCRIPT in result['files']
    assert 'passthru="3/0/0"' in result['diff'][0]['after'] and result['diff'][0]['before'] == ''
    assert result['diff'][1]['after'].startswith('running: yes')
    assert tree(laptop) == before
    assert not [c for c in host.calls if c[0] in ('kldload', 'daemon', 'devctl', 'sysrc') and c[1:2] != ('-n',)]
    assert result['argv'][:4] == ['/usr/bin/nice', '-n', '0', '/usr/sbin/bhyve']
    assert result['argv'][-1] == 'wifibox' and '6:0,passthru,3/0/0' in result['argv']


@pytest.mark.parametrize('args,words', [
    (dict(passthru=['3/0/0'], memory='128MB'), 'memory=.128MB. is not a memory size'),
    (dict(passthru=['3:0:0']), 'not bus/slot/function'),
    (dict(passthru=['3/0/0'], cpus=0), 'cpus=0 is out of range'),
    (dict(passthru=['3/0/0'], tap='em0'), 'tap=.em0. is not a tap'),
    (dict(), 'passthru is empty'),
])
def test_bad_input_fails_before_any_command(host, run, laptop, args, words):
    before = tree(laptop)
    result = run(vm.main, args)
    assert result.get('failed') and __import__('re').search(words, result['msg']), result
    assert host.calls == [] and tree(laptop) == before


def test_missing_image_names_the_file_and_changes_nothing(host, run, laptop):
    stopped_host(host)
    os.unlink(C.GUEST_ROOT + '/root.img')
    before = tree(laptop)
    result = run(vm.main, dict(passthru=['3/0/0']))
    assert result['failed'] and 'root.img is missing' in result['msg'] and 'wifibox-alpine' in result['msg']
    assert tree(laptop) == before and not result['changed']


def test_missing_firmware_says_which_package(host, run, laptop):
    stopped_host(host)
    os.unlink(C.UEFI_FIRMWARE)
    result = run(vm.main, dict(passthru=['3/0/0']))
    assert result['failed'] and 'BHYVE_UEFI.fd is missing' in result['msg'] and 'bhyve-firmware' in result['msg']


def test_card_not_present(host, run, laptop):
    osrel(host)
    host.on('sysrc', '-n', '-q', 'wifibox_bhyve_enable', rc=1)
    host.on('kldstat', '-q', '-m', 'vmm', rc=1)
    host.on('pciconf', '-l', 'pci0:4:0:0', rc=1, err='pciconf: No such device\n')
    host.on('ifconfig', 'wifibox0', rc=1)
    host.on('ifconfig', 'tap0', rc=1)
    result = run(vm.main, dict(passthru=['4/0/0']))
    assert result['failed'] and '4/0/0 (pci0:4:0:0) is not on the PCI bus' in result['msg']


def test_tap_of_another_bridge(host, run, laptop):
    stopped_host(host)
    bridge1 = ('bridge1: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\n'
               '\tmember: tap0 flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>\n'
               '\tgroups: bridge\n')
    host.answers[('ifconfig', '-a')] = [(0, bridge1, '')]
    result = run(vm.main, dict(passthru=['3/0/0']))
    assert result['failed'] and 'tap=tap0 is a member of bridge bridge1' in result['msg']


def test_kernel_checks_when_vmm_is_loaded(host, run, laptop):
    stopped_host(host)
    host.answers[('kldstat', '-q', '-m', 'vmm')] = [(0, '', '')]
    host.on('sysctl', '-n', 'hw.vmm.vmx.initialized', out='0\n')
    host.on('sysctl', '-n', 'hw.vmm.amdvi.enable', out='0\n')
    result = run(vm.main, dict(passthru=['3/0/0']))
    assert result['failed'] and 'hw.vmm.amdvi.enable="1"' in result['msg']


def test_too_many_cpus_for_the_host(host, run, laptop):
    stopped_host(host)
    host.answers[('kldstat', '-q', '-m', 'vmm')] = [(0, '', '')]
    host.on('sysctl', '-n', 'hw.vmm.vmx.initialized', out='1\n')
    host.on('sysctl', '-n', 'hw.vmm.iommu.enable', out='1\n')
    host.on('sysctl', '-n', 'hw.vmm.maxcpu', out='4\n')
    result = run(vm.main, dict(passthru=['3/0/0'], cpus=8))
    assert result['failed'] and 'cpus=8 is more than this host allows (hw.vmm.maxcpu=4)' in result['msg']


def test_present_installs_files_and_enables_without_touching_the_vm(host, run, laptop):
    stopped_host(host)
    host.on('sysrc', 'wifibox_bhyve_enable=YES')
    host.answers[('sysrc', '-n', '-q', 'wifibox_bhyve_enable')] = [(1, '', ''), (0, 'YES\n', '')]
    result = run(vm.main, dict(passthru=['3/0/0'], state='present'))
    assert result['changed'] and result['actions'] == [], result
    with open(C.VM_CONF) as handle:
        assert 'passthru="3/0/0"' in handle.read()
    assert os.stat(C.WIFIBOX_BHYVE_COMMAND).st_mode & 0o777 == 0o755
    with open(C.WIFIBOX_BHYVE_RC_SCRIPT) as handle:
        script = handle.read()
    assert '# BEFORE: netif' in script and '# KEYWORD: shutdown nojail suspend resume' in script
    lib = os.path.join(C.WIFIBOX_BHYVE_LIBEXEC, 'ansible_collections/wifibox/bhyve/plugins/module_utils')
    assert sorted(os.listdir(lib)) == ['__init__.py', 'bhyve.py', 'constants.py', 'ifconfig.py', 'pciconf.py',
                                       'vmservice.py']
    assert not os.path.exists(C.WIFIBOX_BHYVE_DEVD_CONF)  # 14.x: rc.suspend runs the rc.d suspend
    assert not [c for c in host.calls if c[0] in ('kldload', 'daemon', 'devctl')]


def test_freebsd_13_gets_the_devd_rule(host, run, laptop):
    stopped_host(host)
    host.answers[('sysctl', '-n', 'kern.osreldate')] = [(0, '1302000\n', '')]
    host.answers[('sysrc', '-n', '-q', 'wifibox_bhyve_enable')] = [(0, 'YES\n', '')]
    host.on('service', 'devd', 'status', rc=1)
    run(vm.main, dict(passthru=['3/0/0'], state='present'))
    with open(C.WIFIBOX_BHYVE_DEVD_CONF) as handle:
        rule = handle.read()
    assert 'notify 11' in rule and 'service wifibox_bhyve suspend; /etc/rc.suspend acpi $notify' in rule


def running_service(monkeypatch, laptop):
    os.makedirs(os.path.dirname(C.SUPERVISOR_PIDFILE), exist_ok=True)
    with open(C.SUPERVISOR_PIDFILE, 'w') as handle:
        handle.write('4242\n')
    vmservice.State().update(bhyve_pid=4343, started_at=1.0)
    monkeypatch.setattr(vmservice, 'pid_alive', lambda pid: pid in (4242, 4343))


def test_started_twice_is_one_vm_and_no_change(host, run, laptop, monkeypatch):
    stopped_host(host, enabled='YES')
    host.answers[('pciconf', '-l', 'pci0:3:0:0')] = [(0, PCI_PPT, '')]
    host.on('sysrc', 'wifibox_bhyve_enable=YES')
    run(vm.main, dict(passthru=['3/0/0'], state='present'))
    running_service(monkeypatch, laptop)
    host.on('route', '-n', 'get', 'default', rc=1, err='route: route has not been found\n')
    result = run(vm.main, dict(passthru=['3/0/0']))
    assert not result['changed'] and result['actions'] == [] and result['status']['running'], result
    assert result['status']['pid'] == 4343 and result['status']['card_driver'] == 'ppt0'
    # no uds_passthru.conf and no route via wifibox0: the host cannot ask the guest yet
    assert result['status']['guest']['answering'] is None, result['status']
    assert result['status']['uds_passthru'] == []
    # a changed configuration restarts only with restart_on_change
    assert not result['restart_required']
    result = run(vm.main, dict(passthru=['3/0/0'], memory='256M'), check_mode=True)
    assert result['changed'] and result['actions'] == [] and result['restart_required']
    result = run(vm.main, dict(passthru=['3/0/0'], memory='256M', restart_on_change=True), check_mode=True)
    assert result['actions'] == ['restart netif'] and not result['restart_required']


def test_plan_actions():
    assert vm.plan_actions('started', 'netif', False, False, False) == [('start', 'netif')]
    assert vm.plan_actions('started', 'guest', True, True, False) == []
    assert vm.plan_actions('started', 'guest', True, True, True) == [('restart', 'guest')]
    assert vm.plan_actions('stopped', 'vmm', True, False, False) == [('stop', 'vmm')]
    assert vm.plan_actions('stopped', 'vmm', False, False, False) == []
    assert vm.plan_actions('restarted', 'vmm', False, False, False) == [('start', 'vmm')]
    assert vm.plan_actions('restarted', 'vmm', True, False, False) == [('restart', 'vmm')]
    assert vm.plan_actions('present', 'netif', False, True, True) == []


def test_stopped_needs_a_known_vm(host, run, laptop):
    result = run(vm.main, dict(state='stopped'))
    assert result['failed'] and 'state=stopped needs passthru' in result['msg']


def test_vm_info_without_configuration(host, run, laptop):
    result = run(vm_info.main, {})
    assert result['installed'] is False and not result['changed']


def test_vm_info_reports_status(host, run, laptop, monkeypatch):
    stopped_host(host, enabled='YES')
    host.on('sysrc', 'wifibox_bhyve_enable=YES')
    run(vm.main, dict(passthru=['3/0/0'], state='present', console=True))
    result = run(vm_info.main, {})
    assert result['installed'] and result['config']['console'] is True
    assert result['status']['running'] is False and result['status']['card_driver'] == 'iwm0'
    assert 'com1,/dev/nmdm-wifibox.1A' in result['argv']


def test_the_laptop_library_is_complete_and_needs_no_ansible():
    """Every module_utils file the program imports is deployed, and none of them needs Ansible."""
    import ast
    here = os.path.dirname(vm.__file__.replace('/modules/', '/module_utils/'))
    prefix = 'ansible_collections.wifibox.bhyve.plugins.module_utils'
    for name in vm.LIBRARY:
        with open(os.path.join(here, name + '.py')) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith('ansible.'), (name, node.module)
                if node.module == prefix:
                    assert all(alias.name in vm.LIBRARY for alias in node.names), (name, node.module)
                elif node.module.startswith(prefix + '.'):
                    assert node.module[len(prefix) + 1:] in vm.LIBRARY, (name, node.module)
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith('ansible') for alias in node.names), name
    files = vm.library_files()
    assert len(files) == len(vm.LIBRARY) + 5  # + the __init__.py of each package level
