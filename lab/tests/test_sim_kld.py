"""kldload/kldunload/kldstat against FREEBSD.md section 4."""
import re


def test_load_silent_and_verbose(sim):
    assert sim.run("kldload", "vmm") == (0, "", "")
    assert sim.run("kldload", "-v", "nmdm")[1] == "Loaded nmdm, id=%d\n" % _id(sim, "nmdm.ko")


def _id(sim, f):
    return next(k["id"] for k in sim.state()["klds"] if k["file"] == f)


def test_already_loaded_and_n_flag(sim):
    sim.run("kldload", "vmm")
    assert sim.run("kldload", "vmm") == (
        1, "", "kldload: can't load vmm: module already loaded or in kernel\n")
    assert sim.run("kldload", "-n", "vmm") == (0, "", "")
    assert sim.run("kldload", "-nv", "vmm") == (0, "vmm is already loaded\n", "")
    # compiled into GENERIC on 13+
    assert sim.run("kldload", "if_tap")[2] == \
        "kldload: can't load if_tap: module already loaded or in kernel\n"


def test_missing_module_and_multiple_files(sim):
    assert sim.run("kldload", "foo") == (
        1, "", "kldload: can't load foo: No such file or directory\n")
    rc, _, err = sim.run("kldload", "foo", "nmdm")
    assert rc == 1 and sim.run("kldstat", "-q", "-n", "nmdm")[0] == 0
    assert sim.run("kldload", "-q", "foo") == (1, "", "")


def test_enoexec_fault_message(sim):
    with __import__("wifibox_lab.freebsd.state", fromlist=["x"]).locked(sim.dir) as st:
        st["faults"]["kldload-enoexec:vmm"] = {}
    assert sim.run("kldload", "vmm") == (1, "", "kldload: an error occurred while loading module "
                                         "vmm. Please check dmesg(8) for more details.\n")


def test_bridge_pulls_in_bridgestp(sim):
    sim.run("kldload", "if_bridge")
    out = sim.run("kldstat")[1]
    assert " if_bridge.ko\n" in out and " bridgestp.ko\n" in out


def test_kldstat_format(sim):
    sim.run("kldload", "vmm")
    rc, out, _ = sim.run("kldstat")
    lines = out.splitlines()
    assert lines[0] == "Id Refs Address                Size Name"
    assert re.fullmatch(r" 1 +\d+ 0xffffffff80200000  1f3e2b0 kernel", lines[1])
    row = [l for l in lines if l.endswith("vmm.ko")][0]
    assert re.fullmatch(r"[ \d]\d    1 0x[0-9a-f]{16}   3bb2a8 vmm\.ko", row)


def test_kldstat_n_m_q(sim):
    assert sim.run("kldstat", "-n", "vmm") == (
        1, "", "kldstat: can't find file vmm: No such file or directory\n")
    assert sim.run("kldstat", "-m", "vmm") == (
        1, "", "kldstat: can't find module vmm: No such file or directory\n")
    sim.run("kldload", "vmm")
    for arg in ("vmm", "vmm.ko"):
        out = sim.run("kldstat", "-n", arg)[1].splitlines()
        assert out[0].startswith("Id Refs") and out[1].endswith(" vmm.ko")
    out = sim.run("kldstat", "-m", "vmm")[1].splitlines()
    assert out[0] == "Id  Refs Name" and re.fullmatch(r"\d{3}    1 vmm", out[1])
    assert sim.run("kldstat", "-q", "-m", "vmm") == (0, "", "")
    assert sim.run("kldstat", "-q", "-m", "if_tap") == (0, "", "")   # in the kernel
    assert sim.run("kldstat", "-q", "-n", "if_tap") == (1, "", "")   # but no file


def test_kldstat_verbose(sim):
    sim.run("kldload", "vmm")
    out = sim.run("kldstat", "-v", "-n", "vmm")[1]
    assert out.splitlines()[1].endswith("vmm.ko (/boot/kernel/vmm.ko)")
    assert "\tContains modules:\n" in out and out.rstrip().endswith(" vmm")


def test_unload(sim):
    assert sim.run("kldunload", "vmm") == (1, "", "kldunload: can't find file vmm\n")
    sim.run("kldload", "vmm")
    i = _id(sim, "vmm.ko")
    assert sim.run("kldunload", "-v", "vmm") == (0, "Unloading vmm.ko, id=%d\n" % i, "")
    assert sim.run("kldstat", "-q", "-n", "vmm")[0] == 1


def test_unload_busy_while_a_vm_exists(sim):
    sim.run("kldload", "vmm")
    assert sim.run("bhyvectl", "--vm=x", "--create") == (0, "", "")
    assert sim.run("kldunload", "vmm") == (1, "", "kldunload: can't unload file: Device busy\n")
    sim.run("bhyvectl", "--vm=x", "--destroy")
    assert sim.run("kldunload", "vmm")[0] == 0


def test_unload_detaches_the_driver(sim):
    sim.run("kldload", "if_iwm")
    assert sim.run("pciconf", "-l", "iwm0")[0] == 0
    sim.run("kldunload", "if_iwm")
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("none")


def test_by_id(sim):
    sim.run("kldload", "nmdm")
    i = _id(sim, "nmdm.ko")
    assert sim.run("kldstat", "-i", str(i))[1].splitlines()[1].endswith(" nmdm.ko")
    assert sim.run("kldstat", "-i", "999") == (
        1, "", "kldstat: can't stat file id 999: No such file or directory\n")
    assert sim.run("kldunload", "-i", str(i)) == (0, "", "")
    assert sim.run("kldstat", "-q", "-n", "nmdm")[0] == 1


def test_human_sizes(sim):
    sim.run("kldload", "vmm")
    row = [l for l in sim.run("kldstat", "-h")[1].splitlines() if l.endswith("vmm.ko")][0]
    assert "     3.7M vmm.ko" in row
