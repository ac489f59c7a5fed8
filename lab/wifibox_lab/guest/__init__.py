"""The lab's real guest: a Linux VM under qemu (TCG) behind the simulated bhyve.

image   builds the guest image (Debian kernel + busybox initramfs), cached by its inputs
runner  the program bhyve runs in the guest's place: bhyve's argv -> qemu, exit status
air     the far side of the Wi-Fi (hostapd, DHCP, DNS, a web page), chosen per test
files/  the guest's init (busybox init + rc.guest, following the wifibox-alpine contract)
"""
