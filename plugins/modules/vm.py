#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm
short_description: The wifibox bhyve VM and its boot service
version_added: 0.1.0
description:
  - Writes the wifibox VM configuration (V(/usr/local/etc/wifibox-bhyve/vm.conf)), installs the laptop-side
    program C(/usr/local/sbin/wifibox-bhyve) with its library (V(/usr/local/libexec/wifibox-bhyve/), the same
    module_utils code this module runs), the rc.d script C(wifibox_bhyve) and, on FreeBSD 13.x, the devd rule
    C(/usr/local/etc/devd/wifibox-bhyve.conf); then starts, stops or restarts the VM.
  - The VM runs supervised by daemon(8) with net/wifibox's exit-code rules (reboot starts it again, power-off and
    halt end supervision, a crash starts it again after O(restart_delay) until O(crash_limit) crashes within
    O(crash_window) seconds), and keeps running across reboots and suspend/resume with no Ansible run.
  - Everything is validated before anything is changed (images, firmware, the cards, the tap, IOMMU,
    C(hw.vmm.maxcpu), free memory, virtio-9p); a start that fails is undone (the VM destroyed, the card given back
    to its driver, the bridge and tap as they were, the files this task wrote restored).
  - Names do not clash with net/wifibox (C(/usr/local/sbin/wifibox), C(/usr/local/etc/rc.d/wifibox),
    C(/usr/local/etc/wifibox/)), so a laptop may have both while it migrates; only one may run the card.
author:
  - wifibox.bhyve developers (@wifibox-bhyve)
extends_documentation_fragment:
  - wifibox.bhyve.attributes
attributes:
  check_mode:
    support: full
    details: Validates and reports what would change; the VM, the files and rc.conf are not touched.
  diff_mode:
    support: full
    details: The diff shows the effective VM configuration before and after, and the VM's state.
options:
  state:
    description:
      - V(present) installs the configuration and the service; the VM is not touched.
      - V(started) also starts the VM when it is not running; a changed configuration restarts it only with
        O(restart_on_change=true).
      - V(stopped) stops it (with O(target)); V(restarted) restarts it (starts it when it is not running).
    type: str
    choices: [present, started, stopped, restarted]
    default: started
  target:
    description:
      - What besides the guest a start, stop or restart covers (net/wifibox's targets).
      - V(netif) is the guest plus the bridge O(bridge) and its tap (created on start, destroyed on stop).
      - V(guest) is the guest only. V(vmm) is the guest plus vmm.ko (unloaded on stop, reloaded on restart; refused
        while other bhyve VMs exist); the bridge is kept.
    type: str
    choices: [guest, netif, vmm]
    default: netif
  cpus:
    description: Virtual CPUs (bhyve C(-c)); at most the host's C(hw.vmm.maxcpu).
    type: int
    default: 1
  memory:
    description:
      - Guest memory in bhyve's syntax (digits with an optional K, M, G or T; a bare number is MiB). It is wired
        (C(-S), needed for pass-through), so it must fit in the free memory.
    type: str
    default: 128M
  passthru:
    description:
      - PCI devices passed to the guest as C(bus/slot/function) (as in C(pptdevs); V(3/0/0) is C(pci0:3:0:0)).
      - Required unless O(state=stopped).
    type: list
    elements: str
  boot:
    description:
      - V(uefi) boots C(esp.img) + C(root.img) with C(BHYVE_UEFI.fd) (wifibox-alpine since 2026); V(grub) the older
        layout C(disk.img) + C(grub.cfg) with grub-bhyve.
    type: str
    choices: [uefi, grub]
    default: uefi
  nic:
    description: The guest's NIC model; net/wifibox uses V(e1000).
    type: str
    choices: [e1000, virtio-net]
    default: e1000
  bridge:
    description: The host bridge the guest's tap joins.
    type: str
    default: wifibox0
  tap:
    description: The tap interface of the guest's NIC (C(tapN)); it must not belong to another bridge.
    type: str
    default: tap0
  console:
    description: Give the guest a serial console on C(/dev/nmdm-wifibox.1A) (C(wifibox-bhyve console)).
    type: bool
    default: false
  priority:
    description: Scheduling priority 0..99, mapped to nice(1) as net/wifibox does (50 is nice 0, 0 is -20, 99 is 20).
    type: int
    default: 50
  stop_wait:
    description: Seconds the guest gets to power off after the ACPI power button before C(bhyvectl --force-poweroff).
    type: int
    default: 10
  recovery:
    description:
      - What suspend/resume does. V(restart_vmm) restarts the guest with vmm.ko reloaded after resume;
        V(suspend_guest) stops the guest before suspend and starts it after resume; V(suspend_vmm) also unloads
        vmm.ko; V(none) does nothing.
      - When the guest is not back (bhyve running and every card held by ppt) within O(resume_wait) seconds after
        V(suspend_guest) or V(suspend_vmm), the service escalates to V(restart_vmm) and logs it.
    type: str
    choices: [restart_vmm, suspend_guest, suspend_vmm, none]
    default: restart_vmm
  resume_wait:
    description: Seconds the guest gets to be back after resume before the recovery escalates.
    type: int
    default: 30
  ready_wait:
    description:
      - Seconds O(state=started) (and C(wifibox-bhyve start) and the boot service) wait for the guest to
        answer on the bridge after bhyve runs; V(0) does not wait.
      - A resume does not wait for it, whatever its value, because devd(8) runs C(rc.resume) and handles no other
        event until it returns; O(resume_wait) bounds what a resume waits for.
      - The guest answers when a TCP connection from the host to the guest's LAN address (the first socket of
        the config share's C(uds_passthru.conf), else port 53) completes or is refused. The guest's address comes
        from C(uds_passthru.conf)'s C(network=), else from the host's default route via O(bridge).
      - The wait is skipped (RV(status.guest.answering) is V(null)) when the address is unknown or the host has no
        IPv4 address on O(bridge) yet, as at boot before netif; so a boot is never slowed by it.
      - A guest that does not answer in time is not an error; RV(status.guest.detail) then says
        C(bhyve running, guest not answering on wifibox0 after N s).
    type: int
    default: 60
  restart_delay:
    description: Seconds between a bhyve crash and the next start.
    type: int
    default: 5
  crash_limit:
    description: This many crashes within O(crash_window) seconds end supervision (a crash loop), logged with the reason.
    type: int
    default: 5
  crash_window:
    description: The window of O(crash_limit), in seconds.
    type: int
    default: 120
  loglevel:
    description: Level of C(/var/log/wifibox-bhyve.log).
    type: str
    choices: [error, warn, info, debug]
    default: info
  guest_role:
    description:
      - Which build of the guest runs, as the wifibox_guest role's C(wifibox_guest_role) says. It chooses the
        directory the C(app_config) 9P share passes (mounted in the guest on C(/etc/wpa_supplicant) or C(/etc/hostapd)).
      - V(client) (wpa_supplicant build) passes C(/usr/local/etc/wifibox-bhyve/wpa_supplicant); V(access_point)
        (hostapd build) passes C(/usr/local/etc/wifibox-bhyve/hostapd).
    type: str
    choices: [client, access_point]
    default: client
  enabled:
    description: Set C(wifibox_bhyve_enable) in C(/etc/rc.conf) (V(true) YES, V(false) NO) so the VM starts at boot.
    type: bool
    default: true
  restart_on_change:
    description: With O(state=started), restart a running VM whose configuration this task changed.
    type: bool
    default: false
notes:
  - The guest's configuration (the C(config) 9P share C(/usr/local/etc/wifibox-bhyve/appliance), the C(app_config)
    share C(/usr/local/etc/wifibox-bhyve/wpa_supplicant), or C(hostapd) with O(guest_role=access_point)) is the
    wifibox_guest role's; this module passes them to
    bhyve. The C(var) share is C(/var/run/wifibox-bhyve/appliance).
  - On the laptop, C(wifibox-bhyve start|stop|restart [guest|netif|vmm]), C(wifibox-bhyve status [--json]),
    C(wifibox-bhyve console) (with O(console=true); leave cu with C(~.)), C(wifibox-bhyve version) (SHA-256 of the
    images) and C(wifibox-bhyve bugreport [FILE]) (one archive, secrets removed); C(service wifibox_bhyve
    start|stop|restart|status|suspend|resume), where start, stop and restart take the same targets.
  - C(restart) refuses when the VM is not running (as net/wifibox); C(start) of a running VM and C(stop) of a stopped
    one succeed with a warning in the log.
  - "Socket pass-through (wpa_cli, wpa_gui or hostapd_cli on the host): when the config share holds a readable
    C(uds_passthru.conf) (the wifibox_guest role's C(wifibox_guest_uds_passthru)), the service starts one
    C(daemon -r -t wifibox-uds-passthru socat UNIX-RECVFROM:PATH,...,user=,group=,mode= TCP4:GUEST:PORT) per socket
    after the guest runs (pid file C(/var/run/wifibox-bhyve/uds-passthru.PORT.pid)), stops them first on stop,
    and starts them again with the guest (restart, resume). It creates the socket's directory when missing. Without
    socat (C(pkg install socat)), or without a guest address, it logs one warning and the VM starts anyway."
  - The service's log is C(/var/log/wifibox-bhyve.log); its state (pid, restarts, last exit, last suspend/resume)
    is C(/var/run/wifibox-bhyve/state.json), the daemon(8) pid file C(/var/run/wifibox-bhyve/supervisor.pid).
seealso:
  - module: wifibox.bhyve.vm_info
  - name: bhyve(8)
    description: The hypervisor.
    link: https://man.freebsd.org/cgi/man.cgi?query=bhyve&sektion=8
  - name: daemon(8)
    description: The supervisor.
    link: https://man.freebsd.org/cgi/man.cgi?query=daemon&sektion=8
"""

EXAMPLES = r"""
- name: Run the wifibox guest with the card at pci0:3:0:0
  wifibox.bhyve.vm:
    passthru: [3/0/0]

- name: More memory for ath10k, restart the guest if that changed the configuration
  wifibox.bhyve.vm:
    passthru: [3/0/0]
    memory: 256M
    restart_on_change: true

- name: Stop the guest and unload vmm.ko (keep the bridge)
  wifibox.bhyve.vm:
    state: stopped
    target: vmm
"""

RETURN = r"""
status:
  description: The VM service in one look (after the task; in check mode, as it is now).
  returned: always
  type: dict
  contains:
    running: {description: bhyve runs, type: bool}
    supervised: {description: the daemon(8) supervisor runs, type: bool}
    pid: {description: bhyve's pid, type: int}
    supervisor_pid: {description: daemon(8)'s pid, type: int}
    uptime: {description: seconds since bhyve started, type: int}
    restarts: {description: restarts (reboots and crashes) since the last start, type: int}
    last_exit: {description: "C(code), C(reason), C(at) of bhyve's last exit", type: dict}
    stopped_reason: {description: why supervision ended, type: str}
    card_driver: {description: "the driver holding the first passthru card: V(ppt0), V(iwm0); null when it is gone", type: str}
    cards: {description: "per passthru device: C(device), C(selector), C(present), C(driver), C(held_by_ppt)", type: list}
    bridge: {description: "C(name), C(exists), C(up), C(members), C(addresses) (the host's IPv4 and IPv6 addresses on it)", type: dict}
    tap: {description: "C(name), C(exists), C(up), C(member)", type: dict}
    last_suspend: {description: "C(at), C(method), C(was_running), C(result)", type: dict}
    last_resume: {description: "C(at), C(method), C(result), C(escalated_to)", type: dict}
    recovery: {description: the configured recovery method, type: str}
    running_config: {description: the configuration the running bhyve was started with, type: dict}
    guest:
      description:
        - "Is the guest up on the bridge (not only bhyve): C(answering) (V(true), V(false), or V(null) when the host
          cannot ask yet: guest address unknown or no IPv4 address on the bridge), C(ip), C(detail)
          (e.g. C(bhyve running, guest not answering on wifibox0 after 60 s (...)))."
      type: dict
      contains:
        answering: {description: "V(true), V(false), or V(null) when the host cannot ask yet", type: bool}
        ip: {description: the guest's address on the bridge that was asked, type: str}
        detail: {description: "what the probe saw, in words", type: str}
    uds_passthru:
      description: "The host side of the socket pass-through, one per socket of C(uds_passthru.conf): C(path),
        C(port), C(running), C(pid) (of its daemon(8))."
      type: list
  sample: {"running": true, "pid": 4321, "card_driver": "ppt0", "restarts": 0}
argv:
  description: The command the service runs (nice(1) and bhyve(8)), from the same code the service uses.
  returned: unless O(state=stopped) without O(passthru)
  type: list
  elements: str
  sample: [/usr/bin/nice, "-n", "0", /usr/sbin/bhyve, "-c", "1", "-m", 128M, "-A", "-H", "-P", "-S", "-u", "-w",
           "-s", "0,hostbridge", "-s", "31,lpc", "-l", "bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd",
           "-s", "4:0,virtio-blk,/usr/local/share/wifibox/esp.img", "..."]
grub_argv:
  description: The grub-bhyve command run before bhyve with O(boot=grub), else null.
  returned: unless O(state=stopped) without O(passthru)
  type: list
  elements: str
config:
  description: The effective VM configuration (what vm.conf holds).
  returned: unless O(state=stopped) without O(passthru)
  type: dict
files:
  description: The files this task wrote (would write in check mode).
  returned: always
  type: list
  elements: str
actions:
  description: What the task did to the VM, in order (for example V(start netif), V(restart guest)).
  returned: always
  type: list
  elements: str
restart_required:
  description:
    - The VM runs with an older configuration than the one written (the task changed it without
      O(restart_on_change=true)); restart it (O(state=restarted)) to apply it.
  returned: always
  type: bool
"""

import importlib
import os
import shutil
import sys
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wifibox.bhyve.plugins.module_utils import bhyve
from ansible_collections.wifibox.bhyve.plugins.module_utils import constants as C
from ansible_collections.wifibox.bhyve.plugins.module_utils import vmservice
from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import C_LOCALE

# The module_utils the laptop-side program imports, copied from this module's own.
LIBRARY = ('constants', 'bhyve', 'vmservice', 'ifconfig', 'pciconf')
_PACKAGE = 'ansible_collections.wifibox.bhyve.plugins.module_utils'


def library_files():
    """{path under LIBEXEC: source} for the program's library, from the loaded modules."""
    files = {}
    parts = _PACKAGE.split('.')
    for depth in range(1, len(parts) + 1):
        files[os.path.join(C.WIFIBOX_BHYVE_LIBEXEC, *(parts[:depth] + ['__init__.py']))] = ''
    for name in LIBRARY:
        full = _PACKAGE + '.' + name
        mod = importlib.import_module(full)
        source = None
        loader = getattr(mod, '__loader__', None)
        if loader is not None and hasattr(loader, 'get_source'):
            source = loader.get_source(full)
        if source is None:
            with open(mod.__file__) as handle:
                source = handle.read()
        files[os.path.join(C.WIFIBOX_BHYVE_LIBEXEC, *(parts + [name + '.py']))] = source
    return files


def read_bytes(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (OSError, IOError):
        return None


class Files(object):
    """Desired files, written atomically, with the old bytes kept to put back on failure."""

    def __init__(self, module):
        self.module = module
        self.saved = {}
        self.created_dirs = []

    def write(self, path, text, mode):
        data = text.encode('utf-8')
        old = read_bytes(path)
        if old == data and (os.stat(path).st_mode & 0o7777) == mode:
            return False
        self.saved.setdefault(path, old)
        self.makedirs(os.path.dirname(path))
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.wifibox-bhyve.')
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        self.module.atomic_move(tmp, path)
        os.chmod(path, mode)
        return True

    def makedirs(self, directory):
        """Create ``directory`` (and parents); remember the topmost one created, to remove on failure."""
        if os.path.isdir(directory):
            return False
        top = directory
        while not os.path.isdir(os.path.dirname(top)):
            top = os.path.dirname(top)
        os.makedirs(directory, 0o755)
        self.created_dirs.append(top)
        return True

    def remove(self, path):
        old = read_bytes(path)
        if old is None:
            return False
        self.saved.setdefault(path, old)
        os.unlink(path)
        return True

    def restore(self):
        for path, old in self.saved.items():
            if old is None:
                if os.path.exists(path):
                    os.unlink(path)
            else:
                with open(path, 'wb') as handle:
                    handle.write(old)
        for directory in reversed(self.created_dirs):
            shutil.rmtree(directory, ignore_errors=True)


def desired_files(vm, osreldate):
    """{path: (text, mode)} the service needs; None as text means: must not exist."""
    files = {
        C.VM_CONF: (bhyve.format_config(vm), 0o644),
        C.WIFIBOX_BHYVE_COMMAND: (vmservice.launcher_text(sys.executable), 0o755),
        C.WIFIBOX_BHYVE_RC_SCRIPT: (vmservice.rc_script_text(), 0o755),
    }
    for path, text in library_files().items():
        files[path] = (text, 0o644)
    needs_devd = osreldate is not None and osreldate < C.RC_SUSPEND_KEYWORD_OSRELDATE
    files[C.WIFIBOX_BHYVE_DEVD_CONF] = (vmservice.devd_rule_text(), 0o644) if needs_devd else (None, 0o644)
    return files


def changed_files(files):
    out = []
    for path, (text, mode) in sorted(files.items()):
        old = read_bytes(path)
        if text is None:
            if old is not None:
                out.append(path)
        elif old != text.encode('utf-8') or (os.stat(path).st_mode & 0o7777) != mode:
            out.append(path)
    return out


class Runner(object):
    def __init__(self, module):
        self.module = module

    def __call__(self, argv):
        return self.module.run_command(argv, environ_update=C_LOCALE)


def current_config():
    text = read_bytes(C.VM_CONF)
    if text is None:
        return None, ''
    text = text.decode('utf-8', 'replace')
    try:
        return bhyve.parse_config(text), text
    except bhyve.VMConfigError:
        return None, text


def rc_enabled(module):
    rc, out, _err = module.run_command(['sysrc', '-n', '-q', C.WIFIBOX_BHYVE_RCVAR], environ_update=C_LOCALE)
    return out.strip() if rc == 0 else None


def plan_actions(state, target, running, config_changed, restart_on_change):
    if state == 'started':
        if not running:
            return [('start', target)]
        if config_changed and restart_on_change:
            return [('restart', target)]
    elif state == 'stopped' and running:
        return [('stop', target)]
    elif state == 'restarted':
        return [('restart' if running else 'start', target)]
    return []


def run_module():
    spec = dict(
        state=dict(type='str', default='started', choices=['present', 'started', 'stopped', 'restarted']),
        target=dict(type='str', default='netif', choices=['guest', 'netif', 'vmm']),
        cpus=dict(type='int', default=1),
        memory=dict(type='str', default='128M'),
        passthru=dict(type='list', elements='str', no_log=False),
        boot=dict(type='str', default='uefi', choices=list(bhyve.BOOT_METHODS)),
        nic=dict(type='str', default='e1000', choices=list(bhyve.NIC_MODELS)),
        bridge=dict(type='str', default=C.BRIDGE_NAME),
        tap=dict(type='str', default=C.TAP_NAME),
        console=dict(type='bool', default=False),
        priority=dict(type='int', default=50),
        stop_wait=dict(type='int', default=10),
        recovery=dict(type='str', default='restart_vmm', choices=list(bhyve.RECOVERY_METHODS)),
        resume_wait=dict(type='int', default=30),
        ready_wait=dict(type='int', default=60),
        restart_delay=dict(type='int', default=5),
        crash_limit=dict(type='int', default=5),
        crash_window=dict(type='int', default=120),
        loglevel=dict(type='str', default='info', choices=list(bhyve.LOG_LEVELS)),
        guest_role=dict(type='str', default='client', choices=list(C.GUEST_ROLES)),
        enabled=dict(type='bool', default=True),
        restart_on_change=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    state, target = p['state'], p['target']
    result = dict(changed=False, files=[], actions=[])

    old_vm, old_text = current_config()
    if state == 'stopped' and not p['passthru']:
        if old_vm is None:
            module.fail_json(msg='state=stopped needs passthru (or an installed %s) to know the VM: pass the same '
                                 'options as when it was started' % C.VM_CONF, **result)
        vm = old_vm
        install = False
    else:
        settings = dict((key, p[key]) for key in bhyve.DEFAULTS)
        try:
            vm = bhyve.normalise(settings)
        except bhyve.VMConfigError as exc:
            module.fail_json(msg=str(exc), **result)
        install = True
    result['config'] = vm
    result['argv'] = bhyve.command_argv(vm, bhyve.app_config_mode(vm=vm))
    result['grub_argv'] = bhyve.grub_argv(vm)

    log = vmservice.Log(None if module.check_mode else C.WIFIBOX_BHYVE_LOG, vm['loglevel'])
    host = vmservice.Host(Runner(module), log)
    service = vmservice.Service(vm, host, log)
    running = service.running()
    new_text = bhyve.format_config(vm)
    # what the running VM was started with decides, so a change written earlier without a
    # restart still restarts it when restart_on_change asks
    applied = service.state.read().get('running_config') if running else None
    config_changed = install and ((applied or old_vm) != vm)
    actions = plan_actions(state, target, running, config_changed, p['restart_on_change'])
    result['restart_required'] = bool(running and config_changed and not actions and state != 'stopped')

    osrel = host.sysctl('kern.osreldate')
    files = desired_files(vm, int(osrel) if osrel and osrel.isdigit() else None) if install else {}
    to_write = changed_files(files)
    # the guest's config share must exist for bhyve; its content is the wifibox_guest role's
    dirs_needed = [d for d in (os.path.join(C.WIFIBOX_BHYVE_CONF_DIR, C.APPLIANCE_DIR),) if install and not os.path.isdir(d)]
    want_enable = 'YES' if p['enabled'] else 'NO'
    enable_now = rc_enabled(module) if install else want_enable
    enable_change = install and enable_now != want_enable

    # Validate everything before changing anything.
    try:
        for verb, tgt in actions:
            if tgt == 'vmm' and verb in ('stop', 'restart'):
                service.check_no_other_vm()
            if verb in ('start', 'restart'):
                service.preflight(kernel_loaded=host.module_loaded(C.VMM_MODULE) and verb == 'start')
    except vmservice.ServiceError as exc:
        result['status'] = service.status()
        module.fail_json(msg=exc.msg, **result)

    result['files'] = dirs_needed + to_write + ([C.RC_CONF] if enable_change else [])
    result['actions'] = ['%s %s' % action for action in actions]
    result['changed'] = bool(dirs_needed or to_write or enable_change or actions)
    if module._diff:
        result['diff'] = [
            dict(before_header=C.VM_CONF, after_header=C.VM_CONF, before=old_text, after=new_text if install else old_text),
            dict(before_header='VM', after_header='VM',
                 before='running: %s\n%s_enable: %s\n' % ('yes' if running else 'no', C.WIFIBOX_BHYVE_SERVICE, enable_now),
                 after='running: %s\n%s_enable: %s\n' % (
                     'no' if state == 'stopped' else 'yes' if state != 'present' else ('yes' if running else 'no'),
                     C.WIFIBOX_BHYVE_SERVICE, want_enable if install else enable_now)),
        ]
    if module.check_mode:
        result['status'] = service.status()
        module.exit_json(**result)

    written = Files(module)
    began = time.time()
    try:
        for directory in dirs_needed:
            written.makedirs(directory)
        for path in to_write:
            text, mode = files[path]
            if text is None:
                written.remove(path)
            else:
                written.write(path, text, mode)
        if enable_change:
            written.saved.setdefault(C.RC_CONF, read_bytes(C.RC_CONF))
            module.run_command(['sysrc', '%s=%s' % (C.WIFIBOX_BHYVE_RCVAR, want_enable)],
                               check_rc=False, environ_update=C_LOCALE)
            if rc_enabled(module) != want_enable:
                raise vmservice.ServiceError('sysrc could not set %s=%s in %s'
                                             % (C.WIFIBOX_BHYVE_RCVAR, want_enable, C.RC_CONF))
        if C.WIFIBOX_BHYVE_DEVD_CONF in to_write and host.run(['service', 'devd', 'status'])[0] == 0:
            host.run(['service', 'devd', 'restart'], check=True)
        for verb, tgt in actions:
            getattr(service, verb)(tgt)
    except vmservice.ServiceError as exc:
        written.restore()
        result['files'] = []
        result['status'] = service.status()
        left = 'the files this task wrote are restored'
        result['changed'] = result['status']['running'] != running
        if result['changed']:
            left += '; the VM was %s before and is %s now' % (
                'running' if running else 'stopped', 'running' if result['status']['running'] else 'stopped')
        module.fail_json(msg='%s (%s)' % (exc.msg, left), **result)
    result['elapsed'] = round(time.time() - began, 2)
    result['status'] = service.status()
    module.exit_json(**result)


def main():
    run_module()


if __name__ == '__main__':
    main()
