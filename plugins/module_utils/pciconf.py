# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parse the output of FreeBSD's ``pciconf -l`` and ``pciconf -lv``.

Two line formats exist.  FreeBSD 13 and later print::

    iwm0@pci0:3:0:0:<TAB>class=0x028000 rev=0x78 hdr=0x00 vendor=0x8086 device=0x24fd subvendor=0x8086 subdevice=0x0010

FreeBSD 12.x and older print the IDs packed in two words::

    iwm0@pci0:3:0:0:<TAB>class=0x028000 card=0x00108086 chip=0x24fd8086 rev=0x78 hdr=0x00

where ``card`` is subdevice<<16 | subvendor and ``chip`` is device<<16 | vendor.
``-v`` adds indented ``vendor``/``device`` (quoted) and ``class``/``subclass``
(unquoted) lines below each device line; any of them may be missing.

Output pasted by people is accepted too: spaces instead of the tab after the
selector, CRLF line ends, blank or whitespace-only lines.  Lines that are
neither a device line nor an indented detail line are returned separately so
that a caller can warn about them instead of failing.
"""

from __future__ import annotations

import re

# Driver names that end in a digit.  pciconf prints the driver name and the
# unit number with no separator ("rtw880" is rtw88 unit 0), so these names
# cannot be split by the usual "letters, then digits" rule.
DRIVERS_ENDING_IN_DIGIT = (
    'ath10k', 'ath11k', 'ath12k',
    'mt7915', 'mt7921', 'mt7925', 'mt7996',
    'rtw88', 'rtw89',
)

# pciconf names a device without a driver "none" plus a counter.
NO_DRIVER = 'none'

WIRELESS_CLASS_PREFIXES = ('0x0280', '0x0d')

_DEVICE_LINE = re.compile(
    r'^(?P<name>[A-Za-z_][A-Za-z0-9_.]*?\d+)@'
    r'(?P<selector>pci\d+(?::\d+){2,3}):?'
    r'\s+(?P<fields>\S.*)$'
)
_FIELD = re.compile(r'(?P<key>[a-z]+)=(?P<value>0x[0-9A-Fa-f]+)')
_DETAIL_LINE = re.compile(r'^\s+(?P<key>[a-z]+)\s*=\s*(?P<value>.*?)\s*$')
_SELECTOR = re.compile(r'^pci(?P<parts>\d+(?::\d+){1,3}):?$')
_PPTDEV = re.compile(r'^(?P<bus>\d{1,3})/(?P<slot>\d{1,3})/(?P<function>\d{1,3})$')

# Hex widths as pciconf prints them (printf "%06x", "%02x", "%04x").
_HEX_WIDTH = {
    'class': 6,
    'rev': 2,
    'hdr': 2,
    'vendor': 4,
    'device': 4,
    'subvendor': 4,
    'subdevice': 4,
}


class PciconfParseError(ValueError):
    """A pciconf line that claims to be a device line but cannot be read."""


def _hex(value, width):
    return '0x%0*x' % (width, value)


def split_device_name(name):
    """Split a name as printed by pciconf into (driver, unit).

    ``iwm0`` gives ('iwm', 0), ``rtw880`` gives ('rtw88', 0) and ``none3``
    gives (None, 3): unattached devices have no driver, and their number is the
    counter pciconf assigns in listing order.
    """
    for driver in DRIVERS_ENDING_IN_DIGIT:
        rest = name[len(driver):]
        if name.startswith(driver) and rest.isdigit():
            return driver, int(rest)
    match = re.match(r'^(.*?)(\d+)$', name)
    if not match or not match.group(1):
        raise PciconfParseError('cannot split %r into a driver name and a unit number' % name)
    driver, unit = match.group(1), int(match.group(2))
    if driver == NO_DRIVER:
        driver = None
    return driver, unit


def parse_selector(text):
    """Return (domain, bus, slot, function) for a pciconf selector.

    Accepts what pciconf(8) accepts: ``pciD:B:S:F``, ``pciB:S:F`` and
    ``pciB:S`` (missing parts are 0), with an optional trailing colon and an
    optional leading ``name@``.  Raises ValueError for anything else.
    """
    text = text.split('@', 1)[-1]
    match = _SELECTOR.match(text)
    if not match:
        raise ValueError('%r is not a PCI selector such as pci0:3:0:0' % text)
    numbers = [int(part) for part in match.group('parts').split(':')]
    if len(numbers) == 4:
        return tuple(numbers)
    if len(numbers) == 3:
        return (0,) + tuple(numbers)
    return (0,) + tuple(numbers) + (0,)


def parse_pptdev(text):
    """Return (bus, slot, function) for a ``B/S/F`` pptdevs/bhyve entry."""
    match = _PPTDEV.match(text)
    if not match:
        raise ValueError('%r is not a pass-through device in bus/slot/function form such as 3/0/0' % text)
    return int(match.group('bus')), int(match.group('slot')), int(match.group('function'))


def format_selector(domain, bus, slot, function):
    return 'pci%d:%d:%d:%d' % (domain, bus, slot, function)


def format_pptdev(bus, slot, function):
    return '%d/%d/%d' % (bus, slot, function)


def is_wireless_class(pci_class):
    """True for network/other (0x0280xx, laptop Wi-Fi) and wireless controllers (0x0dxxxx)."""
    return pci_class.startswith(WIRELESS_CLASS_PREFIXES)


def _ids_from_fields(fields):
    """Normalise the numeric fields of a device line to the 13+ names."""
    values = {}
    for match in _FIELD.finditer(fields):
        values[match.group('key')] = int(match.group('value'), 16)
    if 'chip' in values or 'card' in values:
        # FreeBSD 12.x: chip=0xDDDDVVVV card=0xSSSSVVVV.
        chip = values.pop('chip', 0)
        card = values.pop('card', 0)
        values.setdefault('vendor', chip & 0xffff)
        values.setdefault('device', chip >> 16)
        values.setdefault('subvendor', card & 0xffff)
        values.setdefault('subdevice', card >> 16)
    missing = [key for key in _HEX_WIDTH if key not in values]
    if missing:
        raise PciconfParseError('missing %s' % ', '.join(sorted(missing)))
    return dict((key, _hex(values[key], width)) for key, width in _HEX_WIDTH.items())


def _device_from_line(match):
    name = match.group('name')
    domain, bus, slot, function = parse_selector(match.group('selector'))
    driver, unit = split_device_name(name)
    ids = _ids_from_fields(match.group('fields'))
    return {
        'name': name,
        'driver': driver,
        'unit': unit,
        'selector': format_selector(domain, bus, slot, function),
        'pptdev': format_pptdev(bus, slot, function),
        'domain': domain,
        'bus': bus,
        'slot': slot,
        'function': function,
        'class': ids['class'],
        'revision': ids['rev'],
        'header_type': ids['hdr'],
        'vendor_id': ids['vendor'],
        'device_id': ids['device'],
        'subvendor_id': ids['subvendor'],
        'subdevice_id': ids['subdevice'],
        'vendor': None,
        'device': None,
        'class_name': None,
        'subclass_name': None,
        'wireless': is_wireless_class(ids['class']),
        'held_by_ppt': driver == 'ppt',
    }


def _unquote(value):
    # pciconf prints '%s' without escaping, so the name runs to the last quote.
    if len(value) >= 2 and value[0] == "'" and value[-1] == "'":
        return value[1:-1]
    return value


_DETAIL_KEYS = {
    'vendor': 'vendor',
    'device': 'device',
    'class': 'class_name',
    'subclass': 'subclass_name',
}


def parse_pciconf(text):
    """Parse ``pciconf -l`` or ``pciconf -lv`` output.

    Returns ``(devices, unparsed)``: a list of device dicts in listing order and
    the lines that were not understood (stripped, non-empty), which callers
    should report as warnings.  Raises PciconfParseError for a device line
    whose fields are broken, because guessing there could name the wrong card.
    """
    devices = []
    unparsed = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip('\r\n')
        if not line.strip():
            continue
        match = _DEVICE_LINE.match(line)
        if match:
            try:
                devices.append(_device_from_line(match))
            except (PciconfParseError, ValueError) as exc:
                raise PciconfParseError('line %d %r: %s' % (number, line, exc))
            continue
        if devices and line[0].isspace():
            detail = _DETAIL_LINE.match(line)
            if detail and detail.group('key') in _DETAIL_KEYS:
                devices[-1][_DETAIL_KEYS[detail.group('key')]] = _unquote(detail.group('value'))
            # Other indented lines (-b bars, -c capabilities, -e errors) belong
            # to the device above and carry nothing we report.
            continue
        unparsed.append(line.strip())
    return devices, unparsed


# What a PCI address can hold: 8 bits of bus, 5 of device (slot), 3 of function.
PCI_LIMITS = (('bus', 255), ('slot', 31), ('function', 7))


def check_address(bus, slot, function):
    """Raise ValueError naming the part of bus/slot/function no PCI device can have."""
    for (part, limit), value in zip(PCI_LIMITS, (bus, slot, function)):
        if value > limit:
            raise ValueError('%s %d is impossible: a PCI %s is 0 to %d (bus 0-255, slot 0-31, function 0-7), so no '
                             'device can match' % (part, value, part, limit))


def device_matches(device, wanted):
    """True if ``device`` is the one named by ``wanted``.

    ``wanted`` is a pciconf selector (``pci0:3:0:0``, ``pci3:0:0``), a
    pass-through entry (``3/0/0``) or a device name as printed (``iwm0``).
    Raises ValueError when ``wanted`` is none of these.
    """
    if '/' in wanted:
        address = parse_pptdev(wanted)
        check_address(*address)
        return (device['bus'], device['slot'], device['function']) == address
    if wanted.startswith('pci') and ':' in wanted:
        address = parse_selector(wanted)
        check_address(*address[1:])
        return (device['domain'], device['bus'], device['slot'], device['function']) == address
    if re.match(r'^[A-Za-z_][A-Za-z0-9_]*\d$', wanted):
        return device['name'] == wanted
    raise ValueError(
        '%r is neither a PCI selector (pci0:3:0:0), a bus/slot/function (3/0/0) '
        'nor a device name (iwm0)' % wanted
    )
