"""A lab: a root folder holding its laptops, the lab SSH key, known_hosts and the inventory.

Addresses come from 198.18.0.0/15 (RFC 2544 benchmarking range, never routed): slot N
gets the /30 198.18.0.0 + 4N, the host end of its veth is .1, the laptop .2. Slots are
machine-wide (several labs may run at once) and claimed with O_EXCL files.
"""
import fcntl
import ipaddress
import json
import os
import subprocess

DEFAULT_ROOT = "/srv/wifibox-lab"
SLOTS = "/srv/wifibox-lab-slots"
NET = ipaddress.ip_network("198.18.0.0/15")
MAX_SLOTS = NET.num_addresses // 4 - 1
# Paths the laptops mount over: a lab root below them would vanish inside its own laptops.
HIDDEN = ("/etc", "/var", "/usr", "/boot", "/root", "/run", "/tmp", "/dev")


class LabError(RuntimeError):
    pass


class Lab:
    def __init__(self, root=None):
        self.root = os.path.abspath(root or os.environ.get("WIFIBOX_LAB_ROOT") or DEFAULT_ROOT)
        real = os.path.realpath(self.root)
        if any(real == h or real.startswith(h + "/") for h in HIDDEN):
            raise LabError("lab root %s is under a path laptops mount over (%s)"
                           % (self.root, ", ".join(HIDDEN)))
        os.makedirs(self.laptops_dir, exist_ok=True)
        self._ensure_key()

    # ---- files of the lab -----------------------------------------------------------------
    @property
    def laptops_dir(self):
        return os.path.join(self.root, "laptops")

    @property
    def key(self):
        return os.path.join(self.root, "lab_key")

    @property
    def known_hosts(self):
        return os.path.join(self.root, "known_hosts")

    @property
    def inventory_path(self):
        return os.path.join(self.root, "inventory.yml")

    @property
    def ssh_config(self):
        return os.path.join(self.root, "ssh_config")

    def laptop_dir(self, name):
        return os.path.join(self.laptops_dir, name)

    def names(self):
        return sorted(n for n in os.listdir(self.laptops_dir)
                      if os.path.exists(os.path.join(self.laptops_dir, n, "lab.json")))

    def info(self, name):
        with open(os.path.join(self.laptop_dir(name), "lab.json")) as f:
            return json.load(f)

    def _ensure_key(self):
        with self.lock():
            if not os.path.exists(self.key):
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                "wifibox-lab", "-f", self.key], check=True)

    def lock(self):
        return _FileLock(os.path.join(self.root, ".lock"))

    # ---- addresses -------------------------------------------------------------------------
    def claim_slot(self, owner):
        os.makedirs(SLOTS, exist_ok=True)
        for n in range(1, MAX_SLOTS):
            try:
                fd = os.open(os.path.join(SLOTS, str(n)), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                continue
            os.write(fd, owner.encode())
            os.close(fd)
            return n
        raise LabError("no free lab address slot")

    @staticmethod
    def release_slot(n):
        try:
            os.unlink(os.path.join(SLOTS, str(n)))
        except FileNotFoundError:
            pass

    @staticmethod
    def addresses(slot):
        base = NET.network_address + 4 * slot
        return str(base + 1), str(base + 2)

    # ---- what Ansible and ssh read ---------------------------------------------------------
    def refresh_access_files(self):
        """Rewrite known_hosts, ssh_config and inventory.yml from the laptops present."""
        with self.lock():
            infos = [self.info(n) for n in self.names()]
            with open(self.known_hosts + ".tmp", "w") as f:
                for i in infos:
                    f.write("%s %s\n" % (i["address"], i["host_key"]))
            os.replace(self.known_hosts + ".tmp", self.known_hosts)
            with open(self.ssh_config + ".tmp", "w") as f:
                for i in infos:
                    f.write("Host %s\n  HostName %s\n  User root\n  IdentityFile %s\n"
                            "  IdentitiesOnly yes\n  UserKnownHostsFile %s\n"
                            "  StrictHostKeyChecking yes\n  BatchMode yes\n"
                            % (i["name"], i["address"], self.key, self.known_hosts))
            os.replace(self.ssh_config + ".tmp", self.ssh_config)
            with open(self.inventory_path + ".tmp", "w") as f:
                f.write(inventory_yaml(infos, self.key, self.known_hosts))
            os.replace(self.inventory_path + ".tmp", self.inventory_path)


def inventory_yaml(infos, key, known_hosts):
    """Ansible YAML inventory: group `lab` plus one group per profile; SSH settings only."""
    lines = ["# Written by wifibox-lab; laptops are reached over real SSH.", "all:",
             "  vars:", "    ansible_user: root",
             "    ansible_ssh_private_key_file: %s" % key,
             "    ansible_ssh_common_args: '-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
             " -o IdentitiesOnly=yes'" % known_hosts,
             "  children:", "    lab:", "      hosts:" + ("" if infos else " {}")]
    for i in infos:
        lines += ["        %s:" % i["name"], "          ansible_host: %s" % i["address"],
                  "          lab_profile: %s" % i["profile"],
                  "          lab_laptop_dir: %s" % i["dir"]]
    groups = {}
    for i in infos:
        groups.setdefault(i["profile"].replace("-", "_"), []).append(i["name"])
    for g, hosts in sorted(groups.items()):
        lines += ["    %s:" % g, "      hosts:"] + ["        %s:" % h for h in hosts]
    return "\n".join(lines) + "\n"


class _FileLock:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)
