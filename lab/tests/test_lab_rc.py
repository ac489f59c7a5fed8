"""rc.subr(8), service(8), daemon(8), suspend/resume and devd inside a laptop (sections 8, 9)."""
import time

import pytest

from wifibox_lab import api

pytestmark = pytest.mark.lab

SCRIPT = """#!/bin/sh
# PROVIDE: wifibox
# REQUIRE: NETWORKING devd
# BEFORE: LOGIN
# KEYWORD: shutdown suspend resume
. /etc/rc.subr
name="wifibox"
rcvar="wifibox_enable"
desc="Wi-Fi by a Linux VM"
load_rc_config $name
: ${wifibox_enable:="NO"}
pidfile="/var/run/${name}.pid"
command="/usr/sbin/daemon"
command_args="-P ${pidfile} -r -o /var/log/wifibox.log /bin/sh -c 'echo up; exec sleep 3600'"
extra_commands="suspend resume"
suspend_cmd="echo suspending >> /var/log/wifibox-events"
resume_cmd="echo resuming >> /var/log/wifibox-events"
run_rc_command "$1"
"""


def eventually(check, timeout=10):
    """Poll: processes take a moment, more so on a loaded 2-core machine."""
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError("condition not met within %d s" % timeout)
        time.sleep(0.1)


def sh(lp, script):
    r = lp.sh(script)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture
def wifibox(lab_laptop):
    lab_laptop.write_file("/usr/local/etc/rc.d/wifibox", SCRIPT, 0o755)
    return lab_laptop


def test_rcvar_not_set(wifibox):
    assert sh(wifibox, "service wifibox start") == (
        0, "Cannot 'start' wifibox. Set wifibox_enable to YES in /etc/rc.conf or use "
        "'onestart' instead of 'start'.\n", "")
    assert sh(wifibox, "service wifibox quietstart") == (0, "", "")
    assert sh(wifibox, "service wifibox enabled")[0] == 1


def test_enable_start_status_stop(wifibox):
    assert sh(wifibox, "service wifibox enable") == (0, "wifibox enabled in /etc/rc.conf\n", "")
    assert 'wifibox_enable="YES"' in wifibox.read_file("/etc/rc.conf")
    assert sh(wifibox, "service wifibox enabled")[0] == 0
    assert sh(wifibox, "service wifibox start") == (0, "Starting wifibox.\n", "")
    pid = wifibox.read_file("/var/run/wifibox.pid").strip()
    assert sh(wifibox, "service wifibox status") == (0, "wifibox is running as pid %s.\n" % pid, "")
    assert sh(wifibox, "service wifibox start") == (
        1, "", "wifibox already running? (pid=%s).\n" % pid)
    assert sh(wifibox, "service wifibox stop") == (
        0, "Stopping wifibox.\nWaiting for PIDS: %s.\n" % pid, "")
    assert sh(wifibox, "service wifibox status") == (1, "wifibox is not running.\n", "")
    assert sh(wifibox, "service wifibox stop") == (
        1, "", "wifibox not running? (check /var/run/wifibox.pid).\n")


def test_unknown_directive_and_describe(wifibox):
    rc, out, err = sh(wifibox, "service wifibox foo")
    assert rc == 1 and out == ""
    assert err.splitlines() == [
        "/usr/local/etc/rc.d/wifibox: unknown directive 'foo'.",
        "Usage: /usr/local/etc/rc.d/wifibox [fast|force|one|quiet](start|stop|restart"
        "|rcvar|enable|disable|delete|enabled|describe|extracommands|suspend|resume|status|poll)"]
    assert sh(wifibox, "service wifibox describe") == (0, "Wi-Fi by a Linux VM\n", "")
    # rc.subr: "# NAME : DESC", "#", then each rcvar with its value and its default
    assert sh(wifibox, "service wifibox rcvar") == (
        0, '# wifibox : Wi-Fi by a Linux VM\n#\nwifibox_enable="NO"\n#   (default: "")\n\n', "")


def test_rcorder_and_boot_start_local_scripts(wifibox):
    order = sh(wifibox, "rcorder /etc/rc.d/* /usr/local/etc/rc.d/*")[1].split()
    assert order.index("/etc/rc.d/devd") < order.index("/usr/local/etc/rc.d/wifibox") \
        < order.index("/etc/rc.d/LOGIN")
    sh(wifibox, "sysrc wifibox_enable=YES")
    out = api.reboot(wifibox)
    assert "Starting wifibox.\n" in out
    assert sh(wifibox, "service wifibox status")[0] == 0


def test_daemon_pidfile_lock_and_restart(lab_laptop):
    lp = lab_laptop
    assert sh(lp, "daemon -r -P /var/run/s.pid -p /var/run/c.pid -o /var/log/o.log "
                  "sh -c 'echo run; sleep 0.2'") == (0, "", "")
    eventually(lambda: lp.read_file("/var/log/o.log").count("run\n") >= 2)
    sup = lp.read_file("/var/run/s.pid").strip()
    assert sh(lp, "daemon -P /var/run/s.pid true") == (
        3, "", "daemon: process already running, pid: %s\n" % sup)
    # 14's daemon(8) loses a SIGTERM that lands in its restart delay (no kqueue while it
    # sleeps), so as on FreeBSD the signal is sent until the supervisor is gone.
    eventually(lambda: sh(lp, "kill %s 2>/dev/null; sleep 0.3; test -e /var/run/s.pid" % sup)[0] == 1)


def test_suspend_resume_runs_keyword_scripts_and_devd_rule(wifibox):
    lp = wifibox
    sh(lp, "sysrc wifibox_enable=YES")
    lp.write_file("/usr/local/etc/devd/wifibox.conf", """
notify 11 {
	match "system"		"ACPI";
	match "subsystem"	"Resume";
	action "echo devd-resume-$notify >> /var/log/wifibox-events; /etc/rc.resume acpi $notify";
};
""")
    # devd read its config at boot: the new rule counts only after a restart
    api.suspend(lp)
    api.resume(lp)
    assert lp.read_file("/var/log/wifibox-events") == "suspending\nresuming\n"
    assert sh(lp, "service devd restart")[1].startswith("Stopping devd.\nWaiting for PIDS: ")
    out = api.suspend(lp)
    assert "suspend request timed out" not in out  # rc.suspend acknowledged with acpiconf -k 0
    api.resume(lp)
    assert lp.read_file("/var/log/wifibox-events").splitlines()[2:] == [
        "suspending", "devd-resume-0x03", "resuming"]


def test_suspend_without_acknowledgement_times_out(lab_laptop):
    lab_laptop.write_file("/usr/local/etc/devd/steal.conf", """
notify 20 { match "system" "ACPI"; match "subsystem" "Suspend"; action "true"; };
""")
    lab_laptop.sh("service devd restart")
    assert "acpi0: suspend request timed out, forcing sleep now" in api.suspend(lab_laptop)


def test_devmatch_blocklist_at_boot(lab_laptop):
    lp = lab_laptop
    assert lp.sh("pciconf -l pci0:3:0:0").stdout.startswith("iwm0@")
    lp.sh("sysrc devmatch_blocklist=if_iwm")
    out = api.reboot(lp)
    assert "Autoloading module: if_iwm" not in out
    assert lp.sh("pciconf -l pci0:3:0:0").stdout.startswith("none")
    lp.sh("sysrc devmatch_blocklist=iwm")  # not the module file name: no effect
    api.reboot(lp)
    assert lp.sh("pciconf -l pci0:3:0:0").stdout.startswith("iwm0@")


def test_daemon_exit_codes(lab_laptop):
    assert sh(lab_laptop, "daemon -o /nonexistent/x.log true")[0] == 7
    assert sh(lab_laptop, "daemon -P /nonexistent/x.pid true") == (
        2, "", "daemon: pidfile ``/nonexistent/x.pid'': No such file or directory\n")
    assert sh(lab_laptop, "daemon -s bogus true") == (
        4, "", "daemon: unrecognized syslog priority\n")


def test_cu_connects_to_nmdm(lab_laptop):
    r = lab_laptop.nsenter(["cu", "-l", "/dev/nmdm0B"], input="~.\n")
    assert (r.returncode, r.stderr) == (1, "cu: /dev/nmdm0B: No such file or directory\n")
    lab_laptop.sh("kldload nmdm")
    r = lab_laptop.nsenter(["cu", "-l", "/dev/nmdm0B", "-s", "115200"], input="~.\n")
    assert (r.returncode, r.stdout) == (0, "Connected\n\n[EOT]\n")


def test_cli_state_and_events(lab_laptop):
    import json
    import os
    import subprocess
    cli = os.path.join(os.path.dirname(__file__), "..", "..", ".venv", "bin", "wifibox-lab")
    root = lab_laptop.lab.root
    r = subprocess.run([cli, "--root", root, "state", lab_laptop.name], capture_output=True,
                       text=True)
    st = json.loads(r.stdout)
    assert st["profile"] == "thinkpad-t480" and st["kernel"] == "14.1-RELEASE-p5"
    for action in ("suspend", "resume", "reboot"):
        r = subprocess.run([cli, "--root", root, action, lab_laptop.name], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
    r = subprocess.run([cli, "--root", root, "ssh", lab_laptop.name, "uname", "-n"],
                       capture_output=True, text=True)
    assert r.stdout == lab_laptop.name + "\n"


def test_default_start_honours_flags_and_env(lab_laptop):
    lp = lab_laptop
    lp.write_file("/usr/local/etc/rc.d/echoer", """#!/bin/sh
# PROVIDE: echoer
. /etc/rc.subr
name="echoer"
rcvar="echoer_enable"
load_rc_config $name
command="/usr/bin/env"
command_args="sh -c 'echo \\"\\$GREETING\\" > /var/log/echoer.out'"
run_rc_command "$1"
""", 0o755)
    lp.sh("sysrc echoer_enable=YES echoer_env=GREETING=hello")
    assert sh(lp, "service echoer start") == (0, "Starting echoer.\n", "")
    assert lp.read_file("/var/log/echoer.out") == "hello\n"


def test_daemon_restart_delay_and_syslog(lab_laptop):
    lp = lab_laptop
    assert sh(lp, "daemon -R 0 true") == (6, "", "daemon: invalid restart delay\n")
    assert sh(lp, "daemon -S -T labtag -P /var/run/s.pid sh -c 'echo to-syslog'")[0] == 0
    # without -r the supervisor ends with its child
    eventually(lambda: sh(lp, "test -e /var/run/s.pid")[0] == 1)


EXTRA_ARGS_SCRIPT = """#!/bin/sh
# PROVIDE: extra
. /etc/rc.subr
name="extra"
rcvar="extra_enable"
start_cmd="extra_start"
extra_start() { echo "start with: $*"; }
load_rc_config $name
run_rc_command "$@"
"""


def test_custom_command_gets_the_extra_arguments(lab_laptop):
    # rc.subr: the words after the verb are rc_extra_args, appended to ${verb}_cmd
    lab_laptop.write_file("/usr/local/etc/rc.d/extra", EXTRA_ARGS_SCRIPT, 0o755)
    assert sh(lab_laptop, "sysrc extra_enable=YES >/dev/null; service extra start guest")[:2] == (
        0, "start with: guest\n")
    assert sh(lab_laptop, "service extra start")[:2] == (0, "start with: \n")


@pytest.mark.lab_profile("thinkpad-t480-13")
def test_freebsd_13_rc_suspend_does_not_run_rc_d_suspend(wifibox):
    # rc.suspend gained the `KEYWORD: suspend` loop in 14.0; rc.resume runs `resume` on 13.x too
    lp = wifibox
    sh(lp, "sysrc wifibox_enable=YES")
    out = api.suspend(lp)
    assert "suspend request timed out" not in out
    api.resume(lp)
    assert lp.read_file("/var/log/wifibox-events") == "resuming\n"


def _read(lp, path):
    return sh(lp, "cat %s 2>/dev/null" % path)[1]


@pytest.mark.parametrize("profile,restarted", [("thinkpad-t480", True), ("thinkpad-t480-13", False)])
def test_daemon_sigterm_during_the_restart_delay(lab_laptops, profile, restarted):
    # 14.0+ daemon.c: SIGTERM is SIG_IGN and only read from the event loop's kqueue, which is
    # closed while daemon sleeps before a restart: the signal is lost, the child starts again
    lp = lab_laptops(profile)
    assert sh(lp, "daemon -R 3 -P /var/run/d.pid sh -c 'echo run >> /var/log/d.runs; exit 1'")[0] == 0
    eventually(lambda: _read(lp, "/var/log/d.runs") == "run\n")
    time.sleep(0.5)  # daemon is in its restart delay now
    assert sh(lp, "kill -TERM $(cat /var/run/d.pid)")[0] == 0
    if restarted:
        eventually(lambda: _read(lp, "/var/log/d.runs") == "run\nrun\n")
        assert sh(lp, "kill -KILL $(cat /var/run/d.pid)")[0] == 0
    else:
        eventually(lambda: sh(lp, "test -e /var/run/d.pid")[0] == 1)
        time.sleep(3.5)
        assert _read(lp, "/var/log/d.runs") == "run\n"


def test_daemon_child_gets_default_sighup(lab_laptop):
    # daemon_exec() unignores SIGHUP and SIGTERM before execve
    lp = lab_laptop
    assert sh(lp, "daemon -P /var/run/h.pid sh -c 'grep SigIgn /proc/self/status > /var/log/h.out'")[0] == 0
    eventually(lambda: _read(lp, "/var/log/h.out"))
    ignored = int(_read(lp, "/var/log/h.out").split()[1], 16)
    assert not ignored & (1 << (1 - 1)) and not ignored & (1 << (15 - 1))  # SIGHUP=1, SIGTERM=15
