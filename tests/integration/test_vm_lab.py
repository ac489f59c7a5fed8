# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wifibox.bhyve.vm, the boot service and the command, over real SSH against lab laptops.

Each test builds its own laptops (lab/README.md), installs the guest images and the
firmware the way a laptop gets them (pkg, files), and drives the VM through the module,
`service wifibox_bhyve ...` and `wifibox-bhyve ...`.  The lab's bhyve runs a stand-in
guest (or the real qemu guest when the lab is given one): these tests only look at what
FreeBSD shows (pciconf, ifconfig, /dev/vmm, pid files, the log, exit codes).
Timings are printed (pytest -s) and kept in bench/, never asserted.
"""

import json
import re
import time

import pytest

from ansible_collections.wifibox.bhyve.tests.integration.labbatch import module

pytestmark = pytest.mark.lab

COMMAND = '/usr/local/sbin/wifibox-bhyve'
LOG = '/var/log/wifibox-bhyve.log'
WATCHED = '/usr/local /etc /boot'


def sh(laptop, script):
    r = laptop.sh(script)
    return r.returncode, r.stdout, r.stderr


def eventually(check, timeout=30, step=0.2):
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError('condition not met within %d s' % timeout)
        time.sleep(step)


def install_guest(laptop, boot='uefi'):
    """What the guest package and bhyve-firmware give a laptop (stand-in image files)."""
    if boot == 'uefi':
        script = ('pkg install -y bhyve-firmware >/dev/null && mkdir -p /usr/local/share/wifibox && '
                  'truncate -s 4M /usr/local/share/wifibox/esp.img /usr/local/share/wifibox/root.img')
    else:
        script = ('pkg install -y grub2-bhyve wifibox-alpine >/dev/null && '
                  'printf "linux (host)/usr/local/share/wifibox/vmlinuz\\nboot\\n" > /usr/local/share/wifibox/grub.cfg')
    assert sh(laptop, script)[0] == 0


def status(laptop):
    r = laptop.ssh(COMMAND, 'status', '--json')
    return json.loads(r.stdout)


def running_vm(laptop):
    """The lab's kernel model: VM name -> bhyve pid (None when the VM exists but does not run)."""
    return dict((name, vm.get('pid')) for name, vm in laptop.state()['vms'].items())


def fingerprint(laptop):
    return sh(laptop, 'find %s -type f -exec sha256sum {} + | sort' % WATCHED)[1]


def nothing_running(laptop):
    assert running_vm(laptop) == {}
    out = sh(laptop, 'cat /var/run/wifibox-bhyve/supervisor.pid 2>/dev/null')[1]
    assert out.strip() == '' or sh(laptop, 'kill -0 %s' % out.split()[0])[0] != 0


def card(laptop, selector='pci0:3:0:0'):
    return sh(laptop, 'pciconf -l %s' % selector)[1].split('@')[0]


def test_module_check_mode_start_idempotence_targets_and_stop(lab_laptop):
    lp = lab_laptop
    install_guest(lp)
    args = {'passthru': ['3/0/0']}
    before = fingerprint(lp)
    state, result = module(lp, 'vm', args, check=True, diff=True)
    assert state == 'CHANGED' and result['actions'] == ['start netif'], result
    assert fingerprint(lp) == before and running_vm(lp) == {} and card(lp) == 'iwm0'

    began = time.monotonic()
    state, result = module(lp, 'vm', args)
    elapsed = time.monotonic() - began
    assert state == 'CHANGED' and result['status']['running'], result
    print('\nstart through the module: %.1f s (module %.2f s in the task)' % (elapsed, result['elapsed']))
    print('argv thinkpad-t480:', ' '.join(result['argv']))
    pid = result['status']['pid']
    assert running_vm(lp) == {'wifibox': pid} and card(lp) == 'ppt0'
    assert result['status']['bridge']['members'] == ['tap0'] and result['status']['card_driver'] == 'ppt0'

    state, result = module(lp, 'vm', args)
    assert state == 'SUCCESS' and not result['changed'] and result['status']['pid'] == pid, result
    state, result = module(lp, 'vm', args, check=True)
    assert state == 'SUCCESS' and not result['changed']
    state, info = module(lp, 'vm_info')
    assert info['installed'] and info['status']['pid'] == pid and info['argv'] == result['argv']

    # a changed configuration is written but restarts the VM only when asked
    state, result = module(lp, 'vm', dict(args, memory='256M'))
    assert state == 'CHANGED' and result['actions'] == [] and result['status']['pid'] == pid
    assert result['restart_required'] and result['status']['running_config']['memory'] == '128M'
    state, result = module(lp, 'vm', dict(args, memory='256M'))
    assert state == 'SUCCESS' and result['restart_required']  # still running with 128M
    state, result = module(lp, 'vm', dict(args, memory='192M', restart_on_change=True))
    assert state == 'CHANGED' and result['actions'] == ['restart netif'] and result['status']['pid'] != pid
    assert '-m' in result['argv'] and '192M' in result['argv'] and not result['restart_required']
    assert result['status']['running_config']['memory'] == '192M'
    state, result = module(lp, 'vm', dict(args, memory='192M', restart_on_change=True))
    assert state == 'SUCCESS' and not result['changed']

    for target in ('guest', 'vmm', 'netif'):
        pid = result['status']['pid']
        state, result = module(lp, 'vm', dict(args, memory='192M', state='restarted', target=target))
        assert state == 'CHANGED' and result['status']['running'] and result['status']['pid'] != pid, result

    for target, bridge_after, vmm_after in (('guest', True, True), ('vmm', True, False), ('netif', False, None)):
        state, result = module(lp, 'vm', dict(args, memory='192M', state='started'))
        assert result['status']['running']
        began = time.monotonic()
        state, result = module(lp, 'vm', dict(state='stopped', target=target))
        print('stop %s through the module: %.1f s' % (target, time.monotonic() - began))
        assert state == 'CHANGED' and not result['status']['running'], result
        nothing_running(lp)
        assert card(lp) == 'iwm0'  # the native driver has the card back
        assert result['status']['bridge']['exists'] == bridge_after
        if vmm_after is not None:
            assert (sh(lp, 'kldstat -q -m vmm')[0] == 0) == vmm_after
        state, result = module(lp, 'vm', dict(state='stopped', target=target))
        assert state == 'SUCCESS' and not result['changed']


def test_service_and_command(lab_laptop):
    lp = lab_laptop
    install_guest(lp)
    state, result = module(lp, 'vm', {'passthru': ['3/0/0'], 'state': 'present', 'stop_wait': 5})
    assert state == 'CHANGED' and result['actions'] == [] and running_vm(lp) == {}
    assert sh(lp, 'service wifibox_bhyve status')[0] == 1
    code, out, err = sh(lp, 'service wifibox_bhyve start')
    assert code == 0, (out, err)
    first = status(lp)
    assert first['running'] and first['supervised'] and first['card_driver'] == 'ppt0'
    # the guest's /var (the var share) has the tree net/wifibox-alpine ships, log/ for its syslog first
    assert sh(lp, 'cd /var/run/wifibox-bhyve/appliance && test -d log && test -d spool/cron/crontabs && '
                  'test "$(readlink lock)" = /run/lock')[0] == 0
    code, out = sh(lp, 'service wifibox_bhyve status')[:2]
    assert code == 0 and 'the VM runs as pid %d' % first['pid'] in out and 'ppt0' in out
    assert sh(lp, 'service wifibox_bhyve restart')[0] == 0
    assert status(lp)['pid'] != first['pid']
    for target in ('guest', 'vmm', 'netif'):
        pid = status(lp)['pid']
        code, out, err = sh(lp, 'service wifibox_bhyve restart %s' % target)
        assert code == 0 and status(lp)['pid'] != pid, err
    assert sh(lp, 'service wifibox_bhyve stop guest')[0] == 0 and sh(lp, 'ifconfig wifibox0')[0] == 0
    assert sh(lp, 'service wifibox_bhyve start guest')[0] == 0 and status(lp)['running']
    for target in ('guest', 'vmm', 'netif'):
        pid = status(lp)['pid']
        code, out, err = sh(lp, '%s restart %s' % (COMMAND, target))
        assert code == 0 and status(lp)['pid'] != pid, err
    assert sh(lp, '%s restart guest vmm' % COMMAND)[0] == 1  # too many parameters
    assert sh(lp, '%s stop guest' % COMMAND)[0] == 0
    assert running_vm(lp) == {} and sh(lp, 'ifconfig wifibox0')[0] == 0
    assert sh(lp, '%s start guest' % COMMAND)[0] == 0 and status(lp)['running']
    began = time.monotonic()
    assert sh(lp, 'service wifibox_bhyve stop')[0] == 0
    print('\nservice wifibox_bhyve stop: %.1f s' % (time.monotonic() - began))
    nothing_running(lp)
    assert sh(lp, 'ifconfig wifibox0')[0] == 1 and card(lp) == 'iwm0'
    code, out = sh(lp, '%s version' % COMMAND)[:2]
    assert code == 0 and re.search(r'esp.img: [0-9a-f]{64}', out) and re.search(r'root.img: [0-9a-f]{64}', out)
    code, out, err = sh(lp, '%s console' % COMMAND)
    assert code == 1 and 'the console is off' in err
    # bug report: one archive, every secret removed
    lp.write_file('/usr/local/etc/wifibox-bhyve/wpa_supplicant/wpa_supplicant.conf',
                  'network={\n\tssid="lab"\n\tpsk="Sup3r-Secret-psk"\n}\n', 0o600)
    lp.write_file('/var/run/wifibox-bhyve/appliance/log/messages', 'wpa: password=Another-Secret\n', 0o644)
    code, out = sh(lp, '%s bugreport /tmp/report.tar.gz' % COMMAND)[:2]
    assert code == 0 and out.strip() == '/tmp/report.tar.gz'
    listing = sh(lp, 'tar tzf /tmp/report.tar.gz')[1]
    for name in ('uname.txt', 'pciconf.txt', 'loader.conf', 'rc.conf', 'kldstat.txt', 'ifconfig.txt',
                 'wifibox-bhyve.log', 'guest/log/messages', 'status.json', 'app_config/wpa_supplicant.conf'):
        assert 'wifibox-bhyve-bugreport/' + name in listing.split()
    contents = sh(lp, 'tar xzOf /tmp/report.tar.gz')[1]
    assert 'Another-Secret' not in contents and 'Sup3r-Secret' not in contents and '<removed>' in contents


def _bad(lp, args, words, prepare=None):
    if prepare:
        prepare()
    before = fingerprint(lp)
    state, result = module(lp, 'vm', args)
    assert state == 'FAILED' and re.search(words, result['msg']), result
    assert fingerprint(lp) == before, 'files changed after: %s' % result['msg']
    nothing_running(lp)
    return result


def test_bad_inputs_change_nothing(lab_laptop):
    lp = lab_laptop
    install_guest(lp)
    ok = {'passthru': ['3/0/0']}
    _bad(lp, dict(ok, memory='128MB'), r'memory=.128MB. is not a memory size')
    _bad(lp, dict(ok, cpus=64), r'cpus=64 is more than this host allows \(hw.vmm.maxcpu=\d+\)')
    _bad(lp, {'passthru': ['9/0/0']}, r'9/0/0 \(pci0:9:0:0\) is not on the PCI bus')
    _bad(lp, dict(ok, boot='grub'), r'guest image /usr/local/share/wifibox/disk.img is missing')
    assert sh(lp, 'ifconfig bridge create name other0 up && ifconfig tap0 create && ifconfig other0 addm tap0')[0] == 0
    _bad(lp, ok, r'tap=tap0 is a member of bridge other0')
    assert sh(lp, 'ifconfig other0 deletem tap0; ifconfig other0 destroy; ifconfig tap0 destroy')[0] == 0
    # the card's driver refuses to let go: the start is undone (VM, card, bridge, tap, files)
    from wifibox_lab import api
    api.fault(lp, 'command-fails', 'devctl:Failed to set pci3:0:0 driver to ppt: Device busy')
    result = _bad(lp, ok, r'the VM did not start: .*devctl set driver -f pci3:0:0 ppt failed')
    assert 'files this task wrote are restored' in result['msg']
    api.fault(lp, 'clear')
    assert sh(lp, 'ifconfig wifibox0')[0] == 1 and card(lp) == 'iwm0'
    assert sh(lp, 'kldstat -q -m vmm')[0] == 1  # loaded by the failed start, unloaded again
    # another VM exists: vmm.ko cannot be reloaded
    assert module(lp, 'vm', ok)[0] == 'CHANGED'
    assert sh(lp, 'bhyvectl --vm=other --create')[0] == 0
    before = fingerprint(lp)
    state, result = module(lp, 'vm', dict(ok, state='restarted', target='vmm'))
    assert state == 'FAILED' and 'other bhyve VMs exist (other)' in result['msg']
    assert fingerprint(lp) == before and result['status']['running']
    state, result = module(lp, 'vm', dict(ok, state='stopped'))
    assert sh(lp, 'bhyvectl --vm=other --destroy')[0] == 0
    # the images and the firmware are missing
    sh(lp, 'rm /usr/local/share/wifibox/root.img')
    _bad(lp, ok, r'guest image /usr/local/share/wifibox/root.img is missing.*wifibox-alpine')
    sh(lp, 'truncate -s 4M /usr/local/share/wifibox/root.img; rm /usr/local/share/uefi-firmware/BHYVE_UEFI.fd')
    _bad(lp, ok, r'boot firmware /usr/local/share/uefi-firmware/BHYVE_UEFI.fd is missing.*bhyve-firmware')


def test_iommu_off(lab_laptops):
    amd = lab_laptops('thinkpad-e14-amd')  # AMD-Vi present but hw.vmm.amdvi.enable is not set
    install_guest(amd)
    _bad(amd, {'passthru': ['2/0/0']}, r'hw.vmm.amdvi.enable is not 1; add hw.vmm.amdvi.enable="1" to /boot/loader.conf')
    assert sh(amd, 'kldstat -q -m vmm')[0] == 1
    noiommu = lab_laptops('latitude-e7450-noiommu')  # VT-d off in the firmware: bhyve refuses the card
    install_guest(noiommu)
    result = _bad(noiommu, {'passthru': ['2/0/0']}, r'not using the ppt\(4\) driver.*VT-d/AMD-Vi')
    assert not result['changed']
    assert card(noiommu, 'pci0:2:0:0') == 'iwm0'


def restarted(now, pid, count):
    return now['running'] and now['pid'] != pid and now['restarts'] == count


def test_crash_is_restarted_20_of_20_and_a_crash_loop_stops(lab_laptop):
    from wifibox_lab import api
    lp = lab_laptop
    install_guest(lp)
    state, result = module(lp, 'vm', {'passthru': ['3/0/0'], 'restart_delay': 1, 'crash_limit': 21,
                                      'crash_window': 3600})
    assert result['status']['running']
    times = []
    for n in range(1, 21):
        pid = status(lp)['pid']
        began = time.monotonic()
        api.guest_request(lp, 'wifibox', 'error')  # bhyve exits 4
        eventually(lambda: restarted(status(lp), pid, n))
        times.append(time.monotonic() - began)
    final = status(lp)
    assert final['restarts'] == 20 and final['last_exit']['code'] == 4 and final['supervised']
    print('\ncrash -> running again: min %.1f s, max %.1f s over 20' % (min(times), max(times)))
    log = lp.read_file(LOG)
    assert log.count('WARN  bhyve exited with an error') == 20 and 'crash 20 of crash_limit=21' in log

    # a crash loop: every start fails at once; supervision ends after crash_limit, saying why
    state, result = module(lp, 'vm', {'passthru': ['3/0/0'], 'restart_delay': 1, 'crash_limit': 3,
                                      'crash_window': 3600, 'restart_on_change': True})
    assert result['status']['running']
    api.fault(lp, 'bhyve-exit4')
    eventually(lambda: not status(lp)['supervised'], timeout=60)
    final = status(lp)
    assert not final['running'] and final['stopped_reason'].startswith('crash loop: 3 crashes within 3600 s')
    assert 'ERROR crash loop: 3 crashes' in lp.read_file(LOG)
    nothing_running(lp)
    assert card(lp) == 'iwm0'


def test_reboot_starts_the_vm_before_netif(lab_laptop):
    from wifibox_lab import api
    lp = lab_laptop
    install_guest(lp)
    # netif configures wifibox0 only if it exists when netif runs
    assert sh(lp, 'sysrc ifconfig_wifibox0="inet 10.99.0.2/24"')[0] == 0
    assert module(lp, 'vm', {'passthru': ['3/0/0']})[0] == 'CHANGED'
    before = status(lp)['pid']
    began = time.monotonic()
    api.reboot(lp)
    print('\nreboot to VM running: %.1f s' % (time.monotonic() - began))
    after = status(lp)
    assert after['running'] and after['pid'] != before and after['card_driver'] == 'ppt0'
    assert after['bridge']['members'] == ['tap0']
    assert 'inet 10.99.0.2' in sh(lp, 'ifconfig wifibox0')[1]
    order = sh(lp, 'rcorder /etc/rc.d/* /usr/local/etc/rc.d/* 2>/dev/null')[1].split()
    assert order.index('/usr/local/etc/rc.d/wifibox_bhyve') < order.index('/etc/rc.d/netif')
    # and it goes down cleanly with the laptop: rc.shutdown stops it (KEYWORD: shutdown)
    api.reboot(lp)
    assert lp.read_file(LOG).count('the guest powered off: supervision ends') == 2
    assert status(lp)['running']


@pytest.mark.parametrize('profile', ['thinkpad-t480-13', 'thinkpad-t480'])
def test_suspend_resume_methods_and_escalation(lab_laptops, profile):
    from wifibox_lab import api
    lp = lab_laptops(profile)
    install_guest(lp)
    state, result = module(lp, 'vm', {'passthru': ['3/0/0']})
    assert result['status']['running']
    thirteen = profile.endswith('-13')
    assert (sh(lp, 'test -f /usr/local/etc/devd/wifibox-bhyve.conf')[0] == 0) == thirteen
    # restart_vmm (the default): the guest keeps running over suspend, and is restarted with vmm.ko reloaded
    pid = status(lp)['pid']
    out = api.suspend(lp)
    assert 'suspend request timed out' not in out
    assert status(lp)['pid'] == pid
    api.resume(lp)
    after = status(lp)
    assert after['running'] and after['pid'] != pid and after['last_resume']['method'] == 'restart_vmm'
    assert after['last_resume']['result'] == 'guest back' and after['last_suspend']['method'] == 'restart_vmm'

    # suspend_guest: stopped before suspend, started after resume
    module(lp, 'vm', {'passthru': ['3/0/0'], 'recovery': 'suspend_guest', 'resume_wait': 5})
    api.suspend(lp)
    assert not status(lp)['running'] and running_vm(lp) == {}
    api.resume(lp)
    assert status(lp)['running'] and status(lp)['last_resume']['escalated_to'] is None

    # the card is gone after resume until vmm.ko is reloaded: suspend_guest fails, restart_vmm brings it back
    api.fault(lp, 'card-vanish')
    api.suspend(lp)
    api.resume(lp)
    after = status(lp)
    assert after['running'] and after['card_driver'] == 'ppt0', after
    assert after['last_resume']['escalated_to'] == 'restart_vmm'
    assert after['last_resume']['result'] == 'guest back (escalated to restart_vmm)'
    assert 'escalating to restart_vmm' in lp.read_file(LOG)


def test_grub_layout(lab_laptop):
    lp = lab_laptop
    install_guest(lp, boot='grub')
    state, result = module(lp, 'vm', {'passthru': ['3/0/0'], 'boot': 'grub', 'memory': '256M', 'console': True,
                                      'nic': 'virtio-net', 'priority': 0})
    assert state == 'CHANGED' and result['status']['running'], result
    print('\nargv thinkpad-t480 grub:', ' '.join(result['grub_argv']), '&&', ' '.join(result['argv']))
    assert result['argv'][:3] == ['/usr/bin/nice', '-n', '-20']
    assert sh(lp, 'kldstat -q -m nmdm')[0] == 0  # loaded for the console
    code, out, err = sh(lp, 'echo "~." | %s console' % COMMAND)
    assert code == 0 and out == 'Connecting, type "~." to leave the session...\nConnected\n\n[EOT]\n', err
    assert module(lp, 'vm', {'passthru': ['3/0/0'], 'boot': 'grub', 'memory': '256M', 'console': True,
                             'nic': 'virtio-net', 'priority': 0})[0] == 'SUCCESS'


@pytest.mark.parametrize('profile', ['thinkpad-t480', 'thinkpad-x220-13', 'framework-ax210', 'thinkpad-e14-amd',
                                     'macbookpro-2015', 'latitude-e7450-noiommu'])
def test_argv_for_each_profile(lab_laptops, profile):
    """The card host_facts finds goes into the argv; check mode validates and changes nothing."""
    lp = lab_laptops(profile)
    install_guest(lp)
    state, facts = module(lp, 'host_facts')
    pptdev = facts['ansible_facts']['wifibox_host']['wireless'][0]['pptdev']
    before = fingerprint(lp)
    state, result = module(lp, 'vm', {'passthru': [pptdev]}, check=True)
    assert state == 'CHANGED' and result['actions'] == ['start netif'], result
    assert fingerprint(lp) == before and running_vm(lp) == {}
    assert result['argv'][-3:] == ['-s', '6:0,passthru,%s' % pptdev, 'wifibox']
    print('\nargv %s: %s' % (profile, ' '.join(result['argv'])))


def test_stop_forces_power_off_when_the_guest_ignores_the_power_button(lab_laptop):
    from wifibox_lab import api
    lp = lab_laptop
    install_guest(lp)
    # a guest program (the lab's real-guest hook) that ignores ACPI power-off (SIGTERM)
    api.set_guest_command(lp, ['/bin/sh', '-c', 'trap "" TERM; while :; do sleep 0.2; done'])
    state, result = module(lp, 'vm', {'passthru': ['3/0/0'], 'stop_wait': 2})
    assert state == 'CHANGED' and result['status']['running'], result
    began = time.monotonic()
    state, result = module(lp, 'vm', {'state': 'stopped'})
    print('\nstop with a guest ignoring the power button (stop_wait=2): %.1f s' % (time.monotonic() - began))
    assert state == 'CHANGED' and not result['status']['running']
    nothing_running(lp)
    log = lp.read_file(LOG)
    assert 'did not power off within stop_wait=2 s: bhyvectl --force-poweroff' in log
    assert 'the guest powered off: supervision ends' in log
