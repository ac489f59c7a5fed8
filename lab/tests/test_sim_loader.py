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


def test_value_over_128_bytes_is_truncated(sim):
    value = " ".join("%d/0/0" % b for b in range(10, 50))
    assert len(value) > 128
    sim.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="%s 3/0/0"\n' % value)
    sim.power_on()
    got = sim.run("kenv", "pptdevs")[1].rstrip("\n")
    assert got == (value + " 3/0/0")[:128]
    # the card's entry fell off the end: ppt does not claim it
    assert not sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("ppt")
    sim.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="%s"\npptdevs2="3/0/0"\n' % value)
    sim.power_on()
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("ppt0@")


def test_syntax_forms_and_malformed_lines(sim):
    sim.file("/boot/loader.conf", 'a = "x"  # comment\nb=word\n# c="no"\nbad line\nd="q"q"\n'
             'vmm_load=YES\n')
    messages = sim.power_on()
    env = sim.state()["kenv"]
    assert env["a"] == "x" and env["b"] == "word" and "c" not in env and "d" not in env
    assert "Malformed line (4):\n\t'bad line'" in messages
    assert "Malformed line (5):\n\t'd=\"q\"q\"'" in messages
    assert sim.run("kldstat", "-q", "-n", "vmm")[0] == 0  # unquoted YES, any case


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
