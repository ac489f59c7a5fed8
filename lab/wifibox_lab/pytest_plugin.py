"""pytest fixtures for lab laptops (auto-loaded through the `pytest11` entry point).

    def test_x(lab_laptop):                      # a booted ThinkPad T480, removed afterwards
        assert lab_laptop.ssh("kldstat", "-q", "-m", "if_tap").returncode == 0

    @pytest.mark.lab_profile("thinkpad-x220")    # another hardware profile
    def test_y(lab_laptop): ...

    def test_z(lab_laptops):                     # factory: any number of laptops
        a = lab_laptops("thinkpad-t480"); b = lab_laptops("thinkpad-e14-amd")

Each laptop object: .name .address .dir .ssh(*cmd) .nsenter(argv) .state()
.inventory_path (an Ansible inventory holding just this laptop) and the lab actions in
wifibox_lab.api (reboot, suspend, resume, fault). Needs root (mark tests `lab`).
"""
import itertools
import os
import uuid

import pytest

from . import api
from .lab import DEFAULT_ROOT


def pytest_configure(config):
    config.addinivalue_line("markers", "lab_profile(name): hardware profile for lab_laptop")


@pytest.fixture(scope="session")
def lab_root():
    """A lab root of its own for this pytest session; every laptop in it is removed at the end."""
    api.gc()  # what earlier, killed runs left behind
    root = os.path.join(DEFAULT_ROOT, "pytest-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6]))
    api.lab(root)
    yield root
    api.down_all(root)
    import shutil
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def lab_laptops(lab_root, request):
    """Factory: lab_laptops(profile="thinkpad-t480", name=None, boot=True) -> booted Laptop.

    Every laptop it made is destroyed when the test ends (also on failure).
    """
    made = []
    counter = itertools.count(1)
    base = "%s%d" % (request.node.name.replace("[", "-").replace("]", "")[:20].strip("-_"),
                     os.getpid() % 1000)

    def make(profile="thinkpad-t480", name=None, boot=True):
        name = name or "%s-%d" % ("".join(c if c.isalnum() else "-" for c in base),
                                  next(counter))
        lp = api.up(name, profile=profile, root=lab_root, boot=boot)
        made.append(lp)
        return lp
    yield make
    for lp in made:
        lp.destroy()


@pytest.fixture
def lab_laptop(lab_laptops, request):
    """One booted laptop (ThinkPad T480 unless @pytest.mark.lab_profile("...") says otherwise)."""
    marker = request.node.get_closest_marker("lab_profile")
    return lab_laptops(marker.args[0] if marker else "thinkpad-t480")
