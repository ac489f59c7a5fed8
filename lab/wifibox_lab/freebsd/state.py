"""The laptop's state file (JSON next to its file tree) with an exclusive lock.

Every simulated command reads and writes the model through `locked(laptop_dir)`, so
concurrent commands inside one laptop (Ansible forks, daemons) never lose an update.
"""
import contextlib
import fcntl
import json
import os

STATE = "state.json"
LOCK = "state.lock"


def path(laptop_dir):
    return os.path.join(laptop_dir, STATE)


def read(laptop_dir):
    with open(path(laptop_dir)) as f:
        return json.load(f)


def write(laptop_dir, state):
    tmp = path(laptop_dir) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, path(laptop_dir))


@contextlib.contextmanager
def locked(laptop_dir):
    """Yield the state dict; it is written back when the block ends without error."""
    fd = os.open(os.path.join(laptop_dir, LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        state = read(laptop_dir)
        yield state
        write(laptop_dir, state)
    finally:
        os.close(fd)


def fault(state, kind):
    """Is lab fault `kind` armed? Faults are set by `wifibox-lab fault`."""
    return kind in state.get("faults", {})
