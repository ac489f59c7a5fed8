# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The laptop side of the wifibox VM: start, stop, supervise, status, suspend/resume.

The vm module copies this file (with bhyve.py, constants.py and the parsers
it uses) to /usr/local/libexec/wifibox-bhyve/ and installs
/usr/local/sbin/wifibox-bhyve, a three-line launcher that calls ``main``.  So
the rc.d script, the devd rule, people at a terminal and the module all run
this code, and the bhyve argv comes from bhyve.py only.

Steps (as net/wifibox names them, WIFIBOX.md section 2): G is the guest, N the
bridge and its tap, V vmm.ko.  Targets: none or ``netif`` = N+G, ``guest`` =
G, ``vmm`` = V+G (the bridge is kept).

Supervision: ``start`` runs ``daemon -r -P supervisor.pid -t wifibox-bhyve
wifibox-bhyve _run``.  ``_run`` (the manager) binds the cards to ppt(4),
runs bhyve under nice(1), and after every exit destroys the VM (bhyvectl
--destroy) and gives the cards back to the driver they had.  By bhyve's exit
status: 0 (reboot) -> exit 1 so daemon(8) runs the manager again; 1/2
(power-off/halt) or a stop request -> end supervision; anything else is a
crash -> start again after ``restart_delay`` unless ``crash_limit`` crashes
happened within ``crash_window`` seconds (then supervision ends, logged).

Plain Python 3 standard library: this runs on the laptop without Ansible.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time

from ansible_collections.wifibox.bhyve.plugins.module_utils import bhyve
from ansible_collections.wifibox.bhyve.plugins.module_utils import constants as C
from ansible_collections.wifibox.bhyve.plugins.module_utils.ifconfig import parse_ifconfig
from ansible_collections.wifibox.bhyve.plugins.module_utils.pciconf import parse_pciconf

VERSION = '0.1.0'
TARGETS = ('guest', 'netif', 'vmm')
EXIT_REASONS = {0: 'the guest rebooted', 1: 'the guest powered off', 2: 'the guest halted',
                3: 'the guest triple-faulted', 4: 'bhyve exited with an error'}
# Exit codes of the command (net/wifibox's where it has one).
EXIT_USAGE, EXIT_CONFIG, EXIT_IMAGE, EXIT_NO_TAP, EXIT_KERNEL = 1, 3, 4, 5, 127
# How long start waits for bhyve to come up, and how long bhyve must then keep running.
START_TIMEOUT = 20.0
START_SETTLE = 1.0
SUPERVISOR_EXIT_WAIT = 30.0
LEVELS = {'error': 0, 'warn': 1, 'info': 2, 'debug': 3}
# Secret-looking assignments removed from bug reports (wpa_supplicant.conf, hostapd, UCI, ...).
_SECRET_NAME = r'[\w.-]*(?:psk|passw(?:or)?d|passphrase|secret|private_key_passwd|wep_key\d?|sae_password)'
_SECRET = re.compile(r'(?i)\b(%s\s*[=:]\s*)("[^"\n]*"|\'[^\'\n]*\'|\S+)' % _SECRET_NAME)
# UCI (OpenWrt): option key 'value'
_SECRET_UCI = re.compile(r'(?im)^(\s*option\s+(?:key|%s)\s+)(\S.*)$' % _SECRET_NAME)


class ServiceError(Exception):
    """Something stops the step; the message says what and how to fix it."""

    def __init__(self, msg, code=1):
        super(ServiceError, self).__init__(msg)
        self.msg = msg
        self.code = code


# --- running commands and reading files ---------------------------------------------

def _subprocess_runner(argv):
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, env=dict(os.environ, LC_ALL='C'), check=False)
    except OSError as exc:
        return 127, '', '%s: %s' % (argv[0], exc.strerror)
    return proc.returncode, proc.stdout, proc.stderr


class Host(object):
    """The laptop as the service sees it: commands (``runner``) and files (os)."""

    def __init__(self, runner=None, log=None):
        self.runner = runner or _subprocess_runner
        self.log = log or Log(None)

    def run(self, argv, check=False, what=None):
        rc, out, err = self.runner([str(a) for a in argv])
        detail = (': ' + err.strip()) if err.strip() else ''
        self.log.debug('[%s] %s -> %d%s' % (os.path.basename(argv[0]), ' '.join(argv[1:]), rc, detail))
        if check and rc != 0:
            raise ServiceError('%s failed (exit %d): %s%s' % (' '.join(argv), rc, err.strip() or out.strip(),
                                                              ('; ' + what) if what else ''))
        return rc, out, err

    # kernel
    def sysctl(self, name):
        rc, out, _err = self.run([C.SYSCTL, '-n', name])
        return out.strip() if rc == 0 else None

    def module_loaded(self, name):
        return self.run([C.KLDSTAT, '-q', '-m', name])[0] == 0

    def vms(self):
        try:
            return sorted(os.listdir(C.VMM_DEV_DIR))
        except OSError:
            return []

    # PCI
    def pci_device(self, pptdev):
        """pciconf's view of one passthru device, or None when it is not on the bus."""
        rc, out, _err = self.run([C.PCICONF, '-l', bhyve.pciconf_selector(pptdev)])
        if rc != 0:
            return None
        devices, _unparsed = parse_pciconf(out)
        return devices[0] if devices else None

    # network
    def interface(self, name):
        rc, out, _err = self.run([C.IFCONFIG, name])
        if rc != 0:
            return None
        found = parse_ifconfig(out)
        return found[0] if found else None

    def interfaces(self):
        rc, out, _err = self.run([C.IFCONFIG, '-a'])
        return parse_ifconfig(out) if rc == 0 else []


# --- the log -----------------------------------------------------------------------------

class Log(object):
    """Leveled lines in /var/log/wifibox-bhyve.log: ``2026-11-28T04:50:00+0000 INFO  message``.

    Errors and warnings are also written to stderr when ``echo`` is set (a person
    ran the command).
    """

    def __init__(self, path, level='info', echo=False):
        self.path = path
        self.level = LEVELS.get(level, 2)
        self.echo = echo
        self.warned = False

    def write(self, level, msg):
        if self.echo and LEVELS[level] <= 1:
            sys.stderr.write('wifibox-bhyve: %s%s\n' % ('' if level == 'error' else 'warning: ', msg))
        if self.path is None or LEVELS[level] > self.level:
            return
        line = '%s %-5s %s\n' % (time.strftime('%Y-%m-%dT%H:%M:%S%z'), level.upper(), msg)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode('utf-8', 'replace'))
            finally:
                os.close(fd)
        except OSError as exc:
            if not self.warned:
                self.warned = True
                sys.stderr.write('wifibox-bhyve: warning: cannot write %s: %s\n' % (self.path, exc.strerror))

    def error(self, msg):
        self.write('error', msg)

    def warn(self, msg):
        self.write('warn', msg)

    def info(self, msg):
        self.write('info', msg)

    def debug(self, msg):
        self.write('debug', msg)


# --- the service state (what status reports) ------------------------------------------------

class State(object):
    """JSON in /var/run/wifibox-bhyve/state.json, changed under a lock (manager and commands)."""

    def __init__(self, path=None):
        self.path = path or C.SERVICE_STATE

    def read(self):
        try:
            with open(self.path) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def update(self, **changes):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path + '.lock', os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = self.read()
            for key, value in changes.items():
                if callable(value):
                    value = value(data.get(key))
                data[key] = value
            tmp = self.path + '.tmp'
            with open(tmp, 'w') as handle:
                json.dump(data, handle, sort_keys=True)
            os.rename(tmp, self.path)
            return data
        finally:
            os.close(fd)


def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    try:
        with open('/proc/%d/stat' % int(pid)) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return True  # no procfs (FreeBSD without linprocfs): kill -0 answered


def read_pidfile(path):
    try:
        with open(path) as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def wait_until(predicate, timeout, step=0.1):
    end = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(step)


# --- the socket pass-through's configuration (WIFIBOX.md section 4) -----------------------------

_UDS_OPTION = re.compile(r'^(path|user|group|mode|port)=(.*)$')


def parse_uds_conf(text, source=C.UDS_PASSTHRU_CONF):
    """uds_passthru.conf (sh assignments) -> {'ip': str or None, 'netmask': ..., 'sockets': [dict]}.

    ``network=IP:MASK`` (empty: the guest IP comes from the host's default route via the
    bridge), ``sockets="path=..,user=..,group=..,mode=..,port=.. ..."``.  ServiceError names
    the line and the fix.
    """
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        found = re.match(r'^(network|sockets)=(.*)$', line)
        if not found:
            continue  # other shell lines are the guest service's business
        value = found.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
        values[found.group(1)] = (value, number)
    network, _line = values.get('network', ('', 0))
    ip = netmask = None
    if network:
        ip, _sep, netmask = network.partition(':')
        if not re.match(r'^\d{1,3}(\.\d{1,3}){3}$', ip):
            raise ServiceError('%s line %d: network=%r is not IP:MASK (e.g. 10.0.0.1:255.255.255.0): fix it with '
                               'the wifibox_guest role' % (source, _line, network), EXIT_CONFIG)
    sockets = []
    text_sockets, line_no = values.get('sockets', ('', 0))
    for entry in text_sockets.split():
        sock = {'user': 'root', 'group': '0', 'mode': '770'}
        for part in entry.split(','):
            option = _UDS_OPTION.match(part)
            if not option:
                raise ServiceError('%s line %d: %r in %r is not one of path=, user=, group=, mode=, port=: fix '
                                   'wifibox_guest_uds_sockets' % (source, line_no, part, entry), EXIT_CONFIG)
            sock[option.group(1)] = option.group(2)
        if not sock.get('path', '').startswith('/') or not sock.get('port', '').isdigit() \
                or not 0 < int(sock['port']) < 65536 or not re.match(r'^[0-7]{3,4}$', sock['mode']):
            raise ServiceError('%s line %d: socket %r needs an absolute path=, a port= 1..65535 and an octal mode=: '
                               'fix wifibox_guest_uds_sockets' % (source, line_no, entry), EXIT_CONFIG)
        sock['port'] = int(sock['port'])
        sockets.append(sock)
    return {'ip': ip, 'netmask': netmask, 'sockets': sockets}


def parse_route_get(text):
    """`route -n get default` -> {'gateway': .., 'interface': ..} (FreeBSD's `key: value` lines)."""
    found = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(':')
        if sep and key in ('gateway', 'interface'):
            found[key] = value.strip()
    return found


def tcp_probe(ip, port, timeout=1.0):
    """Does the guest's network stack answer at ip:port?  -> (bool, what happened).

    A completed connection or a refusal (the guest's TCP answered with RST) both prove
    the guest is up on the link; a timeout or no route do not.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((ip, port))
        return True, 'accepted on %s:%d' % (ip, port)
    except ConnectionRefusedError:
        return True, 'refused on %s:%d (the guest answered)' % (ip, port)
    except socket.timeout:
        return False, 'no answer from %s:%d within %.0f s' % (ip, port, timeout)
    except OSError as exc:
        return False, '%s:%d: %s' % (ip, port, exc.strerror or exc)
    finally:
        sock.close()


# --- the service ---------------------------------------------------------------------------------

class Service(object):
    """One command on the laptop: the VM configuration, the host, the log and the state."""

    def __init__(self, vm, host=None, log=None, state=None):
        self.vm = vm
        self.log = log or Log(C.WIFIBOX_BHYVE_LOG, vm['loglevel'])
        self.host = host or Host(log=self.log)
        self.state = state or State()

    # -- status --------------------------------------------------------------------
    def supervisor_pid(self):
        pid = read_pidfile(C.SUPERVISOR_PIDFILE)
        return pid if pid_alive(pid) else None

    def bhyve_pid(self):
        pid = self.state.read().get('bhyve_pid')
        return pid if pid_alive(pid) else None

    def running(self):
        return self.supervisor_pid() is not None or self.bhyve_pid() is not None

    def status(self):
        """Everything `status` prints and the modules return, in one dict."""
        st = self.state.read()
        supervisor, pid = self.supervisor_pid(), self.bhyve_pid()
        cards = []
        for dev in self.vm['passthru']:
            found = self.host.pci_device(dev)
            cards.append({'device': dev, 'selector': bhyve.pciconf_selector(dev), 'present': found is not None,
                          'driver': found['name'] if found else None,
                          'held_by_ppt': bool(found and found['held_by_ppt']),
                          'driver_before': (st.get('drivers') or {}).get(dev)})
        bridge = self.host.interface(self.vm['bridge'])
        tap = self.host.interface(self.vm['tap'])
        started = st.get('started_at') if pid else None
        return {
            'running': pid is not None,
            'supervised': supervisor is not None,
            'supervisor_pid': supervisor,
            'pid': pid,
            'vm': C.VM_NAME,
            'vm_exists': C.VM_NAME in self.host.vms(),
            'uptime': int(time.time() - started) if started else None,
            'restarts': st.get('restarts', 0),
            'last_exit': st.get('last_exit'),
            'stopped_reason': st.get('stopped_reason'),
            'cards': cards,
            'card_driver': cards[0]['driver'] if cards else None,
            'bridge': {'name': self.vm['bridge'], 'exists': bridge is not None,
                       'up': bool(bridge and 'UP' in bridge['flags']),
                       'members': bridge['member_names'] if bridge else [],
                       # the host's own addresses on the bridge (rc.conf's ifconfig_wifibox0), scope ids cut
                       'addresses': [entry['address'].split('%')[0] for entry in bridge['inet'] + bridge['inet6']]
                       if bridge else []},
            'tap': {'name': self.vm['tap'], 'exists': tap is not None, 'up': bool(tap and 'UP' in tap['flags']),
                    'member': bool(bridge and self.vm['tap'] in bridge['member_names'])},
            'last_suspend': st.get('last_suspend'),
            'last_resume': st.get('last_resume'),
            'recovery': self.vm['recovery'],
            # the configuration bhyve was started with (vm.conf may have changed since)
            'running_config': st.get('running_config') if pid else None,
            'uds_passthru': self.passthru_status(),
            # is the guest up on the bridge (not only bhyve)? None: the host cannot ask yet
            'guest': self.guest_answers() if pid else {'answering': False, 'ip': None,
                                                       'detail': 'bhyve is not running'},
        }

    # -- checks before starting ----------------------------------------------------------
    def check_files(self):
        for path in bhyve.image_paths(self.vm) + [bhyve.firmware_path(self.vm)]:
            if not os.path.exists(path):
                what = 'guest image' if path.startswith(C.GUEST_ROOT) else 'boot firmware'
                hint = ('install the guest package (wifibox-alpine) or copy the image there'
                        if what == 'guest image' else
                        'install sysutils/bhyve-firmware (pkg install bhyve-firmware)' if self.vm['boot'] == 'uefi'
                        else 'install sysutils/grub2-bhyve (pkg install grub2-bhyve)')
                raise ServiceError('%s %s is missing (boot=%s): %s' % (what, path, self.vm['boot'], hint),
                                   EXIT_IMAGE)

    def check_cards(self):
        """Each passthru device exists, is not a bridge, and is held by ppt or can be given to it."""
        for dev in self.vm['passthru']:
            found = self.host.pci_device(dev)
            if found is None:
                raise ServiceError('passthru device %s (%s) is not on the PCI bus: check `pciconf -l` for the '
                                   'card\'s bus/slot/function and set passthru to it; after a resume a reboot '
                                   'or `wifibox-bhyve restart vmm` may bring it back' % (dev, bhyve.pciconf_selector(dev)))
            if found['class'] and found['class'].startswith('0x0604'):
                raise ServiceError('passthru device %s is a PCI bridge (class %s), not a card: pass the Wi-Fi '
                                   'card behind it (pciconf -lv)' % (dev, found['class']))

    def check_kernel(self):
        """IOMMU on, cpus within hw.vmm.maxcpu, virtio-9p in bhyve; vmm must be loaded."""
        intel = self.host.sysctl('hw.vmm.vmx.initialized') == '1'
        if intel:
            if self.host.sysctl('hw.vmm.iommu.enable') in (None, '0'):
                raise ServiceError('PCI pass-through is not available: hw.vmm.iommu.enable is 0; remove '
                                   'hw.vmm.iommu.enable="0" from /boot/loader.conf, enable VT-d in the '
                                   'firmware setup and reboot', EXIT_KERNEL)
        elif self.host.sysctl('hw.vmm.amdvi.enable') != '1':
            raise ServiceError('PCI pass-through is not available: hw.vmm.amdvi.enable is not 1; add '
                               'hw.vmm.amdvi.enable="1" to /boot/loader.conf (loader_conf module) and reboot',
                               EXIT_KERNEL)
        maxcpu = self.host.sysctl('hw.vmm.maxcpu')
        if maxcpu and maxcpu.isdigit() and self.vm['cpus'] > int(maxcpu):
            raise ServiceError('cpus=%d is more than this host allows (hw.vmm.maxcpu=%s): set cpus to %s or fewer'
                               % (self.vm['cpus'], maxcpu, maxcpu), EXIT_CONFIG)
        self.check_memory()
        rc, out, err = self.host.run([C.BHYVE, '-s', 'help'])
        if 'virtio-9p' not in (out + err).split():
            raise ServiceError('this bhyve does not offer virtio-9p (`bhyve -s help`), which the guest needs for '
                               'its configuration: use FreeBSD 13.0 or later', EXIT_KERNEL)

    def check_memory(self):
        mib = bhyve.parse_memory(self.vm['memory'])
        free, page = self.host.sysctl('vm.stats.vm.v_free_count'), self.host.sysctl('vm.stats.vm.v_page_size')
        if free and page and free.isdigit() and page.isdigit():
            free_mib = int(free) * int(page) // (1 << 20)
            if mib > free_mib:
                raise ServiceError('memory=%s does not fit: the guest memory is wired and only %d MiB are free; '
                                   'lower memory (128M is the default) or free memory' % (self.vm['memory'], free_mib),
                                   EXIT_CONFIG)

    def check_tap(self):
        """The tap must not belong to another bridge."""
        for iface in self.host.interfaces():
            if iface['is_bridge'] and iface['name'] != self.vm['bridge'] and self.vm['tap'] in iface['member_names']:
                raise ServiceError('tap=%s is a member of bridge %s, not of %s: choose another tap (tap=tapN) or '
                                   'remove it there (ifconfig %s deletem %s)'
                                   % (self.vm['tap'], iface['name'], self.vm['bridge'], iface['name'], self.vm['tap']),
                                   EXIT_NO_TAP)

    def check_no_other_vm(self):
        others = [name for name in self.host.vms() if name != C.VM_NAME]
        if others:
            raise ServiceError('vmm.ko cannot be reloaded while other bhyve VMs exist (%s): stop them first, or use '
                               'target guest / recovery suspend_guest' % ', '.join(others), EXIT_KERNEL)

    def preflight(self, kernel_loaded=True):
        """Everything checkable without changing the host (the module runs this in check mode too)."""
        self.check_files()
        self.check_cards()
        self.check_tap()
        if kernel_loaded:
            self.check_kernel()

    # -- steps ----------------------------------------------------------------------------------
    def load_vmm(self, done):
        if not self.host.module_loaded(C.VMM_MODULE):
            self.host.run([C.KLDLOAD, C.VMM_MODULE], check=True, what='vmm.ko is needed for bhyve')
            done.append('vmm')
            self.log.info('loaded vmm.ko')

    def unload_vmm(self):
        self.check_no_other_vm()
        if self.host.module_loaded(C.VMM_MODULE):
            self.host.run([C.KLDUNLOAD, C.VMM_MODULE], check=True, what='vmm.ko is busy')
            self.log.info('unloaded vmm.ko')

    def create_bridge(self, done):
        if not self.host.module_loaded(C.BRIDGE_MODULE):
            self.host.run([C.KLDLOAD, C.BRIDGE_MODULE], check=True)
        if self.host.interface(self.vm['bridge']) is None:
            self.host.run([C.IFCONFIG, 'bridge', 'create', 'name', self.vm['bridge'], 'up'], check=True)
            done.append('bridge')
            self.log.info('created bridge %s' % self.vm['bridge'])
        self.add_tap(done)

    def add_tap(self, done):
        bridge = self.host.interface(self.vm['bridge'])
        if bridge is None:
            raise ServiceError('bridge %s does not exist: run `wifibox-bhyve start netif`' % self.vm['bridge'],
                               EXIT_NO_TAP)
        if self.host.interface(self.vm['tap']) is None:
            self.host.run([C.IFCONFIG, self.vm['tap'], 'create', 'up'], check=True)
            done.append('tap')
            self.log.info('created %s' % self.vm['tap'])
        if self.vm['tap'] not in bridge['member_names']:
            self.host.run([C.IFCONFIG, self.vm['bridge'], 'addm', self.vm['tap']], check=True)
            done.append('addm')
            self.log.info('added %s to %s' % (self.vm['tap'], self.vm['bridge']))

    def destroy_bridge(self):
        bridge = self.host.interface(self.vm['bridge'])
        if bridge is not None and self.vm['tap'] in bridge['member_names']:
            self.host.run([C.IFCONFIG, self.vm['bridge'], 'deletem', self.vm['tap']])
        if self.host.interface(self.vm['tap']) is not None:
            self.host.run([C.IFCONFIG, self.vm['tap'], 'destroy'])
        if bridge is not None:
            self.host.run([C.IFCONFIG, self.vm['bridge'], 'destroy'])
            self.log.info('destroyed %s and %s' % (self.vm['bridge'], self.vm['tap']))

    def undo(self, done):
        """Put back what this command created, newest first."""
        for item in reversed(done):
            if item == 'addm':
                self.host.run([C.IFCONFIG, self.vm['bridge'], 'deletem', self.vm['tap']])
            elif item == 'tap':
                self.host.run([C.IFCONFIG, self.vm['tap'], 'destroy'])
            elif item == 'bridge':
                self.host.run([C.IFCONFIG, self.vm['bridge'], 'destroy'])
            elif item == 'vmm':
                self.host.run([C.KLDUNLOAD, C.VMM_MODULE])
        if done:
            self.log.info('undone: %s' % ', '.join(reversed(done)))

    # -- guest start/stop -----------------------------------------------------------------------------
    def start_guest(self, done, wait_ready=True):
        """Start bhyve under daemon -r; wait_ready=False skips the guest readiness wait (resume)."""
        if self.running():
            self.log.warn('the VM is already running (pid %s)' % (self.bhyve_pid() or self.supervisor_pid()))
            return False
        self.load_vmm(done)
        self.preflight()
        self.add_tap(done)
        if C.VM_NAME in self.host.vms():
            self.host.run([C.BHYVECTL, '--destroy', '--vm=' + C.VM_NAME])
            self.log.info('destroyed the stale VM %s left by an earlier run' % C.VM_NAME)
        began = time.time()
        self.state.update(supervision_started=began, restarts=0, crashes=[], stop_requested=False,
                          stopped_reason=None, bhyve_pid=None, started_at=None, last_error=None,
                          drivers={}, last_exit=None)
        self.host.run([C.DAEMON, '-r', '-P', C.SUPERVISOR_PIDFILE, '-t', C.SUPERVISOR_TITLE,
                       '-o', C.WIFIBOX_BHYVE_LOG, C.WIFIBOX_BHYVE_COMMAND, '_run'], check=True)
        self.log.info('started supervision (daemon -r, %s)' % C.SUPERVISOR_PIDFILE)
        if not self._wait_started(began):
            st = self.state.read()
            self.stop_guest(quiet=True)
            detail = st.get('last_error') or 'bhyve did not start within %d s' % START_TIMEOUT
            raise ServiceError('the VM did not start: %s%s' % (detail, _hint(detail)))
        self.log.info('the VM runs (pid %s) after %.1f s' % (self.bhyve_pid(), time.time() - began))
        self.start_passthru()
        if wait_ready:
            self.wait_ready(began)
        return True

    def _wait_started(self, began):
        def settled():
            st = self.state.read()
            if st.get('last_exit') or st.get('stopped_reason'):
                return True
            pid, started = st.get('bhyve_pid'), st.get('started_at')
            return bool(pid_alive(pid) and started and time.time() - started >= START_SETTLE)
        wait_until(settled, START_TIMEOUT)
        st = self.state.read()
        return not st.get('last_exit') and not st.get('stopped_reason') and pid_alive(st.get('bhyve_pid'))

    def stop_guest(self, quiet=False):
        self.stop_passthru()
        supervisor, pid = self.supervisor_pid(), self.bhyve_pid()
        if supervisor is None and pid is None:
            if not quiet:
                self.log.warn('the VM is not running')
            if C.VM_NAME in self.host.vms():
                self.host.run([C.BHYVECTL, '--destroy', '--vm=' + C.VM_NAME])
            return False
        began = time.time()
        self.state.update(stop_requested=True)
        if pid:
            self.log.info('stopping the VM: ACPI power button (SIGTERM to bhyve %s), waiting up to %d s'
                          % (pid, self.vm['stop_wait']))
            _kill(pid, signal.SIGTERM)
            if not wait_until(lambda: not pid_alive(pid), self.vm['stop_wait']):
                self.log.warn('the guest did not power off within stop_wait=%d s: bhyvectl --force-poweroff'
                              % self.vm['stop_wait'])
                self.host.run([C.BHYVECTL, '--force-poweroff', '--vm=' + C.VM_NAME])
                if not wait_until(lambda: not pid_alive(pid), 5):
                    self.log.error('bhyve %s ignored the forced power-off: bhyvectl --destroy' % pid)
                    self.host.run([C.BHYVECTL, '--destroy', '--vm=' + C.VM_NAME])
                    wait_until(lambda: not pid_alive(pid), 5)
        elif supervisor:
            _kill(supervisor, signal.SIGTERM)  # between two runs: daemon forwards it to the manager
        if supervisor and not wait_until(lambda: not pid_alive(supervisor), SUPERVISOR_EXIT_WAIT):
            self.log.error('the supervisor %s did not end: SIGKILL' % supervisor)
            _kill(supervisor, signal.SIGKILL)
        if C.VM_NAME in self.host.vms():
            self.host.run([C.BHYVECTL, '--destroy', '--vm=' + C.VM_NAME])
        self.state.update(bhyve_pid=None, stopped_reason=lambda old: old or 'stopped by request')
        self.log.info('the VM stopped after %.1f s' % (time.time() - began))
        return True

    # -- the socket pass-through (host side) and guest readiness ----------------------------------------
    def uds_conf(self):
        """The config share's uds_passthru.conf, parsed; None when it is absent or unreadable."""
        path = os.path.join(C.WIFIBOX_BHYVE_CONF_DIR, C.APPLIANCE_DIR, C.UDS_PASSTHRU_CONF)
        try:
            with open(path) as handle:
                text = handle.read()
        except OSError:
            return None
        return parse_uds_conf(text, path)

    def guest_ip(self, conf=None):
        """The guest's LAN address: uds_passthru.conf's network, else the default route's gateway via the bridge."""
        if conf and conf.get('ip'):
            return conf['ip']
        rc, out, _err = self.host.run([C.ROUTE, '-n', 'get', 'default'])
        route = parse_route_get(out) if rc == 0 else {}
        if route.get('interface') == self.vm['bridge'] and route.get('gateway'):
            return route['gateway']
        return None

    def socat_path(self):
        if os.access(C.SOCAT, os.X_OK):
            return C.SOCAT
        return shutil.which('socat', path=os.environ.get('PATH', '') + os.pathsep + os.path.dirname(C.SOCAT))

    def passthru_pids(self):
        """{port: pid of its daemon(8) supervisor} for the forwarders whose pid file names a live process."""
        found = {}
        directory = os.path.dirname(C.UDS_PASSTHRU_PIDFILE)
        prefix, suffix = os.path.basename(C.UDS_PASSTHRU_PIDFILE).split('%d')
        try:
            names = os.listdir(directory)
        except OSError:
            return found
        for name in names:
            port = name[len(prefix):-len(suffix)] if name.startswith(prefix) and name.endswith(suffix) else ''
            if port.isdigit():
                pid = read_pidfile(os.path.join(directory, name))
                if pid_alive(pid):
                    found[int(port)] = pid
        return found

    def start_passthru(self):
        """One `daemon -r` socat per socket in uds_passthru.conf; -> the ports started."""
        try:
            conf = self.uds_conf()
        except ServiceError as exc:
            self.log.warn('socket pass-through skipped: %s' % exc.msg)
            return []
        if conf is None or not conf['sockets']:
            return []
        socat = self.socat_path()
        if socat is None:
            self.log.warn('socket pass-through skipped: socat is not installed (pkg install socat)')
            return []
        ip = self.guest_ip(conf)
        if ip is None:
            self.log.warn('socket pass-through skipped: no guest IP (uds_passthru.conf has no network= and the '
                          'default route does not go via %s)' % self.vm['bridge'])
            return []
        running, started = self.passthru_pids(), []
        for sock in conf['sockets']:
            if sock['port'] in running:
                self.log.warn('socket pass-through for %s already runs (pid %d)' % (sock['path'], running[sock['port']]))
                continue
            directory = os.path.dirname(sock['path'])
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            listen = 'UNIX-RECVFROM:%s,reuseaddr,fork,unlink-early,user=%s,group=%s,mode=%s' % (
                sock['path'], sock['user'], sock['group'], sock['mode'])
            rc, _out, err = self.host.run([C.DAEMON, '-r', '-P', C.UDS_PASSTHRU_PIDFILE % sock['port'],
                                           '-t', C.UDS_PASSTHRU_TITLE, socat, listen,
                                           'TCP4:%s:%d' % (ip, sock['port'])])
            if rc != 0:
                self.log.warn('socket pass-through for %s did not start: %s' % (sock['path'], err.strip()))
                continue
            started.append(sock['port'])
            self.log.info('socket pass-through: %s -> %s:%d' % (sock['path'], ip, sock['port']))
        return started

    def stop_passthru(self):
        """Stop every forwarder (SIGTERM to its daemon(8), which ends socat); -> the ports stopped."""
        stopped = []
        for port, pid in sorted(self.passthru_pids().items()):
            _kill(pid, signal.SIGTERM)
            if not wait_until(lambda: not pid_alive(pid), 5):
                _kill(pid, signal.SIGKILL)
            try:
                os.unlink(C.UDS_PASSTHRU_PIDFILE % port)
            except OSError:
                pass
            stopped.append(port)
        if stopped:
            self.log.info('socket pass-through stopped (ports %s)' % ', '.join(str(p) for p in stopped))
        return stopped

    def passthru_status(self):
        try:
            conf = self.uds_conf()
        except ServiceError:
            conf = None
        pids = self.passthru_pids()
        return [{'path': sock['path'], 'port': sock['port'], 'pid': pids.get(sock['port']),
                 'running': sock['port'] in pids} for sock in (conf or {}).get('sockets', [])]

    def guest_answers(self):
        """Is the guest up on the bridge, as the host sees it?  -> {'answering': bool or None, 'detail': str}.

        The probe: a TCP connection to the guest's LAN address (the first pass-through
        port, else port 53) that completes or is refused.  None when it cannot be asked:
        no guest address known or the host has no IPv4 address on the bridge yet (at boot,
        before netif), so the answer would say nothing about the guest.
        """
        try:
            conf = self.uds_conf()
        except ServiceError:
            conf = None
        ip = self.guest_ip(conf)
        if ip is None:
            return {'answering': None, 'ip': None, 'detail': 'guest address unknown (no uds_passthru.conf network= '
                                                             'and no default route via %s)' % self.vm['bridge']}
        bridge = self.host.interface(self.vm['bridge'])
        if not bridge or not bridge.get('inet'):
            return {'answering': None, 'ip': ip, 'detail': '%s has no IPv4 address yet' % self.vm['bridge']}
        port = conf['sockets'][0]['port'] if conf and conf['sockets'] else C.GUEST_PROBE_PORT
        answering, detail = tcp_probe(ip, port)
        return {'answering': answering, 'ip': ip, 'detail': detail}

    def wait_ready(self, began):
        """After bhyve runs: wait up to ready_wait for the guest to answer; -> status['guest']."""
        result = [self.guest_answers()]

        def ready():
            if result[0]['answering'] is None:
                return True  # cannot be asked: do not wait
            if result[0]['answering']:
                return True
            result[0] = self.guest_answers()
            return bool(result[0]['answering'])
        if self.vm['ready_wait']:
            wait_until(ready, self.vm['ready_wait'], 0.5)
        guest = result[0]
        if guest['answering']:
            self.log.info('the guest answers on %s after %.1f s: %s'
                          % (self.vm['bridge'], time.time() - began, guest['detail']))
        elif guest['answering'] is False:
            guest['detail'] = 'bhyve running, guest not answering on %s after %d s (%s)' % (
                self.vm['bridge'], self.vm['ready_wait'], guest['detail'])
            self.log.warn(guest['detail'])
        else:
            self.log.info('guest readiness not checked: %s' % guest['detail'])
        self.state.update(guest=dict(guest, at=_now()))
        return guest

    # -- commands -------------------------------------------------------------------------------------
    def start(self, target=None):
        done = []
        try:
            if target in (None, 'netif'):
                self.create_bridge(done)
            elif target == 'vmm':
                self.load_vmm(done)
            return self.start_guest(done)
        except ServiceError:
            self.undo(done)
            raise

    def stop(self, target=None):
        if target == 'vmm':
            self.check_no_other_vm()
        stopped = self.stop_guest()
        if target in (None, 'netif'):
            self.destroy_bridge()
        elif target == 'vmm':
            self.unload_vmm()
        return stopped

    def restart(self, target=None):
        if not self.running():
            raise ServiceError('no running instance found: use `wifibox-bhyve start`')
        if target == 'vmm':
            self.check_no_other_vm()
        self.stop_guest()
        done = []
        if target in (None, 'netif'):
            self.destroy_bridge()
            self.create_bridge(done)
        elif target == 'vmm':
            self.unload_vmm()
            self.load_vmm(done)
        return self.start_guest(done)

    # -- suspend / resume -------------------------------------------------------------------------------
    def suspend(self):
        method = self.vm['recovery']
        was_running = self.running()
        self.log.info('suspend: recovery method %s, the VM %s' % (method, 'runs' if was_running else 'is stopped'))
        result = 'nothing to do'
        try:
            if was_running and method == 'suspend_guest':
                self.stop_guest()
                result = 'guest stopped'
            elif was_running and method == 'suspend_vmm':
                self.stop('vmm')
                result = 'guest stopped, vmm.ko unloaded'
        except ServiceError as exc:
            result = 'failed: %s' % exc.msg
            self.log.error('suspend: %s' % exc.msg)
        self.state.update(last_suspend={'at': _now(), 'method': method, 'was_running': was_running,
                                        'result': result})
        return True

    def resume(self):
        method = self.vm['recovery']
        suspended = self.state.read().get('last_suspend') or {}
        if not suspended.get('was_running'):
            self.log.info('resume: the VM was not running at suspend: nothing to do')
            self.state.update(last_resume={'at': _now(), 'method': method, 'result': 'nothing to do',
                                           'escalated_to': None})
            return True
        self.log.info('resume: recovery method %s' % method)
        escalated, problem = None, self._recover(method)
        if problem is None:
            problem = self.guest_back()
        if problem and method != 'none':
            escalated = 'restart_vmm'
            self.log.warn('resume: the guest is not back after %s (%s): escalating to restart_vmm' % (method, problem))
            problem = self._recover('restart_vmm', escalation=True) or self.guest_back()
        result = 'guest back' if problem is None else 'failed: %s' % problem
        if escalated:
            result += ' (escalated to %s)' % escalated
        (self.log.info if problem is None else self.log.error)('resume: %s' % result)
        self.state.update(last_resume={'at': _now(), 'method': method, 'result': result, 'escalated_to': escalated})
        return problem is None

    def _recover(self, method, escalation=False):
        """Run the resume half of a recovery method; -> None or the problem.

        No guest readiness wait here: rc.resume runs from devd(8), which handles no other
        event (the wired link, USB devices) until it returns; guest_back() checks what the
        escalation needs (bhyve runs, the cards are held by ppt).
        """
        try:
            if method == 'restart_vmm':
                self.check_no_other_vm()
                self.stop_guest(quiet=True)
                self.unload_vmm()
                done = []
                self.load_vmm(done)
                self.start_guest(done, wait_ready=False)
            elif method == 'suspend_guest':
                self.start_guest([], wait_ready=False)
            elif method == 'suspend_vmm':
                done = []
                self.load_vmm(done)
                self.start_guest(done, wait_ready=False)
        except ServiceError as exc:
            return exc.msg
        return None

    def guest_back(self):
        """None once the VM runs with every card held by ppt, within resume_wait; else what is wrong."""
        problem = ['not checked']

        def back():
            if self.bhyve_pid() is None:
                problem[0] = 'bhyve is not running'
                return False
            for dev in self.vm['passthru']:
                found = self.host.pci_device(dev)
                if found is None or not found['held_by_ppt']:
                    problem[0] = 'the card %s is %s' % (dev, 'gone from the PCI bus' if found is None
                                                        else 'held by %s, not ppt' % found['name'])
                    return False
            return True
        if wait_until(back, self.vm['resume_wait'], 0.5):
            return None
        return '%s after resume_wait=%d s' % (problem[0], self.vm['resume_wait'])

    # -- version, console, bug report -------------------------------------------------------------------
    def version(self):
        lines = ['wifibox-bhyve version %s' % VERSION]
        for path in bhyve.image_paths(self.vm) + [bhyve.firmware_path(self.vm)]:
            lines.append('%s: %s' % (path, _sha256(path) or 'missing'))
        return '\n'.join(lines)

    def bugreport(self, path):
        files = {}
        for name, argv in (('uname.txt', ['uname', '-a']), ('freebsd-version.txt', ['freebsd-version', '-kru']),
                           ('pciconf.txt', [C.PCICONF, '-lv']), ('kldstat.txt', [C.KLDSTAT]),
                           ('ifconfig.txt', [C.IFCONFIG, '-a']), ('sysctl-vmm.txt', [C.SYSCTL, 'hw.vmm']),
                           ('vms.txt', ['ls', '-l', C.VMM_DEV_DIR])):
            rc, out, err = self.host.run(argv)
            files[name] = out + err
        files['status.json'] = json.dumps(self.status(), indent=2, sort_keys=True)
        files['argv.txt'] = ' '.join(bhyve.command_argv(self.vm, bhyve.app_config_mode(vm=self.vm)))
        for name, source in (('loader.conf', C.LOADER_CONF), ('vm.conf', C.VM_CONF),
                             ('wifibox-bhyve.log', C.WIFIBOX_BHYVE_LOG), ('state.json', C.SERVICE_STATE)):
            files[name] = _read(source)
        files['rc.conf'] = ''.join(line for line in _read(C.RC_CONF).splitlines(True)
                                   if re.search(r'wifibox|ppt|vmm|kld_list|devmatch|wlans_|ifconfig_wlan', line))
        # the guest's shares: its logs (var) and its configuration (config, app_config), secrets scrubbed below
        for prefix, top in (('guest/', os.path.join(C.WIFIBOX_BHYVE_RUN_DIR, C.APPLIANCE_DIR)),
                            ('config/', os.path.join(C.WIFIBOX_BHYVE_CONF_DIR, C.APPLIANCE_DIR)),
                            ('app_config/', os.path.join(C.WIFIBOX_BHYVE_CONF_DIR, bhyve.app_config_dir(self.vm)))):
            for dirpath, _dirs, names in os.walk(top):
                for name in names:
                    full = os.path.join(dirpath, name)
                    if os.path.isfile(full) and os.path.getsize(full) < (4 << 20):
                        files[prefix + os.path.relpath(full, top)] = _read(full)
        with tarfile.open(path, 'w:gz') as archive:
            for name, text in sorted(files.items()):
                data = scrub(text).encode('utf-8', 'replace')
                info = tarfile.TarInfo('wifibox-bhyve-bugreport/' + name)
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
                archive.addfile(info, io.BytesIO(data))
        os.chmod(path, 0o600)
        return sorted(files)

    # -- the manager (run by daemon(8)) ----------------------------------------------------------------------
    def manage(self):
        """One bhyve run and what follows it; the exit status tells daemon -r what to do."""
        child = [None]
        stopping = [False]

        def on_term(*_args):
            stopping[0] = True
            if child[0] is not None and child[0].poll() is None:
                child[0].send_signal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, on_term)
        code, output = None, []
        if self.state.read().get('stop_requested'):
            # a stop came while daemon(8) waited to restart us (FreeBSD 14's daemon does not see
            # SIGTERM then): end supervision without starting bhyve
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            return self._decide(None, output, True)
        try:
            self._bind_cards()
            self._prepare_run()
            grub = bhyve.grub_argv(self.vm)
            if grub:
                self.host.run(grub, check=True, what='grub-bhyve could not load the guest kernel')
            argv = bhyve.command_argv(self.vm, bhyve.app_config_mode(vm=self.vm))
            self.log.info('starting: %s' % ' '.join(argv))
            if not stopping[0]:
                child[0] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, universal_newlines=True)
                self.state.update(bhyve_pid=child[0].pid, started_at=time.time(), running_config=self.vm)
                for line in child[0].stdout:
                    output.append(line.rstrip())
                    self.log.debug('[bhyve] %s' % line.rstrip())
                code = child[0].wait()
        except ServiceError as exc:
            output.append(exc.msg)
            self.log.error(exc.msg)
            code = 4
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self._after_exit()
        return self._decide(code, output, stopping[0])

    def _bind_cards(self):
        drivers = dict(self.state.read().get('drivers') or {})
        for dev in self.vm['passthru']:
            found = self.host.pci_device(dev)
            if found is None:
                raise ServiceError('passthru device %s is not on the PCI bus' % dev)
            drivers.setdefault(dev, found['name'] if not found['name'].startswith('none') else None)
            if not found['held_by_ppt']:
                self.host.run([C.DEVCTL, 'set', 'driver', '-f', bhyve.devctl_name(dev), C.PPT_DRIVER], check=True,
                              what='the card\'s driver did not let go of it; block it with devmatch_blocklist '
                                   'and reboot, or set pptdevs in loader.conf')
                self.log.info('gave %s (%s) to ppt' % (dev, found['name']))
        self.state.update(drivers=drivers)

    def _prepare_run(self):
        if self.vm['console'] and not self.host.module_loaded(C.NMDM_MODULE):
            self.host.run([C.KLDLOAD, C.NMDM_MODULE], check=True)
        self.host.run([C.IFCONFIG, self.vm['tap'], 'up'])
        self.check_files()
        for share in (C.WIFIBOX_BHYVE_RUN_DIR, C.WIFIBOX_BHYVE_CONF_DIR):
            os.makedirs(os.path.join(share, C.APPLIANCE_DIR), exist_ok=True)

    def _after_exit(self):
        self.host.run([C.BHYVECTL, '--destroy', '--vm=' + C.VM_NAME])
        time.sleep(0.5)
        drivers = self.state.read().get('drivers') or {}
        for dev, before in sorted(drivers.items()):
            if before is None or not before.startswith(C.PPT_DRIVER):
                rc, _out, _err = self.host.run([C.DEVCTL, 'clear', 'driver', '-f', bhyve.devctl_name(dev)])
                if rc == 0:
                    self.log.info('gave %s back to the kernel (it had %s)' % (dev, before or 'no driver'))

    def _decide(self, code, output, stopping):
        st = self.state.read()
        stopping = stopping or st.get('stop_requested')
        reason = EXIT_REASONS.get(code, 'bhyve was killed by signal %d' % -code if code and code < 0
                                  else 'bhyve exited with status %s' % code)
        if code is None:
            reason = 'stopped before bhyve started'
        last_error = '; '.join(line for line in output[-5:] if line) or None
        if code is not None:
            self.state.update(bhyve_pid=None, last_exit={'code': code, 'reason': reason, 'at': _now()},
                              last_error=last_error if code not in (0, 1, 2) else None)
        if stopping or code in (1, 2, None) or code == 128 + signal.SIGTERM or code == -signal.SIGTERM:
            self.log.info('%s: supervision ends' % reason)
            return self._end_supervision(reason)
        if code == 0:
            self.log.info('%s: starting it again' % reason)
            self.state.update(restarts=lambda n: (n or 0) + 1)
            return 1
        now = time.time()
        crashes = [t for t in (st.get('crashes') or []) if now - t < self.vm['crash_window']] + [now]
        self.state.update(crashes=crashes)
        if len(crashes) >= self.vm['crash_limit']:
            why = ('crash loop: %d crashes within %d s (crash_limit=%d, crash_window=%d); last: %s%s. Supervision '
                   'stopped; fix the cause and run `wifibox-bhyve start`'
                   % (len(crashes), self.vm['crash_window'], self.vm['crash_limit'], self.vm['crash_window'], reason,
                      (' (%s)' % last_error) if last_error else ''))
            self.log.error(why)
            return self._end_supervision(why)
        self.log.warn('%s%s: crash %d of crash_limit=%d within %d s, starting again in %d s'
                      % (reason, (' (%s)' % last_error) if last_error else '', len(crashes), self.vm['crash_limit'],
                         self.vm['crash_window'], self.vm['restart_delay']))
        if not wait_until(lambda: self.state.read().get('stop_requested'), self.vm['restart_delay'], 0.2):
            self.state.update(restarts=lambda n: (n or 0) + 1)
            return 1
        return self._end_supervision('stopped by request')

    def _end_supervision(self, why):
        self.state.update(stopped_reason=why)
        supervisor = read_pidfile(C.SUPERVISOR_PIDFILE)
        if supervisor and supervisor == os.getppid():
            _kill(supervisor, signal.SIGTERM)
        return 0


def _hint(detail):
    if 'not using the ppt(4) driver' in detail:
        return (' (the card is not usable for pass-through: is VT-d/AMD-Vi on in the firmware setup and, on AMD, '
                'hw.vmm.amdvi.enable="1" in loader.conf?)')
    if 'Unable to setup memory' in detail:
        return ' (not enough free memory for the wired guest memory: lower memory)'
    return ''


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _now():
    return time.strftime('%Y-%m-%dT%H:%M:%S%z')


def _read(path):
    try:
        with open(path, errors='replace') as handle:
            return handle.read()
    except OSError as exc:
        return '(%s: %s)\n' % (path, exc.strerror)


def _sha256(path):
    digest = hashlib.sha256()
    try:
        with open(path, 'rb') as handle:
            for block in iter(lambda: handle.read(1 << 20), b''):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def scrub(text):
    """Bug-report text with every secret-looking value replaced."""
    text = _SECRET_UCI.sub(lambda m: m.group(1) + '<removed>', text)
    return _SECRET.sub(lambda m: m.group(1) + '<removed>', text)


# --- files the module installs ------------------------------------------------------------------------------

def launcher_text(python):
    return ('#!%s\n'
            '# wifibox-bhyve: start, stop and supervise the wifibox VM (installed by wifibox.bhyve.vm).\n'
            'import sys\n'
            'sys.path.insert(0, %r)\n'
            'from ansible_collections.wifibox.bhyve.plugins.module_utils import vmservice\n'
            'sys.exit(vmservice.main(sys.argv[1:]))\n' % (python, C.WIFIBOX_BHYVE_LIBEXEC))


def rc_script_text():
    return """#!/bin/sh
#
# PROVIDE: wifibox_bhyve
# REQUIRE: FILESYSTEMS sysctl kld ldconfig
# BEFORE: netif
# KEYWORD: shutdown nojail suspend resume
#
# Installed by the wifibox.bhyve.vm module: starts the wifibox VM (bhyve, supervised by
# daemon(8)) before netif configures %(bridge)s; after ldconfig, so that bhyve finds lib9p
# early in boot (net/wifibox issue #11).  Add to /etc/rc.conf:
#   wifibox_bhyve_enable="YES"
# The VM itself is configured in %(conf)s.

. /etc/rc.subr

name="wifibox_bhyve"
rcvar="wifibox_bhyve_enable"
desc="Wi-Fi through a bhyve guest (wifibox)"
wifibox_bhyve_command="%(command)s"
# the daemon(8) supervisor's pid file: what rc.subr's status/poll and `enabled` look at
pidfile="%(pidfile)s"

start_cmd="wifibox_bhyve_cmd start"
stop_cmd="wifibox_bhyve_cmd stop"
restart_cmd="wifibox_bhyve_cmd restart"
status_cmd="wifibox_bhyve_cmd status"
extra_commands="suspend resume"
suspend_cmd="wifibox_bhyve_cmd suspend"
resume_cmd="wifibox_bhyve_cmd resume"

wifibox_bhyve_cmd()
{
\t${wifibox_bhyve_command} "$@"
}

load_rc_config $name
: ${wifibox_bhyve_enable:="NO"}

run_rc_command "$@"
""" % {'bridge': C.BRIDGE_NAME, 'conf': C.VM_CONF, 'command': C.WIFIBOX_BHYVE_COMMAND,
       'pidfile': C.SUPERVISOR_PIDFILE}


def devd_rule_text():
    """FreeBSD 13.x: rc.suspend does not run rc.d `suspend` yet, so devd calls the service first.

    Priority 11 wins over /etc/devd.conf's priority-10 rule, so this rule runs
    /etc/rc.suspend itself (FREEBSD.md section 8).  Resume needs no rule: rc.resume
    runs rc.d scripts with `KEYWORD: resume` on 13.x too.
    """
    return """# Installed by the wifibox.bhyve.vm module (FreeBSD 13.x): stop or keep the wifibox VM
# before suspend as its recovery method says, then suspend as /etc/devd.conf would.
notify 11 {
\tmatch "system"\t\t"ACPI";
\tmatch "subsystem"\t"Suspend";
\taction "/usr/sbin/service wifibox_bhyve suspend; /etc/rc.suspend acpi $notify";
};
"""


# --- the command --------------------------------------------------------------------------------------------

USAGE = """usage: wifibox-bhyve start|stop|restart [guest|netif|vmm]
       wifibox-bhyve status [--json]
       wifibox-bhyve console | version | bugreport [FILE]
       wifibox-bhyve suspend | resume   (run by rc.suspend/rc.resume)
"""


def print_status(status):
    out = []
    if status['running']:
        out.append('wifibox-bhyve: the VM runs as pid %s (up %ss, %s restart(s)%s).'
                   % (status['pid'], status['uptime'], status['restarts'],
                      '' if status['supervised'] else ', NOT supervised'))
    else:
        out.append('wifibox-bhyve: the VM is not running%s.'
                   % ((' (%s)' % status['stopped_reason']) if status['stopped_reason'] else ''))
    if status['last_exit']:
        out.append('last exit: %(reason)s (status %(code)s) at %(at)s' % status['last_exit'])
    for card in status['cards']:
        out.append('card %s (%s): %s' % (card['device'], card['selector'],
                                         card['driver'] if card['present'] else 'not on the PCI bus'))
    out.append('bridge %s: %s; tap %s: %s' % (
        status['bridge']['name'], ('up' if status['bridge']['up'] else 'down') if status['bridge']['exists']
        else 'absent', status['tap']['name'], ('member' if status['tap']['member'] else 'not a member')
        if status['tap']['exists'] else 'absent'))
    if status['running']:
        out.append('guest: %s' % ('answering (%s)' % status['guest']['detail'] if status['guest']['answering']
                                  else status['guest']['detail'] if status['guest']['answering'] is False
                                  else 'not checked: %s' % status['guest']['detail']))
    for sock in status.get('uds_passthru') or []:
        out.append('socket pass-through %s <-> port %d: %s' % (sock['path'], sock['port'], 'runs as pid %d' % sock['pid']
                                                               if sock['running'] else 'not running'))
    for key in ('last_suspend', 'last_resume'):
        if status[key]:
            event = status[key]
            out.append('%s: %s, method %s, %s' % (key.replace('_', ' '), event['at'], event['method'], event['result']))
    return '\n'.join(out)


def main(argv):
    if not argv or argv[0] in ('-h', '--help', 'help'):
        sys.stderr.write(USAGE)
        return EXIT_USAGE if not argv else 0
    verb, args = argv[0], argv[1:]
    try:
        vm = bhyve.read_config(C.VM_CONF)
    except (OSError, bhyve.VMConfigError) as exc:
        sys.stderr.write('wifibox-bhyve: cannot read the VM configuration: %s: install it with the '
                         'wifibox.bhyve.vm module\n' % (getattr(exc, 'strerror', None) or exc))
        return EXIT_CONFIG
    interactive = verb != '_run'
    log = Log(C.WIFIBOX_BHYVE_LOG, vm['loglevel'], echo=interactive)
    service = Service(vm, Host(log=log), log)
    try:
        return _dispatch(service, verb, args)
    except ServiceError as exc:
        log.error(exc.msg)
        return exc.code


def _say(text):
    sys.stdout.write(text + '\n')


def _dispatch(service, verb, args):
    if verb in ('start', 'stop', 'restart'):
        if len(args) > 1:
            raise ServiceError('too many parameters\n' + USAGE, EXIT_USAGE)
        target = args[0] if args else None
        if target not in (None,) + TARGETS:
            raise ServiceError('unknown target %r: use guest, netif or vmm' % target, EXIT_USAGE)
        getattr(service, verb)(target)
        return 0
    if verb == 'status':
        status = service.status()
        _say(json.dumps(status, sort_keys=True) if args == ['--json'] else print_status(status))
        return 0 if status['running'] else 1
    if verb == 'suspend':
        return 0 if service.suspend() else 1
    if verb == 'resume':
        return 0 if service.resume() else 1
    if verb == 'version':
        _say(service.version())
        return 0
    if verb == 'bugreport':
        path = args[0] if args else '/tmp/wifibox-bhyve-bugreport-%s.tar.gz' % time.strftime('%Y%m%dT%H%M%S')
        service.bugreport(path)
        _say(path)
        return 0
    if verb == 'console':
        if not service.vm['console']:
            raise ServiceError('the console is off: set console: true with the wifibox.bhyve.vm module and '
                               'restart the guest')
        if not service.running():
            raise ServiceError('the VM is not running: wifibox-bhyve start')
        _say('Connecting, type "~." to leave the session...')
        sys.stdout.flush()
        os.execv(C.CU, [C.CU, '-s', '115200', '-l', C.NMDM_USER_SIDE])
    if verb == '_run':
        if read_pidfile(C.SUPERVISOR_PIDFILE) != os.getppid():
            raise ServiceError('_run is run by daemon(8) from `wifibox-bhyve start`, not by hand')
        return service.manage()
    raise ServiceError('unknown command %r\n%s' % (verb, USAGE), EXIT_USAGE)
