# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The access point channel table against the wireless regulatory database installed on this machine.

regulatory.db is the binary database Linux's cfg80211 loads (wireless-regdb). Its layout, as
Linux's net/wireless/reg.c reads it: a header (magic 'RGDB', version 20), then country entries
(alpha2, a collection pointer in 4-byte units) up to an empty alpha2; a collection has its
length, the number of rules and the DFS region, then (aligned to 2 bytes) the rule pointers; a
rule has its length, flags, the EIRP and the start, end and bandwidth in kHz. Flag 8 is NO-IR:
an access point may not start a network there.
"""

from __future__ import annotations

import os
import struct

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils import regdomain

REGDB = '/lib/firmware/regulatory.db'
NO_IR = 8


def read_regdb(path):
    with open(path, 'rb') as handle:
        data = handle.read()
    magic, version = struct.unpack('>II', data[:8])
    assert magic == 0x52474442 and version == 20
    out = {}
    off = 8
    while data[off:off + 2] != b'\0\0':
        alpha2 = data[off:off + 2].decode()
        coll = struct.unpack('>H', data[off + 2:off + 4])[0] << 2
        off += 4
        length, count = data[coll], data[coll + 1]
        rules = []
        for i in range(count):
            at = coll + ((length + 1) & ~1) + 2 * i
            rule = struct.unpack('>H', data[at:at + 2])[0] << 2
            _len, flags, _eirp, start, end, _bw = struct.unpack('>BBHIII', data[rule:rule + 16])
            rules.append((start, end, flags))
        out[alpha2] = rules
    return out


def derived(rules, band):
    chans = regdomain.CHANNELS_2G if band == '2g' else regdomain.CHANNELS_5G
    out = []
    for chan in chans:
        freq = regdomain.frequency(band, chan)
        if any(start <= (freq - 10) * 1000 and (freq + 10) * 1000 <= end and not flags & NO_IR
               for start, end, flags in rules):
            out.append(chan)
    return out


def test_table_matches_the_installed_regulatory_database():
    if not os.path.exists(REGDB):
        # A failure, not a skip: a green run must not hide a missing install step.
        pytest.fail('%s is missing: install wireless-regdb (scripts/bootstrap does)' % REGDB)
    db = read_regdb(REGDB)
    assert sorted(db) == regdomain.countries()
    for country, rules in db.items():
        for band in regdomain.BANDS:
            assert regdomain.allowed_channels(country, band) == derived(rules, band), (country, band)


def test_lookups():
    assert regdomain.allowed_channels('', '2g') == list(range(1, 12))
    assert regdomain.allowed_channels('', '5g') == []
    assert regdomain.allowed_channels('XX', '2g') is None
    assert regdomain.ht40_secondary('2g', 3) == '+' and regdomain.ht40_secondary('2g', 9) == '-'
    assert regdomain.ht40_secondary('5g', 100) == '+' and regdomain.ht40_secondary('5g', 104) == '-'
    assert regdomain.vht80_centre(60) == (58, (52, 56, 60, 64))
