# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hard Wi-Fi secrets: every printable ASCII character, quotes, backslashes, '#' and '$'.

Reusable by any tier: the render tests parse them with the real wpa_supplicant here; the VM tier
(a real wpa_supplicant associating with a real hostapd) can take the same lists.

PASSPHRASES: WPA passphrases / SAE passwords (8 to 63 printable ASCII characters each).
EAP_STRINGS: EAP identities and passwords (printable ASCII, any length >= 1).
networks(): wifibox_guest_networks that use them (PSK, SAE, PSK+SAE and EAP).
"""

from __future__ import annotations

PRINTABLE = ''.join(chr(c) for c in range(32, 127))
assert len(PRINTABLE) == 95


def _chunks(text, size):
    return [text[i:i + size] for i in range(0, len(text), size)]


PASSPHRASES = (
    # Every printable ASCII character, in order and reversed, in passphrases of at most 63.
    _chunks(PRINTABLE, 48) + _chunks(PRINTABLE[::-1], 48) + [
        'ab"cd#efgh',            # a quote before a '#': broke the whole file before
        '"#abcdefgh',            # starts with a quote
        'abcdefgh"#',            # ends with quote and hash
        'pass word "quoted" # not a comment',
        '"#"#"#"#',
        '\\"\\#\\\\$x\\',         # backslashes next to quotes, hash, dollar, and at the end
        '$HOME $(reboot) `id` ${x}',
        "it's a 'single' quote",
        '        ',              # eight spaces
        ' leading and trailing ',
        'P"printf\\x41"form',     # looks like wpa_supplicant's P"..." escape form
        'hash:0123456789abcdef',  # looks like an NT hash prefix
        'x' * 62 + '"',           # 63 characters, the longest, ending in a quote
        '0123456789abcdef' * 4,   # 64 hex digits: a raw PSK, written as is
    ]
)

EAP_STRINGS = _chunks(PRINTABLE, 32) + [
    'ab"cd#ef', '"', '#', '\\', '$', 'a b', ' ', 'hash:00112233445566778899aabbccddeeff', 'P"x"',
    '"quoted"@example.org', 'user#1@example.org',
]


def is_raw_psk(psk):
    return len(psk) == 64 and all(c in '0123456789abcdefABCDEF' for c in psk)


def networks(ca_cert):
    """Networks for every passphrase (three securities) and EAP string (PEAP identity/password)."""
    nets = []
    for i, psk in enumerate(PASSPHRASES):
        nets.append({'ssid': 'psk-%d' % i, 'security': 'wpa2_psk', 'psk': psk})
        if not is_raw_psk(psk):
            nets.append({'ssid': 'sae-%d' % i, 'security': 'wpa3_sae', 'psk': psk})
            nets.append({'ssid': 'mix-%d' % i, 'security': 'wpa2_wpa3', 'psk': psk})
    for i, text in enumerate(EAP_STRINGS):
        nets.append({'ssid': 'eap-%d' % i, 'security': 'wpa2_eap', 'eap': 'peap', 'identity': text,
                     'anonymous_identity': text[::-1], 'password': text, 'ca_cert': ca_cert,
                     'phase2': 'auth=MSCHAPV2'})
    return nets
