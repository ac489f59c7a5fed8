"""The far side of the air: the access point and the network behind it, chosen per test.

    from wifibox_lab import api
    api.set_air(lp, security="wpa2_psk", ssid="labnet", psk="correct horse")

writes LAPTOP/air/ (hostapd.conf, dnsmasq.conf, radvd.conf, www/), which the guest runner
hands to the VM as the lab-only 9P share `labair` (never on bhyve's command line). In the
VM, /usr/sbin/lab-air moves the second hwsim radio into the inner netns `air` and starts
hostapd (AP bridged into br0 192.168.50.1/24, fd50::1/64), dnsmasq (DHCP .100-.150 and DNS
for lab.example), busybox httpd (the page) and radvd. Set it before the VM starts; it
takes effect at the VM's next boot. Logs: LAPTOP/air/log/.

security: wpa2_psk, wpa3_sae (MFP required), wpa2_wpa3, open, wpa2_eap (hostapd's own EAP
server: PEAP, TTLS, TLS; certificates from make_certs()).
"""
import os
import re
import shutil
import subprocess

from .runner import air_dir

SUBNET = "192.168.50"
PREFIX6 = "fd50::"
PAGE = "hello-from-the-far-side-of-the-air"
CHANNEL = 6
FREQ = 2437
SECURITIES = ("wpa2_psk", "wpa3_sae", "wpa2_wpa3", "open", "wpa2_eap")


def hostapd_conf(ssid, security, psk=None, hidden=False, four_addr=False, eap_users=None):
    lines = ["interface=wlan1", "bridge=br0", "driver=nl80211", "ssid=%s" % ssid,
             "hw_mode=g", "channel=%d" % CHANNEL, "ctrl_interface=/run/hostapd-air",
             "logger_stdout=-1", "logger_stdout_level=1"]
    if hidden:
        lines.append("ignore_broadcast_ssid=1")
    if four_addr:
        lines.append("wds_sta=1")
    if security == "wpa2_psk":
        lines += ["wpa=2", "wpa_key_mgmt=WPA-PSK", "rsn_pairwise=CCMP", "wpa_passphrase=%s" % psk]
    elif security == "wpa3_sae":
        lines += ["wpa=2", "wpa_key_mgmt=SAE", "rsn_pairwise=CCMP", "ieee80211w=2",
                  "sae_password=%s" % psk]
    elif security == "wpa2_wpa3":
        lines += ["wpa=2", "wpa_key_mgmt=WPA-PSK SAE", "rsn_pairwise=CCMP", "ieee80211w=1",
                  "wpa_passphrase=%s" % psk, "sae_password=%s" % psk]
    elif security == "wpa2_eap":
        lines += ["wpa=2", "wpa_key_mgmt=WPA-EAP", "rsn_pairwise=CCMP", "ieee8021x=1",
                  "eap_server=1", "eap_user_file=/lab/air/eap_users",
                  "ca_cert=/lab/air/certs/ca.pem", "server_cert=/lab/air/certs/server.pem",
                  "private_key=/lab/air/certs/server.key"]
    elif security != "open":
        raise ValueError("unknown security %r; known: %s" % (security, ", ".join(SECURITIES)))
    return "\n".join(lines) + "\n"


def eap_users_file(users):
    """users: {identity: password}; every identity may use PEAP, TTLS or TLS."""
    lines = ['* PEAP,TTLS,TLS']
    for identity, password in users.items():
        lines.append('"%s" TLS' % identity)
    for identity, password in users.items():
        lines.append('"%s" MSCHAPV2,TTLS-MSCHAPV2,TTLS-PAP,GTC "%s" [2]' % (identity, password))
    return "\n".join(lines) + "\n"


DNSMASQ = """interface=br0
bind-interfaces
except-interface=lo
no-resolv
no-hosts
no-ping
domain=lab.example
dhcp-range={s}.100,{s}.150,255.255.255.0,1h
dhcp-option=option:router,{s}.1
dhcp-option=option:dns-server,{s}.1
dhcp-leasefile=/run/air-dnsmasq.leases
address=/www.lab.example/{s}.1
address=/www.lab.example/{p}1
"""

RADVD = """interface br0
{{
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 10;
	prefix {p}/64
	{{
		AdvOnLink on;
		AdvAutonomous on;
	}};
	RDNSS {p}1
	{{
	}};
}};
"""


def set_air(lp, security="wpa2_psk", ssid="labnet", psk="correct horse battery",
            hidden=False, four_addr=False, eap_users=None, ipv6=True, routes6=(),
            page=PAGE, certs=None):
    """Choose the far side of the laptop's Wi-Fi (see the module doc). -> the air dir.

    routes6: ((prefix, via), ...) routes the far side adds (IPv6 routed mode).
    certs: a dir from make_certs() (needed for wpa2_eap).
    """
    d = air_dir(lp.dir)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "www"))
    os.makedirs(os.path.join(d, "log"))
    _write(d, "hostapd.conf", hostapd_conf(ssid, security, psk, hidden, four_addr), 0o600)
    if security == "wpa2_eap":
        if not certs:
            raise ValueError("wpa2_eap needs certs=make_certs(dir)")
        shutil.copytree(certs, os.path.join(d, "certs"))
        _write(d, "eap_users", eap_users_file(eap_users or {"alice": "wonderland"}), 0o600)
    _write(d, "dnsmasq.conf", DNSMASQ.format(s=SUBNET, p=PREFIX6))
    if ipv6:
        _write(d, "radvd.conf", RADVD.format(p=PREFIX6))
    if routes6:
        _write(d, "routes6", "".join("%s %s\n" % r for r in routes6))
    _write(os.path.join(d, "www"), "index.html", page + "\n")
    return d


def station_conf(ssid, security, psk=None, freq=None):
    """wpa_supplicant.conf of one lab station (the client of the guest's access point)."""
    lines = ["ctrl_interface=/run/wpa-stations", "", "network={", '\tssid="%s"' % ssid, "\tscan_ssid=1"]
    if freq:
        lines.append("\tscan_freq=%d" % freq)
    if security == "wpa2_psk":
        lines += ["\tkey_mgmt=WPA-PSK", '\tpsk="%s"' % psk]
    elif security == "wpa3_sae":
        lines += ["\tkey_mgmt=SAE", '\tsae_password="%s"' % psk, "\tieee80211w=2"]
    elif security == "wpa2_wpa3_as_wpa2":  # a WPA2-only station on a transition network
        lines += ["\tkey_mgmt=WPA-PSK", '\tpsk="%s"' % psk, "\tieee80211w=1"]
    elif security == "wpa2_wpa3":
        lines += ["\tkey_mgmt=SAE WPA-PSK", '\tpsk="%s"' % psk, '\tsae_password="%s"' % psk,
                  "\tieee80211w=1"]
    elif security == "open":
        lines.append("\tkey_mgmt=NONE")
    else:
        raise ValueError("unknown station security %r" % security)
    lines.append("}")
    return "\n".join(lines) + "\n"


def set_stations(lp, stations, fetch=None, peers_wait=60, lease_wait=90):
    """The far side of the air as stations of the guest's access point (WIFIBOX.md's hostapd build).

    stations: [{"name": "sta1", "ssid": ..., "security": wpa2_psk|wpa3_sae|wpa2_wpa3|
    wpa2_wpa3_as_wpa2|open, "psk": ..., "freq": 2437}, ...]. At the VM's next boot each gets
    its own hwsim radio in its own netns NAME inside the VM, runs wpa_supplicant, leases with
    busybox udhcpc, GETs `fetch` (http://IPV4[:PORT]/PATH) and connects to the other
    stations (each answers its name on TCP 8000). Results (station_result):
    LAPTOP/air/log/NAME.{lease,page,peers,wpa.log}. Replaces an access point set by set_air.
    """
    d = air_dir(lp.dir)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "stations"))
    os.makedirs(os.path.join(d, "log"))
    for st in stations:
        if not re.match(r"^[a-z][a-z0-9]{0,11}$", st["name"]):
            raise ValueError("station name %r: a lowercase letter, then letters or digits" % st["name"])
        _write(os.path.join(d, "stations"), st["name"] + ".conf",
               station_conf(st["ssid"], st.get("security", "wpa2_psk"), st.get("psk"), st.get("freq")), 0o600)
    host, port, path = "", 80, "/"
    if fetch:
        m = re.match(r"^http://([0-9.]+)(?::([0-9]+))?(/[^ '\\]*)?$", fetch)
        if not m:
            raise ValueError("fetch=%r: give http://IPV4[:PORT]/PATH" % fetch)
        host, port, path = m.group(1), int(m.group(2) or 80), m.group(3) or "/"
    _write(d, "stations.env", "FETCH_HOST='%s'\nFETCH_PORT=%d\nFETCH_PATH='%s'\nPEERS_WAIT=%d\nLEASE_WAIT=%d\n"
           % (host, port, path, peers_wait, lease_wait))
    return d


def station_result(lp, name):
    """What station NAME got: {"lease": {...} or None (no lease) or absent while pending,
    "page": text or None, "peers": {ip: "ok"|"fail"} or None while pending}."""
    log = os.path.join(air_dir(lp.dir), "log")
    out = {}

    def read(what):
        try:
            with open(os.path.join(log, "%s.%s" % (name, what))) as f:
                return f.read()
        except OSError:
            return None
    lease = read("lease")
    if lease is not None and lease.strip():
        out["lease"] = None if lease.strip() == "none" else \
            dict(line.partition("=")[::2] for line in lease.splitlines() if "=" in line)
    out["page"] = read("page")
    peers = read("peers")
    out["peers"] = None if peers is None else dict(line.split()[:2] for line in peers.splitlines()
                                                   if len(line.split()) >= 2)
    return out


def clear_air(lp):
    d = air_dir(lp.dir)
    if os.path.isdir(d):
        shutil.rmtree(d)


def air_log(lp, name="air.log"):
    try:
        with open(os.path.join(air_dir(lp.dir), "log", name)) as f:
            return f.read()
    except OSError:
        return ""


def _write(d, name, text, mode=0o644):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, mode)
    return p


def make_certs(d, client="alice"):
    """A test CA, a server certificate (CN air.lab.example) and a client one (CN `client`)."""
    os.makedirs(d, exist_ok=True)

    def ossl(*a):
        subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=wifibox lab CA", "-keyout", "ca.key", "-out", "ca.pem")
    for name, cn in (("server", "air.lab.example"), ("client", client)):
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % cn, "-keyout",
             name + ".key", "-out", name + ".csr")
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("extendedKeyUsage=%s\n" % ("serverAuth" if name == "server" else "clientAuth"))
        ossl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", name + ".pem")
    return d


# ---- the far side for any printable secret: several access points on the one far radio ----
#
# What hostapd 2.10 reads (hostapd/config_file.c, and the hostapd.conf/hostapd.eap_user
# documentation):
# - hostapd.conf: a line whose first character is '#' is a comment; otherwise only the '\n' is
#   cut and the value is everything after the first '='. So `wpa_passphrase=VALUE` keeps every
#   printable character as is (quotes, '\', a '#' anywhere, leading and trailing spaces); its
#   length must be 8..63. `wpa_psk=` takes a raw PSK of 64 hex digits.
# - SAE uses wpa_passphrase when no sae_password is set. sae_password is avoided: it parses the
#   suffixes |mac=, |vlanid=, |pk= and |id= out of the value.
# - eap_user: a phase 2 identity is read between two '"' with no escape, so an identity that
#   contains '"' cannot be written (EAP_IDENTITY_OK says which can); a password is either
#   quoted (same limit) or unquoted hex, which takes any bytes: the hex form is used.

PRINTABLE = "".join(chr(c) for c in range(32, 127))
MULTI_SECURITIES = ("wpa2_psk", "wpa3_sae", "wpa2_wpa3", "wpa2_eap")
MAX_BSS = 63
FAR_MAC = "02:00:00:00:01:00"  # the far radio (hwsim's second), the first BSS's BSSID


def _printable(what, text):
    bad = sorted(set(c for c in text if c not in PRINTABLE))
    if bad:
        raise ValueError("%s: only printable ASCII (32..126) can be written; found %s"
                         % (what, ", ".join("0x%02x" % ord(c) for c in bad)))


def is_hex_psk(psk):
    return len(psk) == 64 and all(c in "0123456789abcdefABCDEF" for c in psk)


def psk_lines(security, psk):
    """hostapd.conf lines that give hostapd this WPA passphrase / SAE password byte for byte."""
    _printable("the passphrase", psk)
    if security == "wpa2_psk" and is_hex_psk(psk):
        return ["wpa_psk=%s" % psk.lower()]
    if security in ("wpa3_sae", "wpa2_wpa3") and is_hex_psk(psk):
        raise ValueError("a 64-hex-digit raw PSK is no SAE password (SAE needs the password itself)")
    if not 8 <= len(psk) <= 63:
        raise ValueError("wpa_passphrase takes 8..63 characters, not %d" % len(psk))
    return ["wpa_passphrase=%s" % psk]


def bssid(index):
    """BSSID of the index-th BSS: the far radio's address with the last byte = index (hostapd
    takes BSSIDs that differ from the radio's own address in its low bits only)."""
    if not 0 <= index <= MAX_BSS:
        raise ValueError("BSS index %d: 0..%d" % (index, MAX_BSS))
    return FAR_MAC[:-2] + "%02x" % index


def multi_hostapd_conf(bsses, beacon_int=300):
    """hostapd.conf with one BSS per item on the far radio (wlan1, then bss=wlan1-N).

    bsses: [{"ssid": ..., "security": wpa2_psk|wpa3_sae|wpa2_wpa3|wpa2_eap, "psk": ...}, ...]; an EAP BSS
    serves eap_user_file (see multi_eap_users_file)."""
    if not 1 <= len(bsses) <= MAX_BSS + 1:
        raise ValueError("1..%d access points, not %d" % (MAX_BSS + 1, len(bsses)))
    ssids = [b["ssid"] for b in bsses]
    if len(set(ssids)) != len(ssids):
        raise ValueError("every access point needs its own SSID: %r" % ssids)
    lines = ["driver=nl80211", "hw_mode=g", "channel=%d" % CHANNEL, "beacon_int=%d" % beacon_int,
             "ctrl_interface=/run/hostapd-air", "logger_stdout=-1", "logger_stdout_level=1"]
    for i, b in enumerate(bsses):
        ssid, security = b["ssid"], b["security"]
        if not re.match(r"^[A-Za-z0-9._-]{1,32}$", ssid):
            raise ValueError("SSID %r: 1-32 letters, digits, '.', '_' or '-'" % ssid)
        lines += ["", "interface=wlan1" if i == 0 else "bss=wlan1-%d" % i, "bridge=br0"]
        if i:
            lines.append("bssid=%s" % bssid(i))
        lines.append("ssid=%s" % ssid)
        if security == "wpa2_psk":
            lines += ["wpa=2", "wpa_key_mgmt=WPA-PSK", "rsn_pairwise=CCMP"] + psk_lines(security, b["psk"])
        elif security == "wpa3_sae":
            lines += ["wpa=2", "wpa_key_mgmt=SAE", "rsn_pairwise=CCMP", "ieee80211w=2"] + \
                psk_lines(security, b["psk"])
        elif security == "wpa2_wpa3":  # transition mode: WPA2-PSK and SAE stations, one passphrase
            lines += ["wpa=2", "wpa_key_mgmt=WPA-PSK SAE", "rsn_pairwise=CCMP", "ieee80211w=1"] + \
                psk_lines(security, b["psk"])
        elif security == "wpa2_eap":
            lines += ["wpa=2", "wpa_key_mgmt=WPA-EAP", "rsn_pairwise=CCMP", "ieee8021x=1",
                      "eap_server=1", "eap_user_file=/lab/air/eap_users",
                      "ca_cert=/lab/air/certs/ca.pem", "server_cert=/lab/air/certs/server.pem",
                      "private_key=/lab/air/certs/server.key",
                      # every association runs the whole EAP exchange (no PMKSA from a former one)
                      "disable_pmksa_caching=1"]
        else:
            raise ValueError("unknown security %r; known: %s" % (security, ", ".join(MULTI_SECURITIES)))
    return "\n".join(lines) + "\n"


def eap_identity_ok(identity):
    """Whether hostapd's eap_user file can hold this phase 2 identity exactly (see above)."""
    return bool(identity) and '"' not in identity and all(c in PRINTABLE for c in identity)


def multi_eap_users_file(users):
    """eap_user: any phase 1 identity (anonymous) may use PEAP or TTLS; then each phase 2
    identity with its password in hex (any printable password, '"' and '#' included).

    users: [(identity, password), ...]; identity must pass eap_identity_ok."""
    lines = ["* PEAP,TTLS"]
    seen = set()
    for identity, password in users:
        if not eap_identity_ok(identity):
            raise ValueError("EAP identity %r: hostapd reads an identity between two '\"' with no "
                             "escape, so it cannot contain '\"'" % identity)
        if identity in seen:
            raise ValueError("EAP identity %r twice: hostapd takes the first" % identity)
        seen.add(identity)
        _printable("the EAP password of %r" % identity, password)
        if not password:
            raise ValueError("the EAP password of %r is empty" % identity)
        lines.append('"%s" MSCHAPV2,TTLS-MSCHAPV2,TTLS-PAP %s [2]'
                     % (identity, password.encode("ascii").hex()))
    return "\n".join(lines) + "\n"


def set_air_multi(lp, bsses, certs=None, eap_users=(), page=PAGE, beacon_int=300):
    """Several access points at once on the far radio, each with its own SSID and secret (any
    printable passphrase, SAE password or EAP password): the guest picks one by SSID. IPv4
    only (dnsmasq, the page). Like set_air, it takes effect at the VM's next boot. -> air dir."""
    text = multi_hostapd_conf(bsses, beacon_int)
    eap = any(b["security"] == "wpa2_eap" for b in bsses)
    users = multi_eap_users_file(eap_users) if eap else None
    if eap and not certs:
        raise ValueError("wpa2_eap needs certs=make_certs(dir)")
    d = air_dir(lp.dir)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "www"))
    os.makedirs(os.path.join(d, "log"))
    _write(d, "hostapd.conf", text, 0o600)
    if eap:
        shutil.copytree(certs, os.path.join(d, "certs"))
        _write(d, "eap_users", users, 0o600)
    _write(d, "dnsmasq.conf", DNSMASQ.format(s=SUBNET, p=PREFIX6))
    _write(os.path.join(d, "www"), "index.html", page + "\n")
    return d
