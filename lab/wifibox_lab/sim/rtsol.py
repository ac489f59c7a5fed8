"""rtsol(8): send ICMPv6 router solicitations on the named interfaces (one-shot rtsold).

`rtsol [-dDiF] [-O script-name] [-p pidfile] [-R script-name] interface ...`: the kernel must
accept router advertisements on the interface (ifconfig IF inet6 accept_rtadv); the answer
is handled by the kernel (here Linux, accept_ra). A real RS leaves the interface, sent to
all-routers (ff02::2) with hop limit 255; rtsol waits briefly for the advertisement.
"""
import getopt
import os
import socket
import struct
import time

USAGE = ("usage: rtsol [-dDF] [-O script-name] [-p pidfile] [-R script-name] interface ...\n"
         "       rtsol [-dDF] [-O script-name] [-p pidfile] [-R script-name] -a\n")
ND_ROUTER_SOLICIT = 133
ND_ROUTER_ADVERT = 134
IPV6_MULTICAST_HOPS = 18
IPV6_UNICAST_HOPS = 16


def solicit(ifname, tries=3, wait=1.0):
    """Send up to `tries` RS, stopping at the first RA seen. -> True if an RA came."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255)
        sock.settimeout(0.2)
        index = socket.if_nametoindex(ifname)
        rs = struct.pack("!BBHI", ND_ROUTER_SOLICIT, 0, 0, 0)  # the kernel fills the checksum
        for _ in range(tries):
            try:
                sock.sendto(rs, ("ff02::2", 0, 0, index))
            except OSError:
                pass  # no usable source address yet (DAD): try again
            end = time.monotonic() + wait
            while time.monotonic() < end:
                try:
                    data = sock.recv(1500)
                except socket.timeout:
                    continue
                if data and data[0] == ND_ROUTER_ADVERT:
                    return True
        return False
    finally:
        sock.close()


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "adDFiO:p:R:")
    except getopt.GetoptError:
        ctx.err.write(USAGE)
        return 1
    if not args:
        ctx.err.write(USAGE)
        return 1
    for ifname in args:
        if not os.path.isdir("/sys/class/net/" + ifname):
            return ctx.errx(1, "failed to initialize %s" % ifname)
    for ifname in args:
        solicit(ifname)
    return 0
