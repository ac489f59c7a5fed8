# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hand-written floor of P3/P4: the lab guest image booted by qemu directly, one script.

No service, no simulated bhyve checks, no guest init contract: the same kernel and initramfs
(wifibox_lab.guest.image.ensure()) with a small cpio appended (the kernel unpacks concatenated
archives) holding /floor.sh, booted with rdinit=/floor.sh. The script brings eth0 up first,
loads hwsim, starts the far side of the air (the image's own lab-air) and waits for it, then
wpa_supplicant with a fixed config, udhcpc on wlan0, NAT, udhcpd on eth0, and prints `floor: STEP SECONDS` (the guest's uptime) on the
console after each step, which parse_marks() reads back.
"""

import io
import os
import re
import time

SUBNET = '10.91.0'  # the floor's eth0 network (inside the floor's own netns only)

STEPS = ('init', 'wlan0', 'associated', 'wlan0_lease', 'nat', 'dhcpd')

SCRIPT = r"""#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mark() { echo "floor: $1 $(cut -d' ' -f1 /proc/uptime)" > /dev/console; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /var/run /lab/air && mount --bind /run /var/run
echo /usr/bin/modprobe > /proc/sys/kernel/modprobe
for m in virtio_pci virtio_net e1000 9pnet_virtio 9p af_packet; do modprobe $m 2>/dev/null; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 labair /lab/air
mark init
# the LAN side first: e1000's link takes seconds to come up, and nothing Wi-Fi waits for it
ip link set lo up
ip link set eth0 up
ip addr add @SUBNET@.1/24 dev eth0
modprobe mac80211_hwsim radios=2
/usr/sbin/lab-air &
while [ ! -e /sys/class/net/wlan0 ]; do sleep 0.05; done
mark wlan0
cat > /tmp/wpa.conf <<EOC
ctrl_interface=/run/wpa_supplicant
network={
	ssid="@SSID@"
	psk="@PSK@"
	key_mgmt=WPA-PSK
	scan_freq=@FREQ@
}
EOC
ip link set wlan0 up
# the far side's access point beacons before the first scan (a scan that misses it costs a
# whole scan interval): the floor knows the world, the product cannot
until grep -q '^air up' /lab/air/log/air.log 2>/dev/null; do sleep 0.05; done
wpa_supplicant -B -s -i wlan0 -D nl80211 -c /tmp/wpa.conf
until wpa_cli -p /run/wpa_supplicant -i wlan0 status 2>/dev/null | grep -q wpa_state=COMPLETED; do sleep 0.05; done
mark associated
cat > /tmp/udhcpc.sh <<'EOC'
#!/bin/sh
case "$1" in bound|renew)
	ip addr add "$ip/${mask:-24}" dev "$interface"
	ip route replace default via "${router%% *}" dev "$interface" ;;
esac
EOC
chmod 755 /tmp/udhcpc.sh
udhcpc -i wlan0 -s /tmp/udhcpc.sh -q -n -t 30 -T 1 -A 1 >/dev/null 2>&1
mark wlan0_lease
echo 1 > /proc/sys/net/ipv4/ip_forward
iptables -t nat -A POSTROUTING -o wlan0 -j MASQUERADE
mark nat
printf 'start @SUBNET@.10\nend @SUBNET@.20\ninterface eth0\noption subnet 255.255.255.0\noption router @SUBNET@.1\nlease_file /tmp/udhcpd.leases\n' > /tmp/udhcpd.conf
touch /tmp/udhcpd.leases
udhcpd -a 100 /tmp/udhcpd.conf
mark dhcpd
while :; do sleep 3600; done
"""


def script(ssid, psk, freq):
    """The floor's /floor.sh for the far side's network SSID/PSK on FREQ."""
    for name, value in (('ssid', ssid), ('psk', psk)):
        if re.search(r'["\\$`\n]', value):
            raise ValueError('the floor script takes a plain %s (no quotes, backslashes, $ or `): %r'
                             % (name, value))
    return (SCRIPT.replace('@SSID@', ssid).replace('@PSK@', psk).replace('@FREQ@', str(int(freq)))
            .replace('@SUBNET@', SUBNET))


def newc(files):
    """A cpio archive (newc format, as the kernel's initramfs unpacker reads) of {path: (mode, bytes)}."""
    out = io.BytesIO()

    def entry(ino, name, mode, data):
        name_b = name.encode() + b'\0'
        fields = (ino, mode, 0, 0, 1, int(time.time()), len(data), 0, 0, 0, 0, len(name_b), 0)
        out.write(b'070701' + b''.join(b'%08X' % f for f in fields) + name_b)
        out.write(b'\0' * (-(110 + len(name_b)) % 4))
        out.write(data)
        out.write(b'\0' * (-len(data) % 4))
    for ino, (path, (mode, data)) in enumerate(sorted(files.items()), 1):
        entry(ino, path.lstrip('/'), mode, data)
    entry(0, 'TRAILER!!!', 0, b'')
    return out.getvalue()


def initramfs(base, text, dest):
    """DEST = BASE initramfs + a cpio with /floor.sh (TEXT)."""
    with open(base, 'rb') as src, open(dest + '.tmp', 'wb') as out:
        data = src.read()
        out.write(data)
        out.write(b'\0' * (-len(data) % 4))
        out.write(newc({'/floor.sh': (0o100755, text.encode())}))
    os.replace(dest + '.tmp', dest)
    return dest


MARK = re.compile(r'^floor: (\w+) (\d+(?:\.\d+)?)\s*$', re.M)


def parse_marks(console_text):
    """{step: guest uptime seconds} from the console; the first of each step counts."""
    marks = {}
    for m in MARK.finditer(console_text.replace('\r', '')):
        marks.setdefault(m.group(1), float(m.group(2)))
    return marks
