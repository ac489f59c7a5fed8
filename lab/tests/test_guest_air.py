"""The far side's writer for any printable secret (guest/air.py: set_air_multi), read back by the
real hostapd here: driver=none sets a BSS up without a radio, and -dd -K prints the passphrase
hostapd parsed and the PSK it derived, compared byte for byte with what was asked."""
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess

import pytest

from wifibox_lab.guest import air

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "passphrases", os.path.join(HERE, "..", "..", "tests", "integration", "guest", "passphrases.py"))
passphrases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(passphrases)

need_hostapd = pytest.mark.skipif(not shutil.which("hostapd"), reason="hostapd (lab/apt.txt) is not installed")


def _hostapd(tmp_path, text):
    """Run the real hostapd on a config (driver=none) until the BSS is up. -> its debug output."""
    conf = tmp_path / "hostapd.conf"
    conf.write_text(text)
    proc = subprocess.Popen(["hostapd", "-dd", "-K", str(conf)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = []
    for line in proc.stdout:
        out.append(line)
        if "Setup of interface done" in line or "errors found in configuration file" in line:
            break
    proc.terminate()
    rest, _ = proc.communicate(timeout=10)
    return "".join(out) + rest


def _hexdump(out, name):
    """Bytes of hostapd's `NAME - hexdump_ascii(len=N):` block, or of `NAME - hexdump(len=N): ..`."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^%s - hexdump(_ascii)?\(len=(\d+)\):(.*)$" % re.escape(name), line)
        if not m:
            continue
        if not m.group(1):
            return bytes(int(h, 16) for h in m.group(3).split())
        data, j = [], i + 1
        while len(data) < int(m.group(2)):
            data += lines[j][5:5 + 16 * 3].split()
            j += 1
        return bytes(int(h, 16) for h in data)
    return None


def _single(security, psk, ssid="pass-0"):
    """One BSS as multi_hostapd_conf writes it, on hostapd's radio-less driver."""
    text = air.multi_hostapd_conf([{"ssid": ssid, "security": security, "psk": psk}])
    text = text.replace("driver=nl80211", "driver=none").replace("interface=wlan1", "interface=nosuch0")
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith(("bridge=", "ctrl_interface="))) + "\n"


@need_hostapd
@pytest.mark.parametrize("index", range(len(passphrases.PASSPHRASES)))
def test_hostapd_reads_every_passphrase_byte_for_byte(tmp_path, index):
    psk = passphrases.PASSPHRASES[index]
    out = _hostapd(tmp_path, _single("wpa2_psk", psk))
    assert "errors found" not in out and "Setup of interface done" in out, out[-3000:]
    if air.is_hex_psk(psk):
        assert "Deriving WPA PSK" not in out  # taken as the PSK itself
        return
    assert _hexdump(out, "PSK (ASCII passphrase)") == psk.encode()
    assert _hexdump(out, "PSK (from passphrase)") == hashlib.pbkdf2_hmac("sha1", psk.encode(), b"pass-0", 4096, 32)


@need_hostapd
@pytest.mark.parametrize("security", ["wpa3_sae", "wpa2_wpa3"])
def test_sae_uses_the_passphrase_line(tmp_path, security):
    psk = 'ab"cd#efgh|id=x|mac=ff:ff:ff:ff:ff:ff '
    text = _single(security, psk)
    assert "wpa_passphrase=%s\n" % psk in text and "sae_password" not in text
    out = _hostapd(tmp_path, text)
    assert "errors found" not in out and "Setup of interface done" in out, out[-3000:]
    assert _hexdump(out, "PSK (ASCII passphrase)") == psk.encode()


@pytest.mark.parametrize("security,psk,message", [
    ("wpa2_psk", "short", "8..63"),
    ("wpa2_psk", "x" * 64, "8..63"),
    ("wpa2_psk", "tab\there", "printable ASCII"),
    ("wpa2_psk", "new\nline=1", "printable ASCII"),
    ("wpa3_sae", "0123456789abcdef" * 4, "no SAE password"),
    ("wpa2_wpa3", "0123456789abcdef" * 4, "no SAE password"),
    ("wep", "12345678", "unknown security")])
def test_secrets_hostapd_cannot_take_are_refused(security, psk, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        air.multi_hostapd_conf([{"ssid": "net", "security": security, "psk": psk}])


def test_multi_bss_conf_has_one_section_per_access_point():
    text = air.multi_hostapd_conf([{"ssid": "a", "security": "wpa2_psk", "psk": "12345678"},
                                   {"ssid": "b", "security": "wpa3_sae", "psk": "87654321"},
                                   {"ssid": "c", "security": "wpa2_eap"}])
    sections = text.split("\n\n")
    assert sections[1].startswith("interface=wlan1\nbridge=br0\nssid=a\n")
    assert sections[2].startswith("bss=wlan1-1\nbridge=br0\nbssid=02:00:00:00:01:01\nssid=b\n")
    assert "ieee80211w=2\n" in sections[2] and "eap_server=1\n" in sections[3]
    assert "disable_pmksa_caching=1\n" in sections[3]
    with pytest.raises(ValueError, match="its own SSID"):
        air.multi_hostapd_conf([{"ssid": "a", "security": "open"}] * 2)
    with pytest.raises(ValueError, match="1-32 letters"):
        air.multi_hostapd_conf([{"ssid": "a b", "security": "wpa2_psk", "psk": "12345678"}])


def _eap_user_lines(text):
    """The eap_user file read back as hostapd's parser does (identity between '"', hex password)."""
    users = {}
    for line in text.splitlines()[1:]:
        m = re.match(r'^"([^"]*)" (\S+) ([0-9a-f]+) \[2\]$', line)
        assert m, line
        users[m.group(1)] = bytes.fromhex(m.group(3)).decode()
    return users


def test_eap_users_take_every_printable_password():
    users = [("user%d" % i, s) for i, s in enumerate(passphrases.EAP_STRINGS)]
    users += [(s, s) for s in passphrases.EAP_STRINGS if air.eap_identity_ok(s)]
    text = air.multi_eap_users_file(users)
    assert text.splitlines()[0] == "* PEAP,TTLS"
    assert _eap_user_lines(text) == dict(users)
    assert not air.eap_identity_ok('ab"cd') and air.eap_identity_ok("a#b $\\")
    for bad, message in (([('a"b', "pw")], "cannot contain"), ([("a", "")], "empty"),
                         ([("a", "x"), ("a", "y")], "twice"), ([("a", "\x7f")], "printable")):
        with pytest.raises(ValueError, match=message):
            air.multi_eap_users_file(bad)


@need_hostapd
def test_hostapd_loads_the_multi_bss_and_eap_user_files(tmp_path):
    """The whole multi-BSS file parses (hostapd stops at the second BSS: driver=none adds no
    interfaces), with the eap_user file of every EAP string."""
    certs = air.make_certs(str(tmp_path / "certs"))
    users = [("user%d" % i, s) for i, s in enumerate(passphrases.EAP_STRINGS)]
    (tmp_path / "eap_users").write_text(air.multi_eap_users_file(users))
    bsses = [{"ssid": "eap", "security": "wpa2_eap"}]
    bsses += [{"ssid": "psk-%d" % i, "security": "wpa2_psk", "psk": p} for i, p in enumerate(passphrases.PASSPHRASES)]
    text = air.multi_hostapd_conf(bsses).replace("driver=nl80211", "driver=none")
    text = text.replace("/lab/air/eap_users", str(tmp_path / "eap_users")).replace("/lab/air/certs", certs)
    text = text.replace("ctrl_interface=/run/hostapd-air", "")
    out = _hostapd(tmp_path, text)
    assert "Configuration file: " in out and "errors found" not in out and "Line " not in out, out[-3000:]
