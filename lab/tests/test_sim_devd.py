"""devd.conf rule choice (FREEBSD.md section 8): highest priority first, only one action."""
from wifibox_lab.freebsd import devdconf

BASE = """
options { directory "/etc/devd"; directory "/usr/local/etc/devd"; };
notify 10 {
	match "system"		"ACPI";
	match "subsystem"	"Resume";
	action "/etc/rc.resume acpi $notify";
};
"""
WIFIBOX = """# ours
notify 11 {
	match "system"		"ACPI";
	match "subsystem"	"Resume";
	action "/usr/local/sbin/vmctl resume; /etc/rc.resume acpi $notify";
};
"""
EVENT = {"system": "ACPI", "subsystem": "Resume", "notify": "0x03"}


def test_higher_priority_replaces_the_base_rule():
    rules = devdconf.parse(BASE) + devdconf.parse(WIFIBOX)
    rule = devdconf.first_match(rules, "notify", EVENT)
    assert rule["priority"] == 11
    assert devdconf.expand(rule["action"], EVENT) == \
        "/usr/local/sbin/vmctl resume; /etc/rc.resume acpi 0x03"


def test_regex_is_anchored_and_comments_ignored():
    rules = devdconf.parse('/* x */ notify 20 { match "system" "ACP"; action "no"; }; // y\n'
                           + BASE)
    assert devdconf.first_match(rules, "notify", EVENT)["priority"] == 10
    assert devdconf.first_match(rules, "notify", dict(EVENT, subsystem="Suspend")) is None
