# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Paths, names and limits of a wifibox host, defined once.

Modules, the boot service and the tests import these instead of spelling the
paths again (DESIGN.md: one source of truth).
"""

from __future__ import annotations

# --- Files the loader reads (loader.conf(5); FREEBSD.md section 2) --------------
LOADER_CONF = '/boot/loader.conf'
LOADER_CONF_DIR = '/boot/loader.conf.d'
LOADER_CONF_LOCAL = '/boot/loader.conf.local'
# The lua loader only reads regular files ending in this suffix from LOADER_CONF_DIR.
LOADER_CONF_DIR_SUFFIX = '.conf'

# --- rc.conf(5) files (FREEBSD.md section 3) ------------------------------------
RC_CONF = '/etc/rc.conf'
RC_CONF_LOCAL = '/etc/rc.conf.local'
RC_CONF_DEFAULTS = '/etc/defaults/rc.conf'
RC_CONF_DIR = '/etc/rc.conf.d'
LOCAL_RC_CONF_DIR = '/usr/local/etc/rc.conf.d'
# Files sourced after a given one, whose assignments win over it.
RC_CONF_READ_AFTER = {
    RC_CONF: (RC_CONF_LOCAL,),
}

# --- sysctl.conf(5) ----------------------------------------------------------------
SYSCTL_CONF = '/etc/sysctl.conf'

# --- Kernel environment (kenv(2)) -------------------------------------------------
# KENV_MVALLEN: kenv(1)/kenv(2) refuse to set a longer value at runtime.  pptdevs lists are
# kept within it (vmm(4) documents pptdevs2/pptdevs3 for lists that do not fit).
KENV_MAX_VALUE_LENGTH = 128
# At boot the kernel copies the loader's variables (kern_environment.c): a "name=value"
# string longer than KENV_MNAMELEN + 1 + KENV_MVALLEN = 257 bytes is dropped whole.
KENV_BOOT_MAX_LENGTH = 257
# vmm(4) scans these three variables for bus/slot/function entries.
PPTDEVS_VARIABLES = ('pptdevs', 'pptdevs2', 'pptdevs3')
# Loader module directives: NAME_load="YES" loads NAME.ko at boot.
LOADER_LOAD_SUFFIX = '_load'

# --- rc.conf list variables the wifibox touches ---------------------------------
KLD_LIST = 'kld_list'
DEVMATCH_BLOCKLIST = 'devmatch_blocklist'
CLONED_INTERFACES = 'cloned_interfaces'

# --- Kernel modules ---------------------------------------------------------------
VMM_MODULE = 'vmm'
NMDM_MODULE = 'nmdm'
BRIDGE_MODULE = 'if_bridge'
TAP_MODULE = 'if_tap'
# kldload(8) looks for NAME.ko in kern.module_path; this is FreeBSD's default value.
DEFAULT_MODULE_PATH = '/boot/kernel;/boot/modules'
# /dev/vmm/NAME exists for every virtual machine (running or not) while vmm is loaded.
VMM_DEV_DIR = '/dev/vmm'

# --- Network ------------------------------------------------------------------------
BRIDGE_NAME = 'wifibox0'
TAP_NAME = 'tap0'
TAP_UP_ON_OPEN_SYSCTL = 'net.link.tap.up_on_open'

# --- The wifibox itself (WIFIBOX.md section 0) ---------------------------------------
VM_NAME = 'wifibox'
LOCALBASE = '/usr/local'
CONF_DIR = '/usr/local/etc/wifibox'
GUEST_ROOT = '/usr/local/share/wifibox'
RUN_DIR = '/var/run/wifibox'
LOG_FILE = '/var/log/wifibox.log'
NMDM_HOST_SIDE = '/dev/nmdm-wifibox.1A'
NMDM_USER_SIDE = '/dev/nmdm-wifibox.1B'

# --- Host facts ----------------------------------------------------------------------
DMESG_BOOT = '/var/run/dmesg.boot'

# --- wifibox.bhyve's own VM service (names chosen not to clash with net/wifibox's
# /usr/local/sbin/wifibox, /usr/local/etc/rc.d/wifibox, /usr/local/etc/wifibox/ and
# /var/log/wifibox.log: a laptop may have both while it migrates) ----------------------
WIFIBOX_BHYVE_SERVICE = 'wifibox_bhyve'
WIFIBOX_BHYVE_RCVAR = 'wifibox_bhyve_enable'
WIFIBOX_BHYVE_RC_SCRIPT = '/usr/local/etc/rc.d/wifibox_bhyve'
WIFIBOX_BHYVE_COMMAND = '/usr/local/sbin/wifibox-bhyve'
WIFIBOX_BHYVE_CONF_DIR = '/usr/local/etc/wifibox-bhyve'
WIFIBOX_BHYVE_RUN_DIR = '/var/run/wifibox-bhyve'
WIFIBOX_BHYVE_LOG = '/var/log/wifibox-bhyve.log'
WIFIBOX_BHYVE_LIBEXEC = '/usr/local/libexec/wifibox-bhyve'
WIFIBOX_BHYVE_DEVD_CONF = '/usr/local/etc/devd/wifibox-bhyve.conf'
# The VM configuration the vm module writes and the service reads.
VM_CONF = '/usr/local/etc/wifibox-bhyve/vm.conf'
# Under the configuration dir: the guest's `config` share and the optional `app_config` share.
APPLIANCE_DIR = 'appliance'
# The guest's /var (the `var` share, WIFIBOX_BHYVE_RUN_DIR/appliance): the tree net/wifibox-alpine
# ships under its run dir (WIFIBOX.md section 4), which the service makes before every start (its
# guest logs to log/messages and log/dmesg; FreeBSD's /var/run may be a fresh tmpfs after a boot).
VAR_SHARE_DIRS = ('log', 'lib/misc', 'lib/iptables', 'lib/dhcpcd', 'cache/misc', 'spool/cron/crontabs',
                  'spool/mail', 'empty', 'local', 'mail', 'opt', 'tmp', 'run')
# Linux's /var/tmp: anyone may write, only the owner removes (sticky).
VAR_SHARE_MODES = {'tmp': 0o1777}
VAR_SHARE_LINKS = {'lock': '/run/lock'}
# The app_config share is the directory of the guest build's application: wpa_supplicant for the
# client build, hostapd for the access point (hostapd) build (WIFIBOX.md section 4); keyed by the
# wifibox_guest role's wifibox_guest_role, which wifibox_host passes to the vm module (guest_role).
APP_CONFIG_DIRS = {'client': 'wpa_supplicant', 'access_point': 'hostapd'}
GUEST_ROLES = ('client', 'access_point')
APP_CONFIG_DIR = APP_CONFIG_DIRS['client']
UDS_PASSTHRU_CONF = 'uds_passthru.conf'
# Under the run dir: the supervisor's pid file (daemon -P), the service state (JSON).
SUPERVISOR_PIDFILE = '/var/run/wifibox-bhyve/supervisor.pid'
SERVICE_STATE = '/var/run/wifibox-bhyve/state.json'
# daemon(8) -t title of the supervisor: `daemon: wifibox-bhyve[PID]` in ps.
SUPERVISOR_TITLE = 'wifibox-bhyve'
# The host side of the socket pass-through (WIFIBOX.md section 4): one daemon(8)-supervised
# socat per socket in the config share's uds_passthru.conf, pid file uds-passthru.PORT.pid.
UDS_PASSTHRU_TITLE = 'wifibox-uds-passthru'
UDS_PASSTHRU_PIDFILE = '/var/run/wifibox-bhyve/uds-passthru.%d.pid'
# Guest readiness: a TCP probe of the guest's LAN address on the first pass-through port,
# else on this port (completed or refused = the guest's network stack answers).
GUEST_PROBE_PORT = 53

# --- Guest images and firmware (the guest package's files) ---------------------------
UEFI_IMAGES = ('esp.img', 'root.img')
GRUB_IMAGES = ('disk.img', 'grub.cfg')
UEFI_FIRMWARE = '/usr/local/share/uefi-firmware/BHYVE_UEFI.fd'
GRUB_BHYVE = '/usr/local/sbin/grub-bhyve'

# --- bhyve and friends -------------------------------------------------------------------
BHYVE = '/usr/sbin/bhyve'
BHYVECTL = '/usr/sbin/bhyvectl'
DAEMON = '/usr/sbin/daemon'
NICE = '/usr/bin/nice'
DEVCTL = '/usr/sbin/devctl'
PCICONF = '/usr/sbin/pciconf'
IFCONFIG = '/sbin/ifconfig'
KLDLOAD = '/sbin/kldload'
KLDUNLOAD = '/sbin/kldunload'
KLDSTAT = '/sbin/kldstat'
SYSCTL = '/sbin/sysctl'
CU = '/usr/bin/cu'
ROUTE = '/sbin/route'
# net/socat's binary; the service also looks for socat on PATH.
SOCAT = '/usr/local/bin/socat'
PPT_DRIVER = 'ppt'
VM_MIN_MEMORY_MB = 32
# VM_MAXCPU of vmm(4); the host's hw.vmm.maxcpu may be lower and is checked at start.
VM_MAX_CPUS = 256
IOMMU_SYSCTLS = ('hw.vmm.iommu.enable', 'hw.vmm.amdvi.enable')
# rc.suspend runs rc.d scripts with `KEYWORD: suspend` only since this __FreeBSD_version
# (14.0); older systems need the devd rule (FREEBSD.md section 8, WIFIBOX.md section 3).
RC_SUSPEND_KEYWORD_OSRELDATE = 1400090
