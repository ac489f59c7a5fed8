"""rc.subr(8), /etc/defaults/rc.conf and rcorder(8) as FreeBSD's libexec/rc/rc.subr,
libexec/rc/rc.conf and sbin/rcorder behave: one test per behaviour, on one laptop for the
module. Every script and file a test writes is its own (names per test)."""
import pytest

from wifibox_lab import api

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lp(lab_root):
    laptop = api.up("rcsubr%d" % (id(lab_root) % 1000), profile="thinkpad-t480", root=lab_root)
    yield laptop
    laptop.destroy()


def sh(lp, script):
    r = lp.sh(script)
    return r.returncode, r.stdout, r.stderr


def rc_script(lp, name, body, rcvar=True):
    """/usr/local/etc/rc.d/NAME with BODY between `name=` and load_rc_config/run_rc_command."""
    text = "#!/bin/sh\n# PROVIDE: %s\n. /etc/rc.subr\nname=%s\n" % (name, name)
    if rcvar:
        text += "rcvar=%s_enable\n" % name
    text += body + "\nload_rc_config $name\nrun_rc_command \"$@\"\n"
    lp.write_file("/usr/local/etc/rc.d/" + name, text, 0o755)
    return "/usr/local/etc/rc.d/" + name


def test_defaults_rc_conf_has_freebsds_defaults_and_source_rc_confs(lp):
    rc, out, err = sh(lp, r"""
        . /etc/defaults/rc.conf
        echo "files=$rc_conf_files local=$local_startup msgs=$rc_startmsgs info=$rc_info"
        echo "kld_list=${kld_list-UNSET} defined=$source_rc_confs_defined"
        type source_rc_confs >/dev/null && echo function""")
    assert rc == 0 and err == ""
    assert out.splitlines() == [
        "files=/etc/rc.conf /etc/rc.conf.local local=/usr/local/etc/rc.d msgs=YES info=NO",
        # FreeBSD ships kld_list commented out: unset, not empty
        "kld_list=UNSET defined=yes", "function"]


def test_source_rc_confs_reads_each_file_once_and_files_added_on_the_way(lp):
    lp.write_file("/tmp/srcA.conf", 'src_trace="${src_trace}A"\nrc_conf_files="${rc_conf_files} /tmp/srcB.conf /tmp/srcA.conf"\n')
    lp.write_file("/tmp/srcB.conf", 'src_trace="${src_trace}B"\n')
    rc, out, err = sh(lp, r"""
        . /etc/defaults/rc.conf
        rc_conf_files="/tmp/srcA.conf /tmp/srcA.conf /tmp/missing.conf"
        source_rc_confs; echo "rc=$? trace=$src_trace" """)
    # A once (listed twice, and again by itself), B in the second pass, the missing file skipped
    assert (rc, out, err) == (0, "rc=0 trace=AB\n", "")


def test_load_rc_config_reads_rc_conf_d_after_rc_conf(lp):
    path = rc_script(lp, "lrc", 'start_cmd="echo v=\\$lrc_v w=\\$lrc_w x=\\$lrc_x"')
    lp.write_file("/etc/rc.conf.local", 'lrc_enable="YES"\nlrc_v=local\nlrc_w=local\nlrc_x=local\n')
    lp.write_file("/etc/rc.conf.d/lrc", "lrc_v=etc\nlrc_w=etc\n")
    sh(lp, "mkdir -p /usr/local/etc/rc.conf.d/lrc")
    lp.write_file("/usr/local/etc/rc.conf.d/lrc/one", "lrc_w=usrlocal\n")
    try:
        assert sh(lp, path + " start") == (0, "v=etc w=usrlocal x=local\n", "")
        # the per-name directories follow local_startup (each D/rc.d gives D/rc.conf.d)
        sh(lp, "mkdir -p /opt/rc.conf.d && echo lrc_x=opt > /opt/rc.conf.d/lrc")
        lp.write_file("/etc/rc.conf.local", 'lrc_enable="YES"\nlocal_startup="/opt/rc.d"\n')
        assert sh(lp, path + " start") == (0, "v=etc w=etc x=opt\n", "")
    finally:
        sh(lp, "rm -rf /etc/rc.conf.local /etc/rc.conf.d/lrc /usr/local/etc/rc.conf.d/lrc /opt/rc.conf.d")


@pytest.mark.parametrize("value, rc", [
    ("YES", 0), ("yes", 0), ("TrUe", 0), ("on", 0), ("1", 0),
    ("NO", 1), ("false", 1), ("Off", 1), ("0", 1)])
def test_checkyesno_values(lp, value, rc):
    assert sh(lp, ". /etc/rc.subr; v=%s; checkyesno v" % value) == (rc, "", "")


def test_checkyesno_warns_of_anything_else(lp):
    for value in ("", "Y", "enable", "2"):
        assert sh(lp, ". /etc/rc.subr; v='%s'; checkyesno v" % value) == (
            1, "", "/bin/sh: WARNING: $v is not set properly - see rc.conf(5).\n")


def test_rcvar_gate_and_enabled(lp):
    path = rc_script(lp, "gate", 'start_cmd="echo started"\nstop_cmd="echo stopped"\n'
                                 'status_cmd="echo st"\nextra_commands="reload"\nreload_cmd="echo reloaded"')
    not_set = "%s: WARNING: $gate_enable is not set properly - see rc.conf(5).\n" % path
    # unset: the verbs the rcvar decides say Cannot ... and exit 0, with checkyesno's warning
    for verb in ("start", "stop", "restart", "reload"):
        assert sh(lp, path + " " + verb) == (0, (
            "Cannot '%s' gate. Set gate_enable to YES in /etc/rc.conf or use 'one%s' instead of '%s'.\n"
            % (verb, verb, verb)), not_set)
    # status, rcvar, describe are not gated
    assert sh(lp, path + " status") == (0, "st\n", "")
    # enabled: checkyesno's answer, its warning included
    assert sh(lp, path + " enabled") == (1, "", not_set)
    lp.write_file("/etc/rc.conf.d/gate", 'gate_enable="NO"\n')
    try:
        assert sh(lp, path + " enabled") == (1, "", "")
        assert sh(lp, path + " quietstart") == (0, "", "")
        lp.write_file("/etc/rc.conf.d/gate", 'gate_enable="YES"\n')
        assert sh(lp, path + " enabled") == (0, "", "")
        assert sh(lp, path + " reload") == (0, "reloaded\n", "")
    finally:
        sh(lp, "rm -f /etc/rc.conf.d/gate")


def test_one_force_quiet_prefixes(lp):
    path = rc_script(lp, "pfx", 'start_precmd="pfx_pre"\nstart_cmd="echo run enable=\\$pfx_enable"\n'
                                'pfx_pre() { echo pre; return ${pfx_pre_rc:-0}; }')
    lp.write_file("/etc/rc.conf.d/pfx", 'pfx_enable="NO"\n')
    try:
        # one and force set the rcvar to YES for this run
        assert sh(lp, path + " onestart") == (0, "pre\nrun enable=YES\n", "")
        lp.write_file("/etc/rc.conf.d/pfx", 'pfx_enable="NO"\npfx_pre_rc=1\n')
        # a failing precmd stops the verb with 1; force goes on
        assert sh(lp, path + " onestart") == (1, "pre\n", "")
        assert sh(lp, path + " forcestart") == (0, "pre\nrun enable=YES\n", "")
        # quiet: no Cannot message
        assert sh(lp, path + " quietstart") == (0, "", "")
        # a prefix alone is no verb
        rc, out, err = sh(lp, path + " one")
        assert rc == 1 and err.startswith("Usage: %s [fast|force|one|quiet](start|" % path)
    finally:
        sh(lp, "rm -f /etc/rc.conf.d/pfx")


def test_extra_commands(lp):
    path = rc_script(lp, "xtra", 'extra_commands="flush"\nflush_cmd="echo flushed"\n'
                                 'start_cmd=":"', rcvar=False)
    assert sh(lp, path + " flush a b") == (0, "flushed a b\n", "")
    assert sh(lp, path + " extracommands") == (0, "flush\n", "")
    rc, out, err = sh(lp, path + " purge")
    assert rc == 1 and out == ""
    assert err.splitlines() == [
        "%s: unknown directive 'purge'." % path,
        "Usage: %s [fast|force|one|quiet](start|stop|restart|rcvar|enable|disable|delete|enabled"
        "|describe|extracommands|flush)" % path]


def test_required_files_dirs_vars(lp):
    path = rc_script(lp, "req", 'required_files="/tmp/req-file"\nrequired_dirs="/tmp/req-dir"\n'
                                'required_vars="req_other"\nstart_cmd="echo started"\n'
                                'stop_cmd="echo stopped"')
    lp.write_file("/etc/rc.conf.d/req", 'req_enable="YES"\nreq_other="YES"\n')
    try:
        sh(lp, "rm -rf /tmp/req-file /tmp/req-dir; mkdir /tmp/req-dir")
        assert sh(lp, path + " start") == (1, "", "%s: WARNING: /tmp/req-file is not readable.\n" % path)
        assert sh(lp, path + " forcestart") == (0, "started\n", "%s: WARNING: /tmp/req-file is not readable.\n" % path)
        sh(lp, "touch /tmp/req-file; rmdir /tmp/req-dir")
        assert sh(lp, path + " start") == (1, "", "%s: WARNING: /tmp/req-dir is not a directory.\n" % path)
        sh(lp, "mkdir /tmp/req-dir")
        lp.write_file("/etc/rc.conf.d/req", 'req_enable="YES"\nreq_other="NO"\n')
        assert sh(lp, path + " start") == (1, "", "%s: WARNING: $req_other is not enabled.\n" % path)
        lp.write_file("/etc/rc.conf.d/req", 'req_enable="YES"\nreq_other="YES"\n')
        assert sh(lp, path + " start") == (0, "started\n", "")
        # only start checks them
        sh(lp, "rm -rf /tmp/req-file")
        assert sh(lp, path + " stop") == (0, "stopped\n", "")
    finally:
        sh(lp, "rm -rf /etc/rc.conf.d/req /tmp/req-file /tmp/req-dir")


def test_pidfile_check_matches_the_process_name(lp):
    # the default start: command + command_args through eval; the process writes the pid file
    path = rc_script(lp, "pchk", 'command="/bin/sleep"\npidfile="/var/run/pchk.pid"\n'
                                 'command_args="300 >/dev/null 2>&1 & echo \\$! > /var/run/pchk.pid"')
    lp.write_file("/etc/rc.conf.d/pchk", 'pchk_enable="YES"\n')
    try:
        assert sh(lp, path + " status") == (1, "pchk is not running.\n", "")
        assert sh(lp, path + " start") == (0, "Starting pchk.\n", "")
        pid = lp.read_file("/var/run/pchk.pid").strip()
        assert sh(lp, path + " status") == (0, "pchk is running as pid %s.\n" % pid, "")
        assert sh(lp, path + " start") == (1, "", "pchk already running? (pid=%s).\n" % pid)
        assert sh(lp, path + " quietstart") == (1, "", "")
        # procname: the process to look for when it is not the command
        lp.write_file("/etc/rc.conf.d/pchk", 'pchk_enable="YES"\nprocname=/usr/sbin/cron\n')
        assert sh(lp, path + " status") == (1, "pchk is not running.\n", "")
        # a pid file naming a live process of another program is no proof
        lp.write_file("/etc/rc.conf.d/pchk", 'pchk_enable="YES"\n')
        lp.write_file("/var/run/pchk.pid", lp.read_file("/var/run/devd.pid"))
        assert sh(lp, path + " status") == (1, "pchk is not running.\n", "")
        assert sh(lp, path + " stop") == (1, "", "pchk not running? (check /var/run/pchk.pid).\n")
        lp.write_file("/var/run/pchk.pid", pid + "\n")
        rc, out, err = sh(lp, path + " stop")
        assert rc == 0 and out.startswith("Stopping pchk.\n") and err == ""
        assert sh(lp, path + " status") == (1, "pchk is not running.\n", "")
    finally:
        sh(lp, "rm -f /etc/rc.conf.d/pchk; kill $(cat /var/run/pchk.pid) 2>/dev/null; rm -f /var/run/pchk.pid")


def test_the_lab_programs_look_like_freebsds_to_check_pidfile(lp):
    """devd (a simulated program) and a daemon(8) supervisor match their FreeBSD names."""
    devd = lp.read_file("/var/run/devd.pid").strip()
    assert sh(lp, "/etc/rc.d/devd status") == (0, "devd is running as pid %s.\n" % devd, "")
    assert sh(lp, ". /etc/rc.subr; check_pidfile /var/run/devd.pid /sbin/devd") == (0, devd + "\n", "")
    assert sh(lp, ". /etc/rc.subr; check_pidfile /var/run/devd.pid /usr/sbin/cron") == (0, "", "")
    sh(lp, "daemon -P /var/run/rcsubr-sup.pid sleep 300")
    try:
        sup = lp.read_file("/var/run/rcsubr-sup.pid").strip()
        # daemon: TITLE[PID] (daemon) matches procname daemon (basename + ":")
        assert sh(lp, ". /etc/rc.subr; check_pidfile /var/run/rcsubr-sup.pid /usr/sbin/daemon") == (0, sup + "\n", "")
    finally:
        sh(lp, "kill $(cat /var/run/rcsubr-sup.pid)")


def test_check_pidfile_needs_a_procname(lp):
    assert sh(lp, ". /etc/rc.subr; check_pidfile /var/run/x.pid") == (
        3, "", "/bin/sh: ERROR: USAGE: check_pidfile pidfile procname [interpreter]\n")


def test_status_and_poll_exist_only_with_a_process_or_a_status_cmd(lp):
    # pidfile alone (no command, no procname): rc.subr has no process to look for
    path = rc_script(lp, "nost", 'pidfile="/var/run/nost.pid"\nstart_cmd="echo s"')
    rc, out, err = sh(lp, path + " status")
    assert rc == 1 and err.startswith("%s: unknown directive 'status'." % path)
    rc, out, err = sh(lp, path + " poll")
    assert rc == 1 and "unknown directive 'poll'" in err
    path = rc_script(lp, "yest", 'pidfile="/var/run/yest.pid"\nstatus_cmd="echo custom; return 3"')
    assert sh(lp, path + " status") == (1, "custom\n", "")


def test_start_of_a_command_that_cannot_run(lp):
    path = rc_script(lp, "nocmd", 'command="/nonexistent/daemon"', rcvar=False)
    assert sh(lp, path + " start") == (1, "", "%s: WARNING: run_rc_command: cannot run /nonexistent/daemon\n" % path)


def test_stop_when_not_running_and_disabled(lp):
    path = rc_script(lp, "stp", 'command="/bin/sleep"\npidfile="/var/run/stp.pid"')
    lp.write_file("/etc/rc.conf.d/stp", 'stp_enable="NO"\n')
    try:
        assert sh(lp, path + " stop") == (
            0, "Cannot 'stop' stp. Set stp_enable to YES in /etc/rc.conf or use 'onestop' instead of 'stop'.\n", "")
        assert sh(lp, path + " onestop") == (1, "", "stp not running? (check /var/run/stp.pid).\n")
        assert sh(lp, path + " faststop") == (0, "", "")
    finally:
        sh(lp, "rm -f /etc/rc.conf.d/stp")


def test_rcorder_keywords(lp):
    sh(lp, "mkdir -p /tmp/rco")
    for name, head in [("a", "# PROVIDE: a\n# KEYWORD: shutdown\n"),
                       ("b", "# PROVIDE: b\n# REQUIRE: a\n# KEYWORD: nojail shutdown\n"),
                       ("c", "# PROVIDE: c\n# REQUIRE: b\n"),
                       ("d", "# PROVIDE: d\n# REQUIRE: c\n# KEYWORD: suspend\n")]:
        lp.write_file("/tmp/rco/" + name, "#!/bin/sh\n" + head, 0o755)
    files = "/tmp/rco/d /tmp/rco/c /tmp/rco/b /tmp/rco/a"

    def order(opts):
        return [p.rsplit("/", 1)[1] for p in sh(lp, "rcorder %s %s" % (opts, files))[1].split()]
    try:
        assert order("") == ["a", "b", "c", "d"]
        # -k: only files with one of those keywords; -s: not those with one of these
        assert order("-k shutdown") == ["a", "b"]
        assert order("-s nojail") == ["a", "c", "d"]
        assert order("-k shutdown -s nojail") == ["a"]
        assert order("-k suspend -k nojail") == ["b", "d"]
        assert order("-s shutdown -s suspend") == ["c"]
    finally:
        sh(lp, "rm -rf /tmp/rco")


def test_rcorder_reads_the_header_block_only(lp):
    sh(lp, "mkdir -p /tmp/rch")
    lp.write_file("/tmp/rch/a", "#!/bin/sh\n#\n# PROVIDE: a\n# KEYWORDS: one \\\n    two\n", 0o755)
    # REQUIRES: is REQUIRE:; a header after the block, or indented, or without the space, is not read
    lp.write_file("/tmp/rch/b", "#!/bin/sh\n# PROVIDES: b\n# REQUIRES: a\n\n# KEYWORD: one\n", 0o755)
    lp.write_file("/tmp/rch/c", "#!/bin/sh\n# PROVIDE: c\n  # KEYWORD: one\n#KEYWORD: two\n", 0o755)
    try:
        def order(opts):
            return [p.rsplit("/", 1)[1] for p in sh(lp, "rcorder %s /tmp/rch/c /tmp/rch/b /tmp/rch/a" % opts)[1].split()]
        assert order("") == ["c", "a", "b"]
        assert order("-k one") == ["a"]
        assert order("-k two") == ["a"]
    finally:
        sh(lp, "rm -rf /tmp/rch")
