"""sysrc(8) on real files (FREEBSD.md section 3)."""


def test_query_forms(sim):
    sim.file("/etc/rc.conf", 'hostname="lab"\nempty=""\n')
    assert sim.run("sysrc", "hostname") == (0, "hostname: lab\n", "")
    assert sim.run("sysrc", "-n", "hostname") == (0, "lab\n", "")
    assert sim.run("sysrc", "-e", "hostname") == (0, 'hostname="lab"\n', "")
    assert sim.run("sysrc", "empty") == (0, "empty: \n", "")
    assert sim.run("sysrc", "devmatch_enable") == (0, "devmatch_enable: YES\n", "")  # defaults


def test_unknown_variable(sim):
    assert sim.run("sysrc", "nope", "hostname") == (
        1, "hostname: lab\n", "sysrc: unknown variable 'nope'\n")
    assert sim.run("sysrc", "-c", "nope")[0] == 1
    assert sim.run("sysrc", "-x", "nope") == (1, "", "sysrc: unknown variable 'nope'\n")


def test_set_prints_old_and_new_and_appends_quoted(sim):
    assert sim.run("sysrc", "vmm_load=YES") == (0, "vmm_load:  -> YES\n", "")
    assert sim.file("/etc/rc.conf").endswith('vmm_load="YES"\n')
    assert sim.run("sysrc", "vmm_load=YES") == (0, "vmm_load: YES -> YES\n", "")
    assert sim.file("/etc/rc.conf").count("vmm_load=") == 1


def test_set_edits_last_assignment_in_last_file(sim):
    sim.file("/etc/rc.conf", 'a="1"\nb="x"\na="2"\n')
    sim.file("/etc/rc.conf.local", 'a="3"\n')
    assert sim.run("sysrc", "a=4") == (0, "a: 3 -> 4\n", "")
    assert sim.file("/etc/rc.conf") == 'a="1"\nb="x"\na="2"\n'
    assert sim.file("/etc/rc.conf.local") == 'a="4"\n'


def test_append_and_remove_items(sim):
    assert sim.run("sysrc", "cloned_interfaces+=bridge0") == (
        0, "cloned_interfaces:  -> bridge0\n", "")
    assert sim.run("sysrc", "cloned_interfaces+=tap0")[1] == \
        "cloned_interfaces: bridge0 -> bridge0 tap0\n"
    assert sim.run("sysrc", "cloned_interfaces+=tap0")[1] == \
        "cloned_interfaces: bridge0 tap0 -> bridge0 tap0\n"
    assert sim.run("sysrc", "cloned_interfaces-=bridge0")[1] == \
        "cloned_interfaces: bridge0 tap0 -> tap0\n"
    assert sim.run("sysrc", "test2_list-=x") == (0, "test2_list:  -> \n", "")
    assert 'test2_list=""' in sim.file("/etc/rc.conf")
    sim.run("sysrc", "sep=a,b")
    assert sim.run("sysrc", "sep+=,c")[1] == "sep: a,b -> a,b,c\n"


def test_delete_all_assignments(sim):
    sim.file("/etc/rc.conf", 'a="1"\nb="2"\na="3"\n')
    assert sim.run("sysrc", "-x", "a") == (0, "", "")
    assert sim.file("/etc/rc.conf") == 'b="2"\n'


def test_check_mode(sim):
    assert sim.run("sysrc", "-c", "hostname") == (0, "", "")
    assert sim.run("sysrc", "-c", "hostname=lab") == (0, "", "")
    assert sim.run("sysrc", "-c", "hostname=other") == (1, "", "")
    assert sim.run("sysrc", "-cv", "hostname=other") == (
        1, "/etc/rc.conf: hostname: would change from `lab' to `other'\n", "")
    assert sim.run("sysrc", "-cv", "hostname=lab") == (0, "hostname: already set to `lab'\n", "")
    assert sim.file("/etc/rc.conf") == 'hostname="lab"\n'


def test_f_file_replaces_rc_conf_files(sim):
    sim.file("/boot/loader.conf", 'zfs_load="YES"\n')
    assert sim.run("sysrc", "-f", "/boot/loader.conf", "vmm_load=YES") == (
        0, "vmm_load:  -> YES\n", "")
    assert sim.file("/boot/loader.conf") == 'zfs_load="YES"\nvmm_load="YES"\n'
    assert "vmm_load" not in sim.file("/etc/rc.conf")
    assert sim.run("sysrc", "-f", "/boot/loader.conf", "-n", "vmm_load") == (0, "YES\n", "")


def test_dotted_names_are_never_found_so_each_set_appends(sim):
    sim.run("sysrc", "-f", "/boot/loader.conf", "hw.vmm.amdvi.enable=1")
    sim.run("sysrc", "-f", "/boot/loader.conf", "hw.vmm.amdvi.enable=1")
    assert sim.file("/boot/loader.conf").count('hw.vmm.amdvi.enable="1"') == 2


def test_syntax_error_stops_writes(sim):
    sim.file("/etc/rc.conf", 'a="unterminated\n')
    rc, out, err = sim.run("sysrc", "b=1")
    assert rc == 1 and err.endswith("sysrc: Exiting due to previous syntax errors\n")
    assert "b=" not in sim.file("/etc/rc.conf")
