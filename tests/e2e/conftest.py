# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the VM tier (helpers in vmtier.py)."""

from __future__ import annotations

import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from vmtier import Wifibox, record_time  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope='session')
def guest_image():
    """The lab guest image, built (or found in the cache) once per session."""
    from wifibox_lab import api
    start = time.monotonic()
    kernel, initrd = api.guest_image()
    record_time('guest_image_ensure', time.monotonic() - start)
    return kernel, initrd


@pytest.fixture
def wifibox(lab_laptops, guest_image):
    """Factory: wifibox(networks, guest_vars=None, profile=...) -> a prepared Wifibox (VM not started)."""
    made = []

    def make(networks, guest_vars=None, profile='thinkpad-t480'):
        box = Wifibox(lab_laptops(profile))
        made.append(box)
        return box.prepare(networks, guest_vars)
    yield make
    for box in made:
        if box.bhyve_pid():
            box.stop()


@pytest.fixture(scope='module')
def module_laptop(lab_root, request):
    """One booted lab laptop for a whole test module (a VM boot is the expensive part)."""
    from wifibox_lab import api
    name = 'vm%s%d' % (''.join(c for c in request.module.__name__.split('.')[-1] if c.isalnum())[-12:],
                       os.getpid() % 1000)
    lp = api.up(name, root=lab_root)
    yield lp
    lp.destroy()


@pytest.fixture(scope='session')
def certs(tmp_path_factory):
    """A CA, a server and a client certificate for the far side's EAP (PEAP, TTLS, TLS), made once."""
    from wifibox_lab.guest import air
    return air.make_certs(str(tmp_path_factory.mktemp('certs')))
