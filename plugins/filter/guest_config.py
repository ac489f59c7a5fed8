# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the wifibox_guest role: quoting for wpa_supplicant and UCI, address
arithmetic, validation of the role's settings and secret masking.

The documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import os
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.wifibox.bhyve.plugins.module_utils import regdomain

FLAVOURS = ('wifibox_alpine', 'ifupdown', 'openwrt')
MODES = ('nat', 'routed', 'bridged')
IPV6_MODES = ('nat66', 'routed', 'off')
SECURITIES = ('wpa2_psk', 'wpa3_sae', 'wpa2_wpa3', 'open', 'wpa2_eap')
EAP_METHODS = ('peap', 'ttls', 'tls')
# Flavours whose guest can bridge wlan0 (4addr) and eth0 at layer 2.
BRIDGED_FLAVOURS = ('ifupdown', 'openwrt')
ROLES = ('client', 'access_point')
AP_SECURITIES = ('wpa2_psk', 'wpa3_sae', 'wpa2_wpa3', 'open')
AP_KEYS = ('ssid', 'hidden', 'security', 'passphrase', 'band', 'channel', 'channel_width', 'ieee80211n', 'ieee80211ac',
           'ieee80211ax', 'ht_capab', 'vht_capab', 'client_isolation', 'max_clients', 'lan_address', 'lan_gateway',
           'address', 'dhcp_start', 'dhcp_end', 'ipv6_lan_address', 'ipv6_address')
AP_WIDTHS = (20, 40, 80)
# hostapd.conf's ht_capab and vht_capab flags (hostapd/hostapd.conf of hostap); HT40+/- come from the width.
HT_CAPAB_FLAGS = ('LDPC', 'SMPS-STATIC', 'SMPS-DYNAMIC', 'GF', 'SHORT-GI-20', 'SHORT-GI-40', 'TX-STBC', 'RX-STBC1',
                  'RX-STBC12', 'RX-STBC123', 'DELAYED-BA', 'MAX-AMSDU-7935', 'DSSS_CCK-40', '40-INTOLERANT',
                  'LSIG-TXOP-PROT')
VHT_CAPAB_FLAGS = (('MAX-MPDU-7991', 'MAX-MPDU-11454', 'VHT160', 'VHT160-80PLUS80', 'RXLDPC', 'SHORT-GI-80',
                    'SHORT-GI-160', 'TX-STBC-2BY1', 'RX-STBC-1', 'RX-STBC-12', 'RX-STBC-123', 'RX-STBC-1234',
                    'SU-BEAMFORMER', 'SU-BEAMFORMEE', 'MU-BEAMFORMER', 'MU-BEAMFORMEE', 'VHT-TXOP-PS', 'HTC-VHT',
                    'VHT-LINK-ADAPT2', 'VHT-LINK-ADAPT3', 'RX-ANTENNA-PATTERN', 'TX-ANTENNA-PATTERN')
                   + tuple('MAX-A-MPDU-LEN-EXP%d' % i for i in range(8))
                   + tuple('BF-ANTENNA-%d' % i for i in range(2, 5))
                   + tuple('SOUNDING-DIMENSION-%d' % i for i in range(2, 5)))

_HEX64 = re.compile(r'^[0-9a-fA-F]{64}$')
_BSSID = re.compile(r'^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$')
_HOSTNAME = re.compile(r'^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$')
_COUNTRY = re.compile(r'^[A-Z]{2}$')
# A Linux interface name as the guest's ifupdown, iptables and UCI files can hold it: at most
# 15 characters (IFNAMSIZ - 1), no blank, '/', ':' or shell/iptables syntax.
_IFNAME = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]{0,14}$')
# Paths that end up in generated files or file names: absolute, a safe character set.
_PATH = re.compile(r'^/[A-Za-z0-9_./@+-]*$')
_FILE_NAME = re.compile(r'^[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,127}$')
_USER = re.compile(r'^[A-Za-z_][A-Za-z0-9_-]{0,31}$')
_MODE = re.compile(r'^[0-7]{3,4}$')
_PHASE2 = re.compile(r'^(auth|autheap)=[A-Za-z0-9-]+( (auth|autheap)=[A-Za-z0-9-]+)*$')
_DOMAIN = re.compile(r'^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$')
_RADIO_PATH = re.compile(r'^[A-Za-z0-9][A-Za-z0-9:._/+-]{0,127}$')
OPENWRT_BANDS = ('', '2g', '5g', '6g', '60g')
NETWORK_KEYS = ('ssid', 'security', 'psk', 'eap', 'identity', 'anonymous_identity', 'password', 'phase2', 'ca_cert',
                'client_cert', 'private_key', 'private_key_password', 'domain_suffix_match', 'hidden', 'priority',
                'bssid', 'frequencies')
# Interface names the guest itself uses for something else.
_RESERVED_IFNAMES = ('lo', 'br0', 'br-lan')
_INT_MAX = 2147483647
_MASK = '********'
# wpa_supplicant.conf keys and UCI options whose values are secrets.
_WPA_SECRET = re.compile(
    r'^(\s*(?:psk|sae_password|password|private_key_passwd|private_key2_passwd|wep_key[0-3]|wpa_passphrase|wpa_psk)=)'
    r'(.*)$', re.M)
_UCI_SECRET = re.compile(
    r'^(\s*option\s+(?:key|key[1-4]|password|priv_key_pwd|sae_password|auth_secret)\s+)(.*)$', re.M)


def _text(value, name='value'):
    if not isinstance(value, str):
        raise AnsibleFilterError('%s must be a string, got %s' % (name, type(value).__name__))
    return str(value)


def _wpa_plain_ok(text):
    """True if TEXT can be written in double quotes in wpa_supplicant.conf."""
    return all(32 <= ord(ch) <= 126 for ch in text) and '"' not in text and '\\' not in text


def wpa_ssid(ssid):
    """The value of an ssid= line: "name" when that is safe, else the hex form of the UTF-8 bytes."""
    ssid = _text(ssid, 'ssid')
    if ssid and _wpa_plain_ok(ssid) and ssid == ssid.strip():
        return '"%s"' % ssid
    return ssid.encode('utf-8').hex()


def wpa_string(value):
    """The value of a string field (identity, password, phase2, paths...) for wpa_supplicant.conf.

    wpa_supplicant reads a string field as "text" (everything up to the last double quote) or
    as hex digits of the bytes. A double quote inside the text is ambiguous for its comment
    stripping ('#' after a quote ends the line), so any value that is not plain printable ASCII
    without quotes and backslashes is written as hex, which it parses exactly.
    """
    return wpa_ssid(_text(value, 'value'))


def wpa_psk_derive(passphrase, ssid):
    """The 64-hex-digit PSK that WPA derives from PASSPHRASE and SSID (PBKDF2-HMAC-SHA1, 4096 rounds)."""
    key = hashlib.pbkdf2_hmac('sha1', _text(passphrase, 'psk').encode('utf-8'), _text(ssid, 'ssid').encode('utf-8'),
                              4096, 32)
    return key.hex()


def wpa_passphrase(psk, ssid=None):
    """The value of a psk= line.

    64 hex digits are a raw PSK and are written as they are (in lower case). A passphrase
    without double quotes is written in quotes. A passphrase with a double quote cannot be
    written in quotes without ambiguity (wpa_supplicant's comment stripping cuts the line at
    a '#' that follows a quote), so it is written as the PSK derived from it and SSID, which
    is exactly what wpa_supplicant would compute from the passphrase.
    """
    psk = _text(psk, 'psk')
    if _HEX64.match(psk):
        return psk.lower()
    if '"' not in psk and all(32 <= ord(ch) <= 126 for ch in psk):
        return '"%s"' % psk
    if ssid is None:
        raise AnsibleFilterError('wpa_passphrase: this passphrase has a double quote or a character outside '
                                 'printable ASCII; give the SSID so that the PSK can be derived')
    return wpa_psk_derive(psk, ssid)


def wpa_passphrase_quoted(psk):
    """True when wpa_passphrase writes PSK as a quoted passphrase (so SAE can use it as its password)."""
    psk = _text(psk, 'psk')
    return not _HEX64.match(psk) and '"' not in psk and all(32 <= ord(ch) <= 126 for ch in psk)


def uci_quote(value):
    """VALUE in single quotes as OpenWrt's uci(1) writes it ('it'\\''s')."""
    if isinstance(value, bool):
        value = '1' if value else '0'
    return "'%s'" % str(value).replace("'", "'\\''")


def guest_ipinfo(cidr):
    """Facts about an interface address in ADDRESS/PREFIX form."""
    try:
        iface = ipaddress.ip_interface(_text(cidr, 'address'))
    except ValueError as exc:
        raise AnsibleFilterError('not an address/prefix: %s' % exc) from exc
    net = iface.network
    return {
        'address': str(iface.ip),
        'prefix': net.prefixlen,
        'cidr': '%s/%d' % (iface.ip, net.prefixlen),
        'netmask': str(net.netmask),
        'network': str(net.network_address),
        'network_cidr': str(net),
        'broadcast': str(net.broadcast_address),
        'version': iface.version,
        'offset': int(iface.ip) - int(net.network_address),
    }


def _mask(text, tokens):
    """Mask secret values; TOKENS maps each distinct value to its number, shared between texts."""
    def token(value):
        return '%s(secret %d)' % (_MASK, tokens.setdefault(value, len(tokens) + 1))
    text = _WPA_SECRET.sub(lambda m: m.group(1) + token(m.group(2)), text)
    return _UCI_SECRET.sub(lambda m: m.group(1) + "'" + token(m.group(2)) + "'", text)


def guest_mask_secrets(text):
    """TEXT with the values of secret lines (wpa_supplicant.conf, UCI) replaced by asterisks.

    Each distinct value gets a number, so a reader can tell that two values are equal or
    differ, but nothing about the values themselves.
    """
    return _mask(_text(text, 'text'), {})


def guest_masked_diff(before, after, path='file'):
    """A unified diff of BEFORE and AFTER with their secrets masked (a changed secret shows as a new number)."""
    tokens = {}
    old = _mask(_text(before or '', 'before'), tokens).splitlines(True)
    new = _mask(_text(after or '', 'after'), tokens).splitlines(True)
    return ''.join(difflib.unified_diff(old, new, 'before: %s' % path, 'after: %s' % path))


class _Checker:
    """Collects error messages about the role's settings; no message contains a secret."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.errors = []

    def err(self, var, msg):
        self.errors.append('%s: %s' % (var, msg))

    def plain(self, var, value):
        """False (with an error) for a value that is not a plain address string (no scope, no blanks)."""
        if not isinstance(value, str) or not re.match(r'^[0-9A-Fa-f:./]+$', value):
            self.err(var, "'%s' is not an IP address (write it with digits, hex digits, '.', ':' and '/' only: no "
                     "interface scope, no blanks)" % (value,))
            return False
        return True

    def ipv4_iface(self, var, value, need=True):
        if value in (None, ''):
            if need:
                self.err(var, 'is required (ADDRESS/PREFIX, for example 192.168.1.50/24)')
            return None
        if not self.plain(var, value):
            return None
        try:
            iface = ipaddress.ip_interface(str(value))
        except ValueError:
            self.err(var, "'%s' is not an IPv4 address/prefix such as 10.0.0.1/24" % value)
            return None
        if iface.version != 4 or '/' not in str(value):
            self.err(var, "'%s' must be an IPv4 address with a prefix length, such as 10.0.0.1/24" % value)
            return None
        if not 8 <= iface.network.prefixlen <= 30:
            self.err(var, 'prefix /%d is out of range: use /8 to /30' % iface.network.prefixlen)
            return None
        if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
            self.err(var, "'%s' is the network or broadcast address of its subnet; pick a host address" % value)
            return None
        return iface

    def ipv6_iface(self, var, value, need=True, slaac=False):
        if value in (None, ''):
            if need:
                self.err(var, 'is required (ADDRESS/PREFIX, for example fd00::ffff/64)')
            return None
        if not self.plain(var, value):
            return None
        try:
            iface = ipaddress.ip_interface(str(value))
        except ValueError:
            self.err(var, "'%s' is not an IPv6 address/prefix such as fd00::ffff/64" % value)
            return None
        if iface.version != 6 or '/' not in str(value):
            self.err(var, "'%s' must be an IPv6 address with a prefix length, such as fd00::ffff/64" % value)
            return None
        if slaac and iface.network.prefixlen != 64:
            self.err(var, 'the LAN prefix must be a /64 for the host to autoconfigure from router advertisements')
            return None
        return iface

    def ip(self, var, value, version=None):
        if not self.plain(var, value):
            return None
        if '/' in value:
            self.err(var, "'%s' must be an address without a prefix length" % value)
            return None
        try:
            addr = ipaddress.ip_address(str(value))
        except ValueError:
            self.err(var, "'%s' is not an IP address" % value)
            return None
        if version and addr.version != version:
            self.err(var, "'%s' is not an IPv%d address" % (value, version))
            return None
        return addr

    def run(self):
        cfg = self.cfg
        flavour = cfg.get('flavour')
        mode = cfg.get('mode')
        ipv6 = cfg.get('ipv6')
        if flavour not in FLAVOURS:
            self.err('wifibox_guest_flavour', "unknown flavour '%s'; use one of %s" % (flavour, ', '.join(FLAVOURS)))
        if mode not in MODES:
            self.err('wifibox_guest_mode', "unknown mode '%s'; use one of %s" % (mode, ', '.join(MODES)))
        if ipv6 not in IPV6_MODES:
            self.err('wifibox_guest_ipv6', "unknown IPv6 mode '%s'; use one of %s" % (ipv6, ', '.join(IPV6_MODES)))
        if mode == 'bridged' and flavour in FLAVOURS and flavour not in BRIDGED_FLAVOURS:
            self.err('wifibox_guest_mode', "bridged mode is not possible with flavour '%s' (its guest image always "
                     "routes eth0 and serves DHCP on it); use nat or routed, or flavour %s"
                     % (flavour, ' or '.join(BRIDGED_FLAVOURS)))
        hostname = cfg.get('hostname')
        if not isinstance(hostname, str) or not _HOSTNAME.match(hostname):
            self.err('wifibox_guest_hostname', "'%s' is not a valid host name (letters, digits and '-', at most 63)"
                     % (hostname,))
        country = cfg.get('country') or ''
        if country and not _COUNTRY.match(str(country)):
            self.err('wifibox_guest_country', "'%s' is not an ISO 3166-1 alpha-2 code such as DE or US" % country)
        self.networks(cfg.get('networks') or [], flavour)
        role = cfg.get('role', 'client')
        if role not in ROLES:
            self.err('wifibox_guest_role', "unknown role '%s'; use one of %s" % (role, ', '.join(ROLES)))
        elif role == 'access_point':
            if mode != 'nat':
                self.err('wifibox_guest_mode', "mode '%s' is for the client role; an access point NATs its stations "
                         "to the host: leave wifibox_guest_mode at nat" % (mode,))
            if ipv6 not in ('nat66', 'off') and ipv6 in IPV6_MODES:
                self.err('wifibox_guest_ipv6', "'%s' is for the client role; an access point uses nat66 or off" % ipv6)
            if cfg.get('port_forwards'):
                self.err('wifibox_guest_port_forwards', 'port forwards are for the client role; an access point has '
                         'no upstream Wi-Fi network to forward from')
            self.access_point(cfg.get('ap'), ipv6, country)
            mode = None
        if mode in ('nat', 'routed'):
            lan = self.lan(cfg, mode)
            self.upstream(cfg, mode, lan)
            if ipv6 in ('nat66', 'routed'):
                self.ipv6(cfg, ipv6)
            self.forwards(cfg.get('port_forwards') or [], lan)
        elif mode == 'bridged':
            if cfg.get('port_forwards'):
                self.err('wifibox_guest_port_forwards', 'port forwards need mode nat or routed; in bridged mode '
                         'the host is on the upstream network itself')
            self.upstream(cfg, mode, None)
        for i, port in enumerate(cfg.get('uds_ports') or []):
            if not isinstance(port, int) or not 1 <= port <= 65535:
                self.err('wifibox_guest_uds_sockets[%d].port' % i, "'%s' is not a TCP port (1-65535)" % (port,))
        self.interfaces(cfg, mode)
        self.more(cfg, flavour)
        return self.errors

    # -- helpers for the checks below --------------------------------------

    def boolean(self, var, value):
        if not isinstance(value, bool):
            self.err(var, "'%s' must be true or false" % (value,))

    def secret_text(self, var, value, secret=False):
        """A string that reaches wpa_supplicant.conf (hex when needed) and UCI (quoted): no control characters."""
        if value in (None, ''):
            return
        shown = 'the value' if secret else "'%s'" % (value,)
        if not isinstance(value, str):
            self.err(var, 'must be a string')
        elif any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            self.err(var, '%s contains a control character (tab, newline...), which the guest configuration '
                     'cannot hold; remove it' % shown)
        elif len(value.encode('utf-8')) > 1000:
            self.err(var, 'is longer than 1000 bytes, more than wpa_supplicant reads on one line')

    def path(self, var, value, need=True):
        if value in (None, ''):
            if need:
                self.err(var, 'is required (an absolute path)')
            return
        if not isinstance(value, str) or not _PATH.match(value):
            self.err(var, "'%s' must be an absolute path of letters, digits and . _ / @ + -, such as "
                     "/usr/local/etc/wifibox-bhyve" % (value,))
        elif '/../' in value + '/' or '/./' in value + '/':
            self.err(var, "'%s' must not contain '.' or '..' components" % value)

    def interfaces(self, cfg, mode):
        names = {}
        for key in ('lan_interface', 'wlan_interface'):
            if key not in cfg:
                continue
            var = 'wifibox_guest_' + key
            value = cfg.get(key)
            if not isinstance(value, str) or not _IFNAME.match(value):
                self.err(var, "'%s' is not an interface name: 1 to 15 letters, digits, '_', '.' or '-', starting "
                         "with a letter (for example eth0 or wlan0)" % (value,))
            elif value in _RESERVED_IFNAMES:
                self.err(var, "'%s' is used by the guest for something else; name the network card instead "
                         "(eth0, wlan0...)" % value)
            else:
                names[key] = value
        if len(names) == 2 and names['lan_interface'] == names['wlan_interface']:
            self.err('wifibox_guest_wlan_interface', "'%s' is also wifibox_guest_lan_interface; the Wi-Fi and the "
                     "LAN interface must differ" % names['wlan_interface'])

    def more(self, cfg, flavour):
        """Every other setting that reaches a generated file or a path (present when the role passes it)."""
        for key in ('wpa_update_config', 'uds_passthru', 'bridge_dhcp'):
            if key in cfg:
                self.boolean('wifibox_guest_' + key, cfg.get(key))
        if 'config_dir' in cfg:
            self.path('wifibox_guest_config_dir', cfg.get('config_dir'))
        if 'root_dir' in cfg:
            self.path('wifibox_guest_root_dir', cfg.get('root_dir'))
        for key in ('ifupdown_iptables_path', 'ifupdown_ip6tables_path'):
            if key in cfg:
                self.path('wifibox_guest_' + key, cfg.get(key))
                if isinstance(cfg.get(key), str) and cfg.get(key).endswith('/'):
                    self.err('wifibox_guest_' + key, "'%s' is a directory; give the path of the rules file"
                             % cfg.get(key))
        if 'uds_sockets' in cfg:
            self.uds_sockets(cfg.get('uds_sockets'))
        if 'forwarding' in cfg:
            self.forwarding(cfg.get('forwarding'))
        if flavour == 'openwrt':
            self.openwrt(cfg)
        dns_lists = (('dns_fallback', 4), ('ipv6_dns_fallback', 6))
        for key, _version in dns_lists:
            if key in cfg and not isinstance(cfg.get(key) or [], list):
                self.err('wifibox_guest_' + key, 'must be a list of addresses')

    def uds_sockets(self, sockets):
        if not isinstance(sockets, list):
            self.err('wifibox_guest_uds_sockets', 'must be a list of {path, port} (user, group, mode optional)')
            return
        ports = {}
        for i, sock in enumerate(sockets):
            var = 'wifibox_guest_uds_sockets[%d]' % i
            if not isinstance(sock, dict):
                self.err(var, 'must be a dictionary with path and port')
                continue
            unknown = sorted(str(key) for key in sock if key not in ('path', 'port', 'user', 'group', 'mode'))
            if unknown:
                self.err(var, 'unknown setting(s) %s; use path, port, user, group, mode' % ', '.join(unknown))
            self.path(var + '.path', sock.get('path'))
            port = sock.get('port')
            if isinstance(port, int) and not isinstance(port, bool):
                if port in ports:
                    self.err(var + '.port', 'port %d is also used by wifibox_guest_uds_sockets[%d]'
                             % (port, ports[port]))
                ports.setdefault(port, i)
            user = sock.get('user', 'root')
            if not isinstance(user, str) or not _USER.match(user):
                self.err(var + '.user', "'%s' is not a user name (letters, digits, '_' and '-')" % (user,))
            group = sock.get('group', 0)
            if not ((isinstance(group, int) and not isinstance(group, bool) and 0 <= group <= 65535)
                    or (isinstance(group, str) and (_USER.match(group) or group.isdigit()))):
                self.err(var + '.group', "'%s' is not a group name or number" % (group,))
            mode = sock.get('mode', '770')
            if not isinstance(mode, str) or not _MODE.match(mode):
                self.err(var + '.mode', "'%s' must be an octal mode in quotes, such as '770'" % (mode,))

    def forwarding(self, lines):
        if not isinstance(lines, list):
            self.err('wifibox_guest_forwarding', 'must be a list of socat address pairs, one string each')
            return
        for i, line in enumerate(lines):
            var = 'wifibox_guest_forwarding[%d]' % i
            if not isinstance(line, str) or not all(32 <= ord(ch) <= 126 for ch in line):
                self.err(var, 'must be one line of printable ASCII (a socat address pair)')
            elif len(line.split()) != 2 or line.lstrip().startswith('#'):
                self.err(var, "'%s' must be two socat addresses separated by a space, such as "
                         "'UDP4-RECV:11223,reuseaddr UDP4:10.0.0.2:11223'" % line)

    def openwrt(self, cfg):
        if 'openwrt_radio_path' in cfg:
            radio = cfg.get('openwrt_radio_path')
            if not isinstance(radio, str) or not _RADIO_PATH.match(radio):
                self.err('wifibox_guest_openwrt_radio_path', "'%s' is not a device path such as "
                         "pci0000:00/0000:00:06.0" % (radio,))
        if 'openwrt_band' in cfg and cfg.get('openwrt_band') not in OPENWRT_BANDS:
            self.err('wifibox_guest_openwrt_band', "'%s' is not a band; use one of 2g, 5g, 6g, 60g or ''"
                     % (cfg.get('openwrt_band'),))
        if 'openwrt_channel' in cfg:
            chan = cfg.get('openwrt_channel')
            if isinstance(chan, str) and chan.isdigit():
                chan = int(chan)
            if chan != 'auto' and (not isinstance(chan, int) or isinstance(chan, bool) or not 1 <= chan <= 233):
                self.err('wifibox_guest_openwrt_channel', "'%s' must be auto or a channel number (1-233)" % (chan,))

    def networks(self, networks, flavour):
        if not isinstance(networks, list):
            self.err('wifibox_guest_networks', 'must be a list of networks')
            return
        sources = {}
        for i, net in enumerate(networks):
            var = 'wifibox_guest_networks[%d]' % i
            if not isinstance(net, dict):
                self.err(var, 'must be a dictionary with at least ssid and security')
                continue
            unknown = sorted(str(key) for key in net if key not in NETWORK_KEYS)
            if unknown:
                self.err(var, 'unknown setting(s) %s; the settings of a network are %s'
                         % (', '.join(unknown), ', '.join(NETWORK_KEYS)))
            ssid = net.get('ssid')
            if not isinstance(ssid, str) or not ssid:
                self.err(var + '.ssid', 'is required and must be a non-empty string')
            else:
                size = len(ssid.encode('utf-8'))
                if size > 32:
                    self.err(var + '.ssid', 'is %d bytes long in UTF-8; an SSID has 1 to 32 bytes' % size)
                if '\x00' in ssid:
                    self.err(var + '.ssid', 'contains a NUL character, which no configuration file can hold')
                elif flavour == 'openwrt' and any(ord(ch) < 32 or ord(ch) == 127 for ch in ssid):
                    self.err(var + '.ssid', 'contains control characters, which UCI cannot hold; use flavour '
                             'wifibox_alpine or ifupdown for this network')
            security = net.get('security', 'wpa2_psk')
            if security not in SECURITIES:
                self.err(var + '.security', "unknown security '%s'; use one of %s" % (security, ', '.join(SECURITIES)))
            psk = net.get('psk')
            if security in ('wpa2_psk', 'wpa3_sae', 'wpa2_wpa3'):
                self.psk(var + '.psk', psk, security)
            elif psk not in (None, ''):
                self.err(var + '.psk', "is set but security is '%s'; remove it or choose a PSK security" % security)
            if security == 'wpa2_eap':
                self.eap(var, net, sources)
            bssid = net.get('bssid')
            if bssid not in (None, '') and not _BSSID.match(str(bssid)):
                self.err(var + '.bssid', "'%s' is not a MAC address such as 02:11:22:33:44:55" % bssid)
            prio = net.get('priority', 0)
            if not isinstance(prio, int) or isinstance(prio, bool) or not 0 <= prio <= _INT_MAX:
                self.err(var + '.priority', "'%s' must be an integer from 0 to %d" % (prio, _INT_MAX))
            self.boolean(var + '.hidden', net.get('hidden', False))
            freqs = net.get('frequencies') or []
            if not isinstance(freqs, list):
                self.err(var + '.frequencies', 'must be a list of channel frequencies in MHz, such as [2412, 5180]')
                freqs = []
            for j, freq in enumerate(freqs):
                if not isinstance(freq, int) or isinstance(freq, bool) or not is_channel_frequency(freq):
                    self.err('%s.frequencies[%d]' % (var, j), "'%s' is not the centre frequency in MHz of a Wi-Fi "
                             "channel (2.4 GHz: 2412-2472 in steps of 5 or 2484; 5 GHz: 5160-5885 in steps of 5; "
                             "6 GHz: 5955-7115 in steps of 20)" % (freq,))

    def psk(self, var, psk, security):
        if not isinstance(psk, str) or psk == '':
            self.err(var, "is required for security '%s'" % security)
            return
        if _HEX64.match(psk):
            if security != 'wpa2_psk':
                self.err(var, "a 64-hex-digit raw PSK cannot be used with '%s' (SAE needs the passphrase)"
                         % security)
            return
        if not 8 <= len(psk) <= 63:
            self.err(var, 'must be 8 to 63 printable ASCII characters or 64 hex digits; it has %d characters'
                     % len(psk))
        elif not all(32 <= ord(ch) <= 126 for ch in psk):
            self.err(var, 'must contain only printable ASCII characters (space to ~)')

    def eap(self, var, net, sources):
        for key in ('identity', 'anonymous_identity', 'password', 'private_key_password'):
            self.secret_text('%s.%s' % (var, key), net.get(key), secret=key.endswith('password'))
        phase2 = net.get('phase2')
        if phase2 not in (None, '') and (not isinstance(phase2, str) or not _PHASE2.match(phase2)):
            self.err(var + '.phase2', "'%s' is not a phase 2 setting such as auth=MSCHAPV2, auth=PAP or "
                     "autheap=GTC" % (phase2,))
        dsm = net.get('domain_suffix_match')
        if dsm not in (None, '') and (not isinstance(dsm, str)
                                      or not all(_DOMAIN.match(part) for part in dsm.split(';'))):
            self.err(var + '.domain_suffix_match', "'%s' is not a DNS name (or names separated by ';') such as "
                     "radius.example.org" % (dsm,))
        method = net.get('eap')
        if method not in EAP_METHODS:
            self.err(var + '.eap', "'%s' is not a supported EAP method; use one of %s"
                     % (method, ', '.join(EAP_METHODS)))
        if not net.get('identity'):
            self.err(var + '.identity', 'is required for wpa2_eap')
        if method in ('peap', 'ttls') and not net.get('password'):
            self.err(var + '.password', 'is required for EAP method %s' % method)
        if method == 'tls':
            for key in ('client_cert', 'private_key'):
                if not net.get(key):
                    self.err('%s.%s' % (var, key), 'is required for EAP method tls')
        for key in ('ca_cert', 'client_cert', 'private_key'):
            path = net.get(key)
            if not path:
                continue
            if not isinstance(path, str) or not os.path.isfile(path):
                self.err('%s.%s' % (var, key), "file '%s' does not exist on the controller" % (path,))
                continue
            base = os.path.basename(path)
            if not _FILE_NAME.match(base):
                self.err('%s.%s' % (var, key), "the file name '%s' is copied into the guest and written into its "
                         "configuration: use letters, digits, '.', '_', '+' and '-' only" % base)
                continue
            other = sources.setdefault(base, os.path.realpath(path))
            if other != os.path.realpath(path):
                self.err('%s.%s' % (var, key), "another network uses a different file named '%s'; the guest "
                         "keeps them in one directory, so rename one" % base)

    def lan(self, cfg, mode):
        lan = self.ipv4_iface('wifibox_guest_lan_address', cfg.get('lan_address'))
        if lan is None:
            return None
        net = lan.network
        start = self.ip('wifibox_guest_dhcp_range_start', cfg.get('dhcp_start'), 4)
        end = self.ip('wifibox_guest_dhcp_range_end', cfg.get('dhcp_end'), 4)
        if start is not None and end is not None:
            bad = False
            for var, addr in (('wifibox_guest_dhcp_range_start', start), ('wifibox_guest_dhcp_range_end', end)):
                if addr not in net or addr in (net.network_address, net.broadcast_address):
                    self.err(var, '%s is not a host address inside the guest LAN %s' % (addr, net))
                    bad = True
            if not bad and start > end:
                self.err('wifibox_guest_dhcp_range_start', 'the range %s-%s is reversed: start must not be above end'
                         % (start, end))
            elif not bad and start <= lan.ip <= end:
                self.err('wifibox_guest_dhcp_range_start', "the DHCP range %s-%s contains the guest's own address "
                         "%s; move the range or wifibox_guest_lan_address" % (start, end, lan.ip))
        leases = cfg.get('dhcp_max_leases')
        if not isinstance(leases, int) or isinstance(leases, bool) or not 1 <= leases <= 65535:
            self.err('wifibox_guest_dhcp_max_leases', "'%s' must be an integer from 1 to 65535" % (leases,))
        lease = cfg.get('dhcp_lease_time')
        if not isinstance(lease, int) or isinstance(lease, bool) or not 60 <= lease <= _INT_MAX:
            self.err('wifibox_guest_dhcp_lease_time', "'%s' must be a number of seconds from 60 to %d"
                     % (lease, _INT_MAX))
        for i, dns in enumerate(cfg.get('dns_fallback') or []):
            self.ip('wifibox_guest_dns_fallback[%d]' % i, dns, 4)
        return lan

    def upstream(self, cfg, mode, lan):
        up = cfg.get('upstream') or {}
        if not isinstance(up, dict):
            self.err('wifibox_guest_upstream', 'must be a dictionary (proto, address, gateway, dns)')
            return
        unknown = sorted(str(key) for key in up if key not in ('proto', 'address', 'gateway', 'dns'))
        if unknown:
            self.err('wifibox_guest_upstream', 'unknown setting(s) %s; use proto, address, gateway, dns'
                     % ', '.join(unknown))
        proto = up.get('proto', 'dhcp')
        if proto not in ('dhcp', 'static'):
            self.err('wifibox_guest_upstream.proto', "unknown '%s'; use dhcp or static" % proto)
            return
        if mode == 'routed' and proto != 'static':
            self.err('wifibox_guest_upstream.proto', 'routed mode needs a static upstream address (the upstream '
                     'router must route the guest LAN to it): set proto static, address and gateway')
            return
        if proto != 'static':
            return
        iface = self.ipv4_iface('wifibox_guest_upstream.address', up.get('address'))
        gateway = up.get('gateway')
        if not gateway:
            self.err('wifibox_guest_upstream.gateway', 'is required when proto is static')
        else:
            gw = self.ip('wifibox_guest_upstream.gateway', gateway, 4)
            if gw is not None and iface is not None and gw not in iface.network:
                self.err('wifibox_guest_upstream.gateway', '%s is not inside the upstream network %s'
                         % (gw, iface.network))
        for i, dns in enumerate(up.get('dns') or []):
            self.ip('wifibox_guest_upstream.dns[%d]' % i, dns, 4)
        if iface is not None and lan is not None and iface.network.overlaps(lan.network):
            self.err('wifibox_guest_lan_address', 'the guest LAN %s overlaps the upstream network %s; choose a '
                     'LAN subnet the upstream does not use' % (lan.network, iface.network))

    def ipv6(self, cfg, ipv6):
        lan6 = self.ipv6_iface('wifibox_guest_ipv6_lan_address', cfg.get('ipv6_lan_address'), slaac=True)
        for i, dns in enumerate(cfg.get('ipv6_dns_fallback') or []):
            self.ip('wifibox_guest_ipv6_dns_fallback[%d]' % i, dns, 6)
        up = cfg.get('upstream6') or {}
        if not isinstance(up, dict):
            self.err('wifibox_guest_upstream6', 'must be a dictionary (proto, address, gateway, dns)')
            return
        unknown = sorted(str(key) for key in up if key not in ('proto', 'address', 'gateway', 'dns'))
        if unknown:
            self.err('wifibox_guest_upstream6', 'unknown setting(s) %s; use proto, address, gateway, dns'
                     % ', '.join(unknown))
        proto = up.get('proto', 'auto')
        if proto not in ('auto', 'static'):
            self.err('wifibox_guest_upstream6.proto', "unknown '%s'; use auto or static" % proto)
            return
        if proto != 'static':
            return
        iface = self.ipv6_iface('wifibox_guest_upstream6.address', up.get('address'))
        if up.get('gateway'):
            self.ip('wifibox_guest_upstream6.gateway', up.get('gateway'), 6)
        else:
            self.err('wifibox_guest_upstream6.gateway', 'is required when proto is static')
        for i, dns in enumerate(up.get('dns') or []):
            self.ip('wifibox_guest_upstream6.dns[%d]' % i, dns, 6)
        if iface is not None and lan6 is not None and iface.network.overlaps(lan6.network):
            self.err('wifibox_guest_ipv6_lan_address', 'the guest LAN prefix %s overlaps the upstream prefix %s'
                     % (lan6.network, iface.network))

    def forwards(self, forwards, lan):
        for i, fwd in enumerate(forwards):
            var = 'wifibox_guest_port_forwards[%d]' % i
            if not isinstance(fwd, dict):
                self.err(var, 'must be a dictionary with proto, port and to_address')
                continue
            unknown = sorted(str(key) for key in fwd if key not in ('proto', 'port', 'to_address', 'to_port'))
            if unknown:
                self.err(var, 'unknown setting(s) %s; use proto, port, to_address, to_port' % ', '.join(unknown))
            if fwd.get('proto', 'tcp') not in ('tcp', 'udp'):
                self.err(var + '.proto', "'%s' must be tcp or udp" % fwd.get('proto'))
            for key in ('port', 'to_port'):
                port = fwd.get(key)
                if key == 'to_port' and port in (None, ''):
                    continue
                if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
                    self.err('%s.%s' % (var, key), "'%s' is not a port number (1-65535)" % (port,))
            addr = self.ip(var + '.to_address', fwd.get('to_address'), 4)
            if addr is not None and lan is not None:
                if addr not in lan.network or addr == lan.ip:
                    self.err(var + '.to_address', '%s is not a host of the guest LAN %s (other than the guest)'
                             % (addr, lan.network))

    # -- access point --------------------------------------------------------

    def access_point(self, ap, ipv6, country):
        if not isinstance(ap, dict):
            self.err('wifibox_guest_ap', 'internal: the access point settings are missing')
            return
        unknown = sorted(str(key) for key in ap if key not in AP_KEYS)
        if unknown:
            self.err('wifibox_guest_ap', 'unknown setting(s) %s' % ', '.join(unknown))
        ssid = ap.get('ssid')
        if not isinstance(ssid, str) or not ssid:
            self.err('wifibox_guest_ap_ssid', 'is required and must be a non-empty string')
        else:
            size = len(ssid.encode('utf-8'))
            if size > 32:
                self.err('wifibox_guest_ap_ssid', 'is %d bytes long in UTF-8; an SSID has 1 to 32 bytes' % size)
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in ssid):
                self.err('wifibox_guest_ap_ssid', 'contains a control character; stations could not show or type '
                         'this name: remove it')
        for key in ('hidden', 'ieee80211n', 'ieee80211ac', 'ieee80211ax', 'client_isolation'):
            self.boolean('wifibox_guest_ap_' + key, ap.get(key))
        security = ap.get('security')
        if security not in AP_SECURITIES:
            self.err('wifibox_guest_ap_security', "unknown security '%s'; an access point offers one of %s"
                     % (security, ', '.join(AP_SECURITIES)))
        else:
            passphrase = ap.get('passphrase')
            if security == 'open':
                if passphrase not in (None, ''):
                    self.err('wifibox_guest_ap_passphrase', "is set but security is 'open'; remove it or choose a "
                             "PSK security")
            else:
                self.psk('wifibox_guest_ap_passphrase', passphrase, security)
        clients = ap.get('max_clients')
        if not isinstance(clients, int) or isinstance(clients, bool) or not 1 <= clients <= 2007:
            self.err('wifibox_guest_ap_max_clients', "'%s' must be an integer from 1 to 2007 (hostapd's limit)"
                     % (clients,))
        self.ap_radio(ap, country)
        self.ap_addresses(ap, ipv6)

    def ap_radio(self, ap, country):
        band = ap.get('band')
        if band not in regdomain.BANDS:
            self.err('wifibox_guest_ap_band', "'%s' is not a band; use one of %s" % (band, ', '.join(regdomain.BANDS)))
            return
        valid = regdomain.allowed_channels(country or '', band)
        where = ("country %s" % country) if country else 'the world regulatory domain (wifibox_guest_country empty)'
        if valid is None:
            self.err('wifibox_guest_country', "'%s' is not in the wireless regulatory database; use one of %s"
                     % (country, ', '.join(c for c in regdomain.countries() if c != regdomain.WORLD)))
            return
        if not valid:
            self.err('wifibox_guest_ap_band', 'an access point may not transmit on %s in %s%s' % (
                band, where, '; set wifibox_guest_country to where the laptop is' if not country else ''))
            return
        chan = ap.get('channel')
        if isinstance(chan, str) and chan.isdigit():
            chan = int(chan)
        if chan != 'auto' and (not isinstance(chan, int) or isinstance(chan, bool) or chan not in valid):
            self.err('wifibox_guest_ap_channel', "'%s' is not a channel an access point may use on %s in %s; valid: "
                     "auto, %s" % (chan, band, where, regdomain.format_channels(valid)))
            chan = None
        width = ap.get('channel_width')
        if isinstance(width, str) and width.isdigit():
            width = int(width)
        if width not in AP_WIDTHS or isinstance(width, bool):
            self.err('wifibox_guest_ap_channel_width', "'%s' must be one of 20, 40, 80 (MHz)" % (width,))
            return
        n_on, ac_on, ax_on = (ap.get(k) is True for k in ('ieee80211n', 'ieee80211ac', 'ieee80211ax'))
        if ac_on and band != '5g':
            self.err('wifibox_guest_ap_ieee80211ac', '802.11ac exists only on 5g; set wifibox_guest_ap_band to 5g '
                     'or turn it off')
        if (ac_on or ax_on) and not n_on:
            self.err('wifibox_guest_ap_ieee80211n', '802.11ac and 802.11ax build on 802.11n: turn it on too')
        if width == 40 and not n_on:
            self.err('wifibox_guest_ap_channel_width', '40 MHz needs wifibox_guest_ap_ieee80211n')
        if width == 80 and (band != '5g' or not (ac_on or ax_on)):
            self.err('wifibox_guest_ap_channel_width', '80 MHz needs band 5g and 802.11ac or 802.11ax')
        if isinstance(chan, int) and width == 40:
            second = chan + 4 if regdomain.ht40_secondary(band, chan) == '+' else chan - 4
            if second not in valid:
                pairs = regdomain.format_channels(_ht40_ok(band, valid))
                self.err('wifibox_guest_ap_channel', 'channel %d cannot carry 40 MHz in %s: its secondary channel '
                         '%d is not allowed; valid 40 MHz primaries: %s' % (chan, where, second, pairs))
        if isinstance(chan, int) and width == 80 and band == '5g':
            _centre, block = regdomain.vht80_centre(chan)
            if not block or any(c not in valid for c in block):
                self.err('wifibox_guest_ap_channel', 'channel %d cannot carry 80 MHz in %s; valid 80 MHz channels: %s'
                         % (chan, where, regdomain.format_channels(_vht80_ok(valid))))
        for key, flags, need in (('ht_capab', HT_CAPAB_FLAGS, n_on), ('vht_capab', VHT_CAPAB_FLAGS, ac_on or ax_on)):
            value = ap.get(key) or []
            var = 'wifibox_guest_ap_' + key
            if not isinstance(value, list):
                self.err(var, 'must be a list of flags such as [SHORT-GI-20]')
                continue
            if value and not need:
                self.err(var, 'is set but the standard it belongs to is off')
            for i, flag in enumerate(value):
                name = flag[1:-1] if isinstance(flag, str) and flag.startswith('[') and flag.endswith(']') else flag
                if name not in flags:
                    self.err('%s[%d]' % (var, i), "'%s' is not a hostapd %s flag; use one of %s" % (
                        flag, key, ', '.join(flags)))

    def ap_addresses(self, ap, ipv6):
        lan = self.ipv4_iface('wifibox_guest_ap_lan_address', ap.get('lan_address'))
        gateway = self.ip('wifibox_guest_ap_lan_gateway', ap.get('lan_gateway'), 4)
        if lan is not None and gateway is not None:
            if gateway not in lan.network or gateway == lan.ip:
                self.err('wifibox_guest_ap_lan_gateway', "%s is not another host of the guest's LAN %s (the host's "
                         "wifibox0 address)" % (gateway, lan.network))
        wlan = self.ipv4_iface('wifibox_guest_ap_address', ap.get('address'))
        if wlan is not None and lan is not None and wlan.network.overlaps(lan.network):
            self.err('wifibox_guest_ap_address', 'the access point network %s overlaps the LAN %s; choose another '
                     'subnet' % (wlan.network, lan.network))
        start = self.ip('wifibox_guest_ap_dhcp_range_start', ap.get('dhcp_start'), 4)
        end = self.ip('wifibox_guest_ap_dhcp_range_end', ap.get('dhcp_end'), 4)
        if wlan is not None and start is not None and end is not None:
            net = wlan.network
            bad = False
            for var, addr in (('wifibox_guest_ap_dhcp_range_start', start), ('wifibox_guest_ap_dhcp_range_end', end)):
                if addr not in net or addr in (net.network_address, net.broadcast_address):
                    self.err(var, '%s is not a host address inside the access point network %s' % (addr, net))
                    bad = True
            if not bad and start > end:
                self.err('wifibox_guest_ap_dhcp_range_start', 'the range %s-%s is reversed: start must not be above '
                         'end' % (start, end))
            elif not bad and start <= wlan.ip <= end:
                self.err('wifibox_guest_ap_dhcp_range_start', "the DHCP range %s-%s contains the guest's own address "
                         "%s; move the range or wifibox_guest_ap_address" % (start, end, wlan.ip))
        if ipv6 == 'nat66':
            lan6 = self.ipv6_iface('wifibox_guest_ap_ipv6_lan_address', ap.get('ipv6_lan_address'))
            wlan6 = self.ipv6_iface('wifibox_guest_ap_ipv6_address', ap.get('ipv6_address'), slaac=True)
            if lan6 is not None and wlan6 is not None and lan6.network.overlaps(wlan6.network):
                self.err('wifibox_guest_ap_ipv6_address', 'the access point prefix %s overlaps the LAN prefix %s'
                         % (wlan6.network, lan6.network))


def _ht40_ok(band, valid):
    out = []
    for chan in valid:
        second = chan + 4 if regdomain.ht40_secondary(band, chan) == '+' else chan - 4
        if second in valid:
            out.append(chan)
    return out


def _vht80_ok(valid):
    return [chan for chan in valid if all(c in valid for c in regdomain.vht80_centre(chan)[1] or (0,))]


def guest_ap_radio(cfg):
    """What hostapd.conf and OpenWrt say about the radio of a validated access point configuration."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get('ap'), dict):
        raise AnsibleFilterError('guest_ap_radio expects the settings of the role')
    ap = cfg['ap']
    band = ap.get('band')
    chan = ap.get('channel')
    auto = chan == 'auto'
    chan = 0 if auto else int(chan)
    width = int(ap.get('channel_width'))
    n_on, ac_on, ax_on = (ap.get(k) is True for k in ('ieee80211n', 'ieee80211ac', 'ieee80211ax'))
    ht = ['[%s]' % f.strip('[]') for f in ap.get('ht_capab') or []]
    vht = ['[%s]' % f.strip('[]') for f in ap.get('vht_capab') or []]
    if width >= 40:
        # With automatic selection hostapd picks the pair; it starts from HT40+ on the first channels.
        ht.insert(0, '[HT40%s]' % ('+' if auto else regdomain.ht40_secondary(band, chan)))
    centre = 0
    if width == 80 and not auto:
        centre = regdomain.vht80_centre(chan)[0]
    if ax_on:
        htmode = 'HE%d' % width
    elif ac_on:
        htmode = 'VHT%d' % width
    elif n_on:
        htmode = 'HT%d' % width
    else:
        htmode = 'NOHT'
    return {
        'hw_mode': regdomain.HW_MODE[band],
        'channel': 'acs_survey' if auto else chan,
        'uci_channel': 'auto' if auto else str(chan),
        'ht_capab': ''.join(ht),
        'vht_capab': ''.join(vht),
        'chwidth': 1 if width == 80 else 0,
        'centre': centre,
        'htmode': htmode,
        'frequency': 0 if auto else regdomain.frequency(band, chan),
    }


def is_channel_frequency(freq):
    """True if FREQ (MHz) is the centre frequency of a 20 MHz Wi-Fi channel (2.4, 5 or 6 GHz)."""
    if 2412 <= freq <= 2472:
        return (freq - 2412) % 5 == 0
    if freq == 2484:
        return True
    if 5160 <= freq <= 5885:
        return freq % 5 == 0
    if 5955 <= freq <= 7115:
        return (freq - 5955) % 20 == 0
    return False


def guest_validate(cfg):
    """A list of error messages about the role's settings; empty when they are valid."""
    if not isinstance(cfg, dict):
        raise AnsibleFilterError('guest_validate expects a dictionary of settings')
    return _Checker(cfg).run()


class FilterModule:
    """Filters of the wifibox_guest role."""

    def filters(self):
        return {
            'wpa_ssid': wpa_ssid,
            'wpa_passphrase': wpa_passphrase,
            'wpa_passphrase_quoted': wpa_passphrase_quoted,
            'wpa_psk_derive': wpa_psk_derive,
            'wpa_string': wpa_string,
            'uci_quote': uci_quote,
            'guest_ipinfo': guest_ipinfo,
            'guest_validate': guest_validate,
            'guest_ap_radio': guest_ap_radio,
            'guest_mask_secrets': guest_mask_secrets,
            'guest_masked_diff': guest_masked_diff,
        }
