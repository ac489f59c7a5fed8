# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hardware set-up of a lab laptop for a molecule scenario (the lab root is WIFIBOX_LAB_ROOT).

    lab_hardware.py remove-wifi NAME   # the laptop has no Wi-Fi card (taken out of its PCI model)
"""

import sys

from wifibox_lab import api
from wifibox_lab.freebsd import state


def remove_wifi(name):
    laptop = api.get(name)
    with state.locked(laptop.dir) as st:
        wifi = st['wifi']
        st['devices'] = [dev for dev in st['devices'] if 'pci%d:%d:%d:%d' % tuple(dev['bsf4']) != wifi]


if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[1] != 'remove-wifi':
        sys.exit(__doc__)
    remove_wifi(sys.argv[2])
