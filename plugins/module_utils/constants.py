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
