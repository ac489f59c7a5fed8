"""The loader reading loader.conf (FREEBSD.md section 2) and devmatch's blocklist (section 3)."""
from wifibox_lab.freebsd import boot


def test_last_assignment_wins_across_files(sim):
    sim.file("/boot/loader.conf", 'pptdevs="1/0/0"\npptdevs="3/0/0"\n')
    sim.power_on()
    assert sim.run("kenv", "pptdevs")[1] == "3/0/0\n"
    sim.file("/boot/loader.conf.d/wifibox.conf", 'pptdevs="2/0/0"\n')
    sim.power_on()
    assert sim.run("kenv", "pptdevs")[1] == "2/0/0\n"


def test_loader_conf_local_is_read_last_since_14_1(make_sim):
    for profile, want in (("thinkpad-t480", "3/0/0"), ("thinkpad-x220", "1/0/0")):
        lp = make_sim(profile)  # 14.1 vs 13.2
        lp.file("/boot/loader.conf.d/a.conf", 'pptdevs="1/0/0"\n')
        lp.file("/boot/loader.conf.local", 'pptdevs="3/0/0"\n')
        lp.power_on()
        assert lp.run("kenv", "pptdevs")[1] == want + "\n", profile


def test_boot_keeps_long_values_whole_and_drops_too_long_strings(sim):
    """kern_environment.c: the kernel keeps `name=value` up to 257 bytes whole (the value
    may pass 128 bytes) and ignores a longer one entirely; there is no 128-byte cut."""
    value = " ".join("%d/0/0" % b for b in range(10, 31))
    assert 128 < len(value + " 3/0/0") <= 257 - len("pptdevs=")
    sim.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="%s 3/0/0"\n' % value)
    sim.power_on()
    assert sim.run("kenv", "pptdevs")[1] == value + " 3/0/0\n"
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("ppt0@")
    filler = 251 - len(value + "  9/1/0 3/0/0")
    too_long = value + " " + "0" * filler + "9/1/0 3/0/0"
    longest = too_long.replace(" 0", " ", 1)
    assert len("pptdevs=" + longest) == 257
    sim.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="%s"\n' % longest)
    sim.power_on()
    assert sim.run("kenv", "pptdevs")[1] == longest + "\n"
    assert len("pptdevs=" + too_long) == 258
    sim.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="%s"\n' % too_long)
    messages = sim.power_on()
    assert sim.run("kenv", "-q", "pptdevs") == (255, "", "")
    assert "WARNING: too long kenv string, ignoring pptdevs=%s" % too_long in messages
    assert not sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("ppt")
    sim.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="%s"\n' % too_long[:-6])
    sim.power_on()
    assert sim.run("kenv", "pptdevs")[1] == too_long[:-6] + "\n"


def test_syntax_forms_and_malformed_lines(sim):
    sim.file("/boot/loader.conf", 'a = "x"  # comment\nb=word\n# c="no"\nbad line\nd="q"q"\n'
             'vmm_load=YES\n')
    messages = sim.power_on()
    env = sim.state()["kenv"]
    assert env["a"] == "x" and env["b"] == "word" and "c" not in env and "d" not in env
    assert "Malformed line (4):\n\t'bad line'" in messages
    # the quoted value runs to the last quote: `q"q`, whose inner quote rejects the variable
    assert "Failed to parse variable 'd': Stray quote at position '2'" in messages
    assert sim.run("kldstat", "-q", "-n", "vmm")[0] == 0  # unquoted YES, any case


def test_quoted_value_runs_to_the_last_quote_of_the_line(sim):
    """config.lua: `"(.*)"` is greedy; a `"` in the comment changes what the line says."""
    sim.file("/boot/loader.conf", 'vmm_load="YES" # the "vmm" module\n')
    messages = sim.power_on()
    assert "Malformed line (1):\n\t'vmm_load=\"YES\" # the \"vmm\" module'" in messages
    assert sim.run("kldstat", "-q", "-n", "vmm")[0] == 1
    sim.file("/boot/loader.conf", 'vmm_load="YES" # "vmm"\n')
    assert sim.power_on() == []  # read as load=`YES" # "VMM`: no message, no vmm
    assert sim.run("kldstat", "-q", "-n", "vmm")[0] == 1
    sim.file("/boot/loader.conf", 'vmm_load=YES # the "vmm" module\n')
    assert sim.power_on() == []  # an unquoted word ends before the comment
    assert sim.run("kldstat", "-q", "-n", "vmm")[0] == 0


def test_tunable_with_a_stray_quote_is_rejected_and_keeps_the_earlier_value(sim):
    sim.file("/boot/loader.conf", 'pptdevs="1/0/0"\npptdevs="3/0/0" # the "card"\n')
    messages = sim.power_on()
    assert messages == ["Failed to parse variable 'pptdevs': Stray quote at position '6'"]
    assert sim.run("kenv", "pptdevs")[1] == "1/0/0\n"


def test_escapes_and_dollar_expansion_in_values(sim):
    sim.file("/boot/loader.conf", 'a="x\\"y"\nb="${a}/$smbios.system.maker $a-"\nc="\\$a"\n'
             'd="$"\ne="\\"\nf="${}"\n')
    messages = sim.power_on()
    env = sim.state()["kenv"]
    assert env["a"] == 'x"y'
    assert env["b"] == 'x"y/LENOVO '  # `$a-` names the variable `a-` (- is a name character)
    assert env["c"] == "$a"
    assert "d" not in env and "e" not in env and "f" not in env
    assert "Failed to parse variable 'd': Unescaped $ at end of line" in messages
    assert "Failed to parse variable 'e': Stray escape at end of line" in messages
    assert "Failed to parse variable 'f': Malformed variable expression at position '1'" in messages


def test_module_settings_are_not_escape_processed(sim):
    sim.file("/boot/loader.conf", 'vmm_load="Y\\ES"\n')
    sim.power_on()
    assert sim.run("kldstat", "-q", "-n", "vmm")[0] == 1


def test_kernel_reads_pptdevs_with_single_spaces_and_sscanf(sim):
    """vmm_is_pptdev(): cut at each single space, sscanf("%d/%d/%d") on each piece."""
    for value, claimed in (("1/0/0  03/00/0", True),      # double space, leading zeros
                           ("+3/0/0x", True),              # sign, trailing garbage
                           ("1/0/0\t3/0/0", False),       # a tab does not separate
                           ("1/0/0,3/0/0", False),         # neither does a comma
                           ("3:0:0", False), ("0x3/0/0", False)):
        sim.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="%s"\n' % value)
        sim.power_on()
        got = sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("ppt0@")
        assert got is claimed, value


def test_module_blacklist_suppresses_load(sim):
    sim.file("/boot/loader.conf", 'vmm_load="yes"\nmodule_blacklist="vmm"\n')
    sim.power_on()
    assert sim.run("kldstat", "-q", "-n", "vmm")[0] == 1


def test_devmatch_blocklist_is_exact_module_file_names(sim):
    st = sim.state()
    assert boot.devmatch_candidates(st, []) == ["ig4", "if_iwm"]
    assert boot.devmatch_candidates(st, ["if_iwm"]) == ["ig4"]
    assert boot.devmatch_candidates(st, ["if_iwm.ko"]) == ["ig4"]
    assert "if_iwm" in boot.devmatch_candidates(st, ["iwm"])  # `iwm` does not block if_iwm
