#!/bin/sh
# udhcpc's event script under the lab's dhclient(8): busybox udhcpc does the DHCP packets and
# hands each lease to dhclient on stdout, which then does what FreeBSD's dhclient-script does.
case "$1" in
bound|renew)
	for v in ip subnet broadcast router dns domain search serverid lease mtu; do
		eval "printf 'LAB-DHCLIENT %s=%s\n' $v \"\$$v\""
	done
	echo "LAB-DHCLIENT-$1"
	;;
esac
exit 0
