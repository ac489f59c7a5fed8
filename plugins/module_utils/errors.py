# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The error every module reports with fail_json before it changes anything."""

from __future__ import annotations


class TaskError(Exception):
    """Bad input or host state; the message names the input and the fix."""
