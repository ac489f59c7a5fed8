# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Shared attribute documentation for the modules of wifibox.bhyve."""

    # Every module extends this one; it declares the attributes without support levels.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and report what it would change without changing the host.
  diff_mode:
    description: Returns the differences between the state before and after (or the state it would produce in check mode).
  platform:
    description: Target operating system family.
    support: full
    platforms: freebsd
"""

    # For modules that only read the host.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: This module only reads the host, so check mode changes nothing.
  diff_mode:
    support: N/A
    details: This module only reads the host.
"""
