# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bad-input table: every row is one bad input (or a host that makes the input impossible),
for every module of the collection (config_files included).  Each must fail with a message naming the input, changed=false,
and leave the host as it was: the kernel modules, interfaces and sysctls of the stateful fake, and
every file byte for byte.  The role's rows, which need a real laptop, are in
tests/integration/test_bad_inputs_lab.py.

Deliberately accepted (not in the table), with the reason:
* rc_conf values holding * ? [ ] (pathname patterns: they only ever expand to file names), # (text
  inside quotes), ~ ! { } = and single quotes (inert without $ or an operator) -- see
  module_utils/shell.py;
* rc_conf values with $ when the task sets expand: true (the task asked for the expansion);
* pci_info with a well-formed selector that matches no device (an empty list is the answer: a card
  may be absent on this laptop of a fleet);
* kld with a module already loaded or compiled in (state present: nothing to do).
* a loader.conf holding lines the lua loader misreads or skips, when the task edits other names: the loader
  skips those lines, so the task may edit the file; it keeps them and names each in a warning (WARNED below).
"""

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.wifibox.bhyve.plugins.modules import bridge, config_files, host_facts, kld, loader_conf, pci_info, rc_conf
from ansible_collections.wifibox.bhyve.tests.unit.plugins.modules.fakebsd import FakeFreeBSD

MAINS = dict(kld=kld.main, bridge=bridge.main, rc_conf=rc_conf.main, loader_conf=loader_conf.main,
             pci_info=pci_info.main, host_facts=host_facts.main, config_files=config_files.main)
PCICONF = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'pciconf', 'thinkpad-t480-14.txt')

FILES = {
    'rc.conf': '# rc.conf\nhostname="t480"\nkld_list="fusefs"\nifconfig_em0="DHCP"\n',
    'rc.conf.broken': 'kld_list="vmm\n',
    'rc.conf.expanding': 'kld_list="${base_klds} vmm"\n',
    'loader.conf': '# loader\nvmm_load="YES"\nhw.vmm.amdvi.enable=1\n',
    'loader.conf.broken': 'vmm_load=YES YES\n',
    'loader.conf.misread': '# loader\nvmm_load="YES" # the "vmm" module\n',
    'sysctl.conf': '# sysctl\nkern.coredump=0\n',
    'sysctl.conf.broken': 'kern.coredump = 0\n',
}

# (id, module, arguments, words the message must hold: the first names the input[, change to the host])
TABLE = [
    # --- kld: names, states, persistence ----------------------------------------------------
    ('kld-path', 'kld', dict(name=['/boot/kernel/vmm.ko']), ["'/boot/kernel/vmm.ko'", 'not a kernel module name']),
    ('kld-space', 'kld', dict(name=['vmm load']), ["'vmm load'"]),
    ('kld-empty', 'kld', dict(name=['']), ["''", 'not a kernel module name']),
    ('kld-dot-ko', 'kld', dict(name=['.ko']), ["'.ko'"]),
    ('kld-dotdot', 'kld', dict(name=['../vmm']), ["'../vmm'"]),
    ('kld-semicolon', 'kld', dict(name=['vmm;reboot']), ["'vmm;reboot'"]),
    ('kld-dollar', 'kld', dict(name=['$(reboot)']), ["'$(reboot)'"]),
    ('kld-backquote', 'kld', dict(name=['`reboot`']), ["'`reboot`'"]),
    ('kld-newline', 'kld', dict(name=['vmm\nnmdm']), ["'vmm\\nnmdm'"]),
    ('kld-unicode', 'kld', dict(name=['vmmé']), ["'vmmé'"]),
    ('kld-trailing-dot', 'kld', dict(name=['vmm.']), ["'vmm.'"]),
    ('kld-second-of-three-missing', 'kld', dict(name=['nmdm', 'if_nonexistent', 'vmm']),
     ['if_nonexistent', 'no if_nonexistent.ko in the module path', 'nothing was loaded']),
    ('kld-unload-compiled-in', 'kld', dict(name=['if_tap'], state='absent'), ['if_tap', 'compiled into the kernel']),
    ('kld-unload-if_bridge-with-bridge', 'kld', dict(name=['if_bridge'], state='absent'),
     ['if_bridge', 'destroys every bridge', 'wifibox0']),
    ('kld-unload-vmm-with-vm', 'kld', dict(name=['vmm'], state='absent'), ['vmm', 'virtual machines still exist']),
    ('kld-unload-dependency-alone', 'kld', dict(name=['bridgestp'], state='absent'), ['bridgestp', 'depend on it']),
    ('kld-state-choice', 'kld', dict(name=['vmm'], state='loaded'), ['state', 'loaded']),
    ('kld-persist-choice', 'kld', dict(name=['vmm'], persist='rc'), ['persist', 'rc']),
    ('kld-unknown-option', 'kld', dict(name=['vmm'], force=True), ['force']),
    ('kld-name-missing', 'kld', dict(state='present'), ['name']),
    ('kld-backup-not-bool', 'kld', dict(name=['vmm'], backup='maybe'), ['backup', 'maybe']),
    ('kld-kld_list-broken-file', 'kld', dict(name=['nmdm'], persist='kld_list', rc_conf_path='{tmp}/rc.conf.broken'),
     ['rc.conf.broken', 'cannot edit']),
    ('kld-kld_list-expanding', 'kld', dict(name=['nmdm'], persist='kld_list', rc_conf_path='{tmp}/rc.conf.expanding'),
     ['kld_list', 'shell expansion']),
    ('kld-loader-missing-dir', 'kld', dict(name=['nmdm'], persist='loader', loader_conf_path='{tmp}/nodir/loader.conf'),
     ['{tmp}/nodir', 'does not exist']),
    ('kld-loader-path-is-dir', 'kld', dict(name=['nmdm'], persist='loader', loader_conf_path='{tmp}'),
     ['{tmp}', 'is a directory']),
    ('kld-rc-path-is-dir', 'kld', dict(name=['nmdm'], persist='kld_list', rc_conf_path='{tmp}'), ['{tmp}', 'is a directory']),

    # --- bridge: names, members, the kernel's refusals, state=absent ------------------------
    ('bridge-name-space', 'bridge', dict(name='wifi box'), ["'wifi box'", 'not an interface name']),
    ('bridge-name-long', 'bridge', dict(name='a' * 16), ['a' * 16, 'at most 15']),
    ('bridge-name-digit', 'bridge', dict(name='0bridge'), ["'0bridge'"]),
    ('bridge-name-semicolon', 'bridge', dict(name='wifibox0;reboot'), ["'wifibox0;reboot'"]),
    ('bridge-name-empty', 'bridge', dict(name=''), ["''"]),
    ('bridge-name-slash', 'bridge', dict(name='../wifibox0'), ["'../wifibox0'"]),
    ('bridge-member-space', 'bridge', dict(members=['tap 0']), ["'tap 0'"]),
    ('bridge-member-dollar', 'bridge', dict(members=['$(reboot)']), ["'$(reboot)'"]),
    ('bridge-member-itself', 'bridge', dict(members=['wifibox0']), ['wifibox0', 'member of itself']),
    ('bridge-member-loopback', 'bridge', dict(members=['tap0', 'lo0']), ['lo0', 'not an Ethernet interface', 'loopback']),
    ('bridge-member-mtu', 'bridge', dict(members=['tap0', 'tap7']), ['tap7', 'MTU 9000']),
    ('bridge-member-of-bridge0', 'bridge', dict(members=['tap8']), ['tap8', 'already a member of bridge0']),
    ('bridge-rename-from-digit', 'bridge', dict(rename_from='0bridge'), ["'0bridge'", 'rename_from']),
    ('bridge-rename-from-not-bridge', 'bridge', dict(name='wifibox1', rename_from='em0'), ['em0', 'not a bridge']),
    ('bridge-name-is-ethernet', 'bridge', dict(name='em0', members=['tap0']), ['em0', 'not a bridge']),
    ('bridge-absent-name-is-ethernet', 'bridge', dict(name='em0', state='absent'), ['em0', 'not a bridge']),
    ('bridge-absent-wlan0', 'bridge', dict(name='bridge0', state='absent', members=['tap8', 'wlan0']), ['wlan0', 'not a tap']),
    ('bridge-absent-em0', 'bridge', dict(name='bridge0', state='absent', members=['em0']), ['em0', 'not a tap']),
    ('bridge-absent-lo0', 'bridge', dict(name='bridge0', state='absent', members=['lo0']), ['lo0', 'not a tap']),
    ('bridge-absent-other-bridge', 'bridge', dict(state='absent', members=['bridge0']), ['bridge0', 'not a tap']),
    ('bridge-no-tap-sysctl', 'bridge', dict(members=['tap0'], tap_up_on_open=True), ['net.link.tap.up_on_open', 'does not exist'],
     lambda host: host.sysctls.clear()),
    ('bridge-sysctl-conf-missing-dir', 'bridge', dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path='{tmp}/no/sysctl.conf'),
     ['{tmp}/no', 'does not exist']),
    ('bridge-sysctl-conf-broken', 'bridge', dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path='{tmp}/sysctl.conf.broken'),
     ['sysctl.conf.broken', 'cannot edit']),
    ('bridge-state-choice', 'bridge', dict(state='up'), ['state', 'up']),
    ('bridge-purge-not-bool', 'bridge', dict(purge_members='sometimes'), ['purge_members', 'sometimes']),
    ('bridge-unknown-option', 'bridge', dict(mtu=9000), ['mtu']),

    # --- rc_conf: what sh would run, names, lists, files ------------------------------------
    ('rc-command-substitution', 'rc_conf', dict(values=dict(hostname='$(reboot)')), ['hostname', "'$('", 'command substitution']),
    ('rc-arithmetic', 'rc_conf', dict(values=dict(hostname='$((1+1))')), ['hostname', 'arithmetic expansion']),
    ('rc-parameter-braces', 'rc_conf', dict(values=dict(hostname='${HOME}')), ['hostname', "'${'"]),
    ('rc-parameter', 'rc_conf', dict(values=dict(hostname='$HOME')), ['hostname', "'$'"]),
    ('rc-nested-substitution', 'rc_conf', dict(values=dict(sshd_flags='-o x=$(id -u)')), ['sshd_flags', 'command substitution']),
    ('rc-backquote', 'rc_conf', dict(values=dict(hostname='`reboot`')), ['hostname', 'a backquote']),
    ('rc-semicolon', 'rc_conf', dict(values=dict(sshd_flags='-4; reboot')), ['sshd_flags', "';'"]),
    ('rc-and', 'rc_conf', dict(values=dict(sshd_flags='-4 && reboot')), ['sshd_flags', "'&'"]),
    ('rc-background', 'rc_conf', dict(values=dict(sshd_flags='-4 & reboot')), ['sshd_flags', "'&'"]),
    ('rc-pipe', 'rc_conf', dict(values=dict(sshd_flags='-4 | sh')), ['sshd_flags', "'|'"]),
    ('rc-redirect-out', 'rc_conf', dict(values=dict(sshd_flags='> /etc/passwd')), ['sshd_flags', "'>'"]),
    ('rc-redirect-in', 'rc_conf', dict(values=dict(sshd_flags='< /dev/zero')), ['sshd_flags', "'<'"]),
    ('rc-subshell', 'rc_conf', dict(values=dict(sshd_flags='(reboot)')), ['sshd_flags', "'('"]),
    ('rc-close-paren', 'rc_conf', dict(values=dict(sshd_flags='x)')), ['sshd_flags', "')'"]),
    ('rc-double-quote', 'rc_conf', dict(values=dict(hostname='a"b')), ['hostname', 'a double quote']),
    ('rc-backslash', 'rc_conf', dict(values=dict(hostname='a\\b')), ['hostname', 'a backslash']),
    ('rc-newline', 'rc_conf', dict(values=dict(hostname='a\nreboot')), ['hostname', 'a newline']),
    ('rc-carriage-return', 'rc_conf', dict(values=dict(hostname='a\rb')), ['hostname', 'a carriage return']),
    ('rc-value-list', 'rc_conf', dict(values=dict(hostname=['a', 'b'])), ['hostname', 'give a string']),
    ('rc-value-dict', 'rc_conf', dict(values=dict(hostname={'a': 1})), ['hostname', 'give a string']),
    ('rc-name-digit', 'rc_conf', dict(values={'1abc': 'x'}), ["'1abc'", 'not a valid rc.conf variable name']),
    ('rc-name-dash', 'rc_conf', dict(values={'a-b': 'x'}), ["'a-b'"]),
    ('rc-name-space', 'rc_conf', dict(values={'a b': 'x'}), ["'a b'"]),
    ('rc-name-semicolon', 'rc_conf', dict(values={'x;reboot': 'x'}), ["'x;reboot'"]),
    ('rc-name-dotted', 'rc_conf', dict(values={'hw.vmm': 'x'}), ["'hw.vmm'"]),
    ('rc-unset-bad-name', 'rc_conf', dict(unset=['bad name']), ["'bad name'", 'unset']),
    ('rc-add-substitution', 'rc_conf', dict(add=dict(kld_list=['$(reboot)'])), ['kld_list', 'command substitution']),
    ('rc-add-two-words', 'rc_conf', dict(add=dict(kld_list=['vmm nmdm'])), ["'vmm nmdm'", 'not a single element']),
    ('rc-add-empty', 'rc_conf', dict(add=dict(kld_list=[''])), ["''", 'not a single element']),
    ('rc-add-semicolon', 'rc_conf', dict(add=dict(kld_list=['vmm;reboot'])), ['kld_list', "';'"]),
    ('rc-add-delimiter-inside', 'rc_conf', dict(add=dict(jail_list=['a,b']), delimiter=','), ["'a,b'", 'delimiter']),
    ('rc-add-bad-name', 'rc_conf', dict(add={'kld-list': ['vmm']}), ["'kld-list'"]),
    ('rc-remove-from-expanding', 'rc_conf', dict(path='{tmp}/rc.conf.expanding', remove=dict(kld_list=['vmm'])),
     ['kld_list', 'shell expansion']),
    ('rc-delimiter-empty', 'rc_conf', dict(add=dict(kld_list=['vmm']), delimiter=''), ['delimiter']),
    ('rc-values-and-unset', 'rc_conf', dict(values=dict(hostname='x'), unset=['hostname']), ['hostname', 'both values and unset']),
    ('rc-values-and-add', 'rc_conf', dict(values=dict(kld_list='vmm'), add=dict(kld_list=['nmdm'])), ['kld_list', 'both']),
    ('rc-path-and-service', 'rc_conf', dict(path='{tmp}/rc.conf', service='netif', values=dict(a='b')), ['path', 'service']),
    ('rc-service-slash', 'rc_conf', dict(service='../rc.conf', values=dict(a='b')), ["'../rc.conf'", 'service']),
    ('rc-path-missing-dir', 'rc_conf', dict(path='{tmp}/no/rc.conf', values=dict(a='b')), ['{tmp}/no', 'does not exist']),
    ('rc-path-is-dir', 'rc_conf', dict(path='{tmp}', values=dict(a='b')), ['{tmp}', 'is a directory']),
    ('rc-broken-file', 'rc_conf', dict(path='{tmp}/rc.conf.broken', values=dict(a='b')), ['rc.conf.broken', 'never closed']),
    ('rc-nothing-to-do', 'rc_conf', dict(path='{tmp}/rc.conf'), ['values', 'unset', 'add', 'remove']),
    ('rc-expand-not-bool', 'rc_conf', dict(values=dict(a='b'), expand='perhaps'), ['expand', 'perhaps']),

    # --- loader_conf -------------------------------------------------------------------------
    ('loader-name-space', 'loader_conf', dict(tunables={'hw vmm': 1}), ["'hw vmm'"]),
    ('loader-name-semicolon', 'loader_conf', dict(tunables={'a;reboot': 1}), ["'a;reboot'"]),
    ('loader-value-quote', 'loader_conf', dict(tunables={'hw.vmm.amdvi.enable': 'a"b'}), ['hw.vmm.amdvi.enable', 'a double quote']),
    ('loader-value-backslash', 'loader_conf', dict(tunables={'kern.x': 'a\\b'}), ['kern.x', 'a backslash']),
    ('loader-value-newline', 'loader_conf', dict(tunables={'kern.x': 'a\nb'}), ['kern.x', 'a newline']),
    ('loader-value-none', 'loader_conf', dict(tunables={'kern.x': None}), ['kern.x', 'has no value']),
    ('loader-value-list', 'loader_conf', dict(tunables={'kern.x': [1, 2]}), ['kern.x', 'give a string']),
    ('loader-pptdevs-as-tunable', 'loader_conf', dict(tunables={'pptdevs': '3/0/0'}), ['pptdevs', 'managed by the pptdevs option']),
    ('loader-pptdevs-form', 'loader_conf', dict(pptdevs=['3:0:0']), ["'3:0:0'", 'bus/slot/function']),
    ('loader-pptdevs-text', 'loader_conf', dict(pptdevs=['iwm0']), ["'iwm0'"]),
    ('loader-pptdevs-absent-device', 'loader_conf', dict(pptdevs=['9/0/0']), ['9/0/0', 'no PCI device']),
    ('loader-conf-d-suffix', 'loader_conf', dict(path='{tmp}/loader.conf.d/wifibox', tunables={'a': 1}), ['{tmp}/loader.conf.d/wifibox', '.conf']),
    ('loader-path-other-file', 'loader_conf', dict(path='{tmp}/loader.conf.broken', tunables={'a': 1}), ['loader.conf.broken', 'neither']),
    ('loader-missing-dir', 'loader_conf', dict(path='{tmp}/loader.conf.d/wifibox.conf', tunables={'a': 1}),
     ['{tmp}/loader.conf.d', 'does not exist']),
    ('loader-nothing', 'loader_conf', dict(path='{tmp}/loader.conf'), ['tunables', 'pptdevs']),
    ('loader-state-choice', 'loader_conf', dict(tunables={'a': 1}, state='gone'), ['state', 'gone']),

    # --- pci_info ----------------------------------------------------------------------------
    ('pci-bus-256', 'pci_info', dict(selector='pci0:256:0:0'), ["'pci0:256:0:0'", 'bus 256 is impossible']),
    ('pci-slot-32', 'pci_info', dict(selector='pci0:3:32:0'), ["'pci0:3:32:0'", 'slot 32 is impossible']),
    ('pci-function-8', 'pci_info', dict(selector='pci0:3:0:8'), ["'pci0:3:0:8'", 'function 8 is impossible']),
    ('pci-short-bus-300', 'pci_info', dict(selector='pci300:0:0'), ["'pci300:0:0'", 'bus 300']),
    ('pptdev-bus-256', 'pci_info', dict(selector='256/0/0'), ["'256/0/0'", 'bus 256 is impossible']),
    ('pptdev-slot-32', 'pci_info', dict(selector='3/32/0'), ["'3/32/0'", 'slot 32']),
    ('pptdev-function-8', 'pci_info', dict(selector='3/0/8'), ["'3/0/8'", 'function 8']),
    ('pci-dashes', 'pci_info', dict(selector='3-0-0'), ["'3-0-0'", 'invalid selector']),
    ('pci-five-parts', 'pci_info', dict(selector='pci0:3:0:0:0'), ["'pci0:3:0:0:0'"]),
    ('pci-name-without-unit', 'pci_info', dict(selector='iwm'), ["'iwm'"]),
    ('pci-empty', 'pci_info', dict(selector=''), ["''"]),
    ('pci-unknown-option', 'pci_info', dict(bus=3), ['bus']),

    # --- host_facts ----------------------------------------------------------------------------
    ('host-facts-unknown-option', 'host_facts', dict(selector='pci0:3:0:0'), ['selector']),

    # --- config_files (the module the guest role writes with) -------------------------------------
    ('files-relative-path', 'config_files', dict(files=[dict(path='relative/x', content='x')]), ['relative/x', 'absolute']),
    ('files-mode-letters', 'config_files', dict(files=[dict(path='{tmp}/x', content='x', mode='rwx')]), ["'rwx'", 'octal']),
    ('files-mode-8', 'config_files', dict(files=[dict(path='{tmp}/x', content='x', mode='0888')]), ["'0888'"]),
    ('files-no-content', 'config_files', dict(files=[dict(path='{tmp}/x')]), ['{tmp}/x', 'exactly one of']),
    ('files-two-contents', 'config_files', dict(files=[dict(path='{tmp}/x', content='x', content_base64='eA==')]), ['{tmp}/x', 'exactly one']),
    ('files-link-no-target', 'config_files', dict(files=[dict(path='{tmp}/l', state='link')]), ['{tmp}/l', 'needs target']),
    ('files-missing-dir', 'config_files', dict(files=[dict(path='{tmp}/no/x', content='x')]), ['{tmp}/no', 'does not exist']),
    ('files-no-user', 'config_files', dict(files=[dict(path='{tmp}/x', content='x', owner='nosuchuser')]), ["'nosuchuser'"]),
    ('files-no-group', 'config_files', dict(files=[dict(path='{tmp}/x', content='x', group='nosuchgroup')]), ["'nosuchgroup'"]),
    ('files-same-path-twice', 'config_files', dict(files=[dict(path='{tmp}/x', content='x'), dict(path='{tmp}/x', content='y')]),
     ['files[1]', 'same path']),
    ('files-bad-base64', 'config_files', dict(files=[dict(path='{tmp}/x', content_base64='!!!')]), ['{tmp}/x', 'base64']),
    ('files-directory-with-content', 'config_files', dict(files=[dict(path='{tmp}/d', state='directory', content='x')]),
     ['{tmp}/d', 'only for state=file']),
    ('files-second-item-bad-first-not-written', 'config_files',
     dict(files=[dict(path='{tmp}/first', content='x'), dict(path='{tmp}/second', content='y', mode='bad')]), ['files[1]', "'bad'"]),
]


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A FakeFreeBSD laptop with a second bridge, odd interfaces, a VM, and the files of FILES."""
    module_dir = tmp_path / 'kernel'
    module_dir.mkdir()
    for name in ('vmm', 'nmdm', 'if_bridge', 'bridgestp'):
        (module_dir / (name + '.ko')).write_text('')
    conf = tmp_path / 'conf'
    conf.mkdir()
    for name, text in FILES.items():
        (conf / name).write_text(text)
    vmm = tmp_path / 'vmm'
    vmm.mkdir()
    (vmm / 'wifibox').write_text('')
    monkeypatch.setattr(kld, 'VMM_DEV_DIR', str(vmm))
    # loader_conf edits only /boot/loader.conf and /boot/loader.conf.d/NAME.conf: point those at conf/.
    monkeypatch.setattr(loader_conf, 'LOADER_CONF', str(conf / 'loader.conf'))
    monkeypatch.setattr(loader_conf, 'LOADER_CONF_DIR', str(conf / 'loader.conf.d'))
    monkeypatch.setattr(loader_conf, 'LOADER_CONF_LOCAL', str(conf / 'loader.conf.local'))
    defaults = tmp_path / 'defaults.rc.conf'
    defaults.write_text('kld_list=""\njail_list=""\n')
    monkeypatch.setattr(rc_conf, 'RC_CONF_DEFAULTS', str(defaults))
    host = FakeFreeBSD(str(module_dir), loaded=['vmm', 'if_bridge', 'bridgestp'], interfaces={
        'em0': dict(kind='ether', mtu=1500, up=True, members=[]),
        'lo0': dict(kind='lo', mtu=16384, up=True, members=[]),
        'wlan0': dict(kind='ether', mtu=1500, up=True, members=[]),
        'wifibox0': dict(kind='bridge', mtu=1500, up=True, members=['tap0']),
        'tap0': dict(kind='tap', mtu=1500, up=True, members=[]),
        'bridge0': dict(kind='bridge', mtu=1500, up=True, members=['tap8']),
        'tap8': dict(kind='tap', mtu=1500, up=True, members=[]),
        'tap7': dict(kind='tap', mtu=9000, up=True, members=[]),
    })
    # bridgestp is held by if_bridge: kldstat shows 2 references.
    real_row = host._row
    host._row = lambda name: real_row(name).replace('   1 ', '   2 ', 1) if name == 'bridgestp' else real_row(name)
    with open(PCICONF) as handle:
        pciconf = handle.read()
    host._pciconf = lambda args: (0, pciconf, '')
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, args, **kw: host.run_command(args, **kw))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **kw: host.get_bin_path(name))
    return host, conf


def _fill(value, tmp):
    if isinstance(value, str):
        return value.replace('{tmp}', tmp)
    if isinstance(value, list):
        return [_fill(item, tmp) for item in value]
    if isinstance(value, dict):
        return dict((_fill(key, tmp), _fill(item, tmp)) for key, item in value.items())
    return value


def _tree(directory):
    return dict((name, open(os.path.join(directory, name), 'rb').read()) for name in sorted(os.listdir(directory)))


def test_the_table_has_at_least_100_distinct_inputs():
    ids = [row[0] for row in TABLE]
    assert len(ids) == len(set(ids))
    inputs = set((row[1], repr(sorted(row[2].items()))) for row in TABLE)
    assert len(inputs) == len(TABLE) >= 100
    assert set(row[1] for row in TABLE) == set(MAINS)


@pytest.mark.parametrize('case', TABLE, ids=[row[0] for row in TABLE])
def test_bad_input_is_refused_naming_it_and_changes_nothing(world, run, case):
    host, conf = world
    module, args, words = case[1:4]
    for change in case[4:]:
        change(host)
    tmp = str(conf)
    args = _fill(args, tmp)
    if module == 'rc_conf' and 'path' not in args and 'service' not in args:
        args['path'] = os.path.join(tmp, 'rc.conf')
    if module == 'loader_conf' and 'path' not in args:
        args['path'] = os.path.join(tmp, 'loader.conf')
    if module == 'kld':
        args.setdefault('rc_conf_path', os.path.join(tmp, 'rc.conf'))
        args.setdefault('loader_conf_path', os.path.join(tmp, 'loader.conf'))
    if module == 'bridge':
        args.setdefault('sysctl_conf_path', os.path.join(tmp, 'sysctl.conf'))
    before = host.snapshot()
    files = _tree(tmp)
    result = run(MAINS[module], args)
    assert result.get('failed'), result
    assert not result.get('changed'), result
    for word in words:
        assert _fill(word, tmp) in result['msg'], (word, result['msg'])
    assert host.snapshot() == before
    assert host.changing_calls() == []
    assert _tree(tmp) == files


# (id, module, arguments, the file edited, the line kept, words of its warning): accepted, the line kept and warned of.
WARNED = [
    ('kld-loader-misread-line', 'kld', dict(name=['nmdm'], persist='loader', loader_conf_path='{tmp}/loader.conf.misread'),
     '{tmp}/loader.conf.misread', 'vmm_load="YES" # the "vmm" module', ['line 2', 'malformed', 'fix or remove that line']),
    ('kld-loader-misread-line-broken', 'kld', dict(name=['nmdm'], persist='loader', loader_conf_path='{tmp}/loader.conf.broken'),
     '{tmp}/loader.conf.broken', 'vmm_load=YES YES', ['line 1', 'fix or remove that line']),
]


@pytest.mark.parametrize('case', WARNED, ids=[row[0] for row in WARNED])
def test_misread_lines_are_kept_and_warned_of(world, run, case):
    host, conf = world
    module, args, path, line, words = case[1:]
    tmp = str(conf)
    args, path = _fill(args, tmp), _fill(path, tmp)
    args.setdefault('rc_conf_path', os.path.join(tmp, 'rc.conf'))
    before = open(path).read()
    result = run(MAINS[module], args)
    assert result['changed'] and not result.get('failed'), result
    after = open(path).read()
    assert after.startswith(before) and line in after.splitlines()
    warnings = [text for text in result['warning_texts'] if path in text and repr(line) in text]
    assert len(warnings) == 1, result['warning_texts']
    for word in words:
        assert word in warnings[0], (word, warnings[0])
