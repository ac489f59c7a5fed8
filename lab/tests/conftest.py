import pytest

from wifibox_lab.simlaptop import SimLaptop


@pytest.fixture
def sim(tmp_path):
    """A T480 booted with the stock loader.conf (no namespaces)."""
    return SimLaptop(tmp_path)


@pytest.fixture
def make_sim(tmp_path):
    n = [0]

    def make(profile):
        n[0] += 1
        return SimLaptop(tmp_path / str(n[0]), profile)
    return make
