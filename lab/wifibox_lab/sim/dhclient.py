"""dhclient(8): FreeBSD's DHCP client, with busybox udhcpc doing the packets underneath.

From FreeBSD's sbin/dhclient (dhclient.c, clparse.c, dhclient-script, dhclient.8):
- argv `dhclient [-bdqu] [-c conffile] [-l leasefile] [-p pidfile] interface`; anything else
  prints the usage and exits 1;
- the pid file /var/run/dhclient/dhclient.IF.pid is locked (pidfile(3)): a second dhclient on
  the interface says `dhclient already running, pid: N.` and exits 1; a missing directory only
  warns (`Cannot open or create pidfile`); the lease database is /var/db/dhclient.leases.IF;
- /etc/dhclient.conf (-c; none is no mistake) parsed as clparse.c does: statements `timeout`,
  `retry`, `initial-interval`, `backoff-cutoff` (defaults 60, 300, 3 and 15 seconds), `reboot`,
  `select-timeout`; `interface "IF" { ... }` starts from what was read before it and overrides it
  for IF only; send/request/supersede/script/lease/... are accepted (their contents unused);
  a mistake is a parse_warn() warning (`FILE line N: MSG`, the line, a caret) and dhclient
  carries on, an unknown statement swallowing the next one as skip_to_semi() does there;
- messages (syslog, and stderr until it daemonises, never with -q):
  `DHCPDISCOVER on IF to 255.255.255.255 port 67 interval N` with N backing off from
  initial-interval as send_discover() does (random growth, capped near backoff-cutoff, never past
  the timeout), `DHCPOFFER from S`, `DHCPREQUEST on IF to 255.255.255.255 port 67`,
  `DHCPACK from S`, `bound to A -- renewal in N seconds.`; after `timeout` seconds without an
  offer `No DHCPOFFERS received.` then `No working leases in persistent database - sleeping.`,
  and it tries again every `retry` seconds in the background;
- it goes to the background (the caller gets exit 0) once bound or after giving up, at once
  with -b, never with -d;
- dhclient-script's BOUND/RENEW: `ifconfig IF inet A netmask M broadcast B`, the default route
  through the first router when there is none or it is on this interface, /etc/resolv.conf
  (search + nameserver lines) from the same interface;
- the interface is brought up first (PREINIT); when it goes down or away the daemon exits
  (route socket: the interface departed) and removes its pid file.

The lab's wired link (the laptop's SSH) is the lab's: dhclient refuses to touch it.
Not simulated: INIT-REBOOT with a recorded lease (the old address is asked for in the
DISCOVER, as make_discover() does), trying recorded leases on timeout, renewal by unicast
(a renewal is a new exchange asking for the same address), options beyond the ones above.
"""
import getopt
import ipaddress
import json
import os
import random
import re
import subprocess
import sys
import time

from .common import PidfileLocked, pidfile_open

USAGE = "usage: dhclient [-bdqu] [-c conffile] [-l leasefile] [-p pidfile] interface\n"
PIDFILE = "/var/run/dhclient/dhclient.%s.pid"
LEASES = "/var/db/dhclient.leases.%s"
CONF = "/etc/dhclient.conf"
DEFAULTS = {"timeout": 60, "retry": 300, "initial-interval": 3, "backoff-cutoff": 15,
            "reboot": 10, "select-timeout": 0}
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dhclient-udhcpc.sh")
PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
IP = "/usr/sbin/ip"  # Linux's, underneath (as the lab's ifconfig uses it)


class Client:
    def __init__(self, ctx, ifname, conf, quiet):
        self.ctx = ctx
        self.ifname = ifname
        self.conf = conf
        self.to_stderr = not quiet
        self.active = None
        self.daemonised = False

    # ---- logging: syslog (the laptop's /var/log/messages) and stderr before daemonising ----
    def note(self, msg):
        if self.to_stderr:
            try:
                self.ctx.err.write(msg + "\n")
                self.ctx.err.flush()
            except (OSError, ValueError):
                pass
        try:
            with open(self.ctx.path("/var/log/messages"), "a") as f:
                f.write("%s %s dhclient[%d]: %s\n" % (time.strftime("%b %e %H:%M:%S"),
                                                      os.uname().nodename, os.getpid(), msg))
        except OSError:
            pass

    # ---- the interface -------------------------------------------------------------------------
    def sys(self, what):
        try:
            with open("/sys/class/net/%s/%s" % (self.ifname, what)) as f:
                return f.read().strip()
        except OSError:
            return None

    def exists(self):
        return os.path.isdir("/sys/class/net/" + self.ifname)

    def is_up(self):
        flags = self.sys("flags")
        return flags is not None and int(flags, 16) & 1

    def has_media(self):
        # bridges, taps without a peer, loopback: no SIOCGIFMEDIA, so dhclient assumes link
        return self.sys("type") == "1" and not os.path.isdir("/sys/class/net/%s/bridge" % self.ifname)

    def link(self):
        return not self.has_media() or self.sys("carrier") == "1"

    # ---- one exchange through udhcpc ------------------------------------------------------------
    def exchange(self, wait, requested=None, renewing=False):
        """One DISCOVER (or renewal) with `wait` seconds for the answer. -> lease dict or None."""
        argv = ["busybox", "udhcpc", "-f", "-q", "-n", "-i", self.ifname, "-s", SCRIPT,
                "-t", "1", "-T", str(max(1, wait)), "-A", "1"]
        if requested:
            argv += ["-r", requested]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True)
        lease = {}
        for line in proc.stdout:
            line = line.rstrip("\n")
            offer = re.search(r"select for ([0-9.]+), server ([0-9.]+)", line)
            acked = re.search(r"lease of (\S+) obtained from ([0-9.]+)", line)
            if offer and not renewing:
                self.note("DHCPOFFER from %s" % offer.group(2))
                self.note("DHCPREQUEST on %s to 255.255.255.255 port 67" % self.ifname)
            elif offer:
                self.note("DHCPREQUEST on %s to %s port 67" % (self.ifname, offer.group(2)))
            elif acked:
                self.note("DHCPACK from %s" % acked.group(2))
            elif line.startswith("LAB-DHCLIENT "):
                key, _, value = line[len("LAB-DHCLIENT "):].partition("=")
                lease[key] = value
            elif line.startswith("LAB-DHCLIENT-"):
                lease["_event"] = line[len("LAB-DHCLIENT-"):]
        proc.wait()
        return lease if lease.get("_event") else None

    def acquire(self, requested=None):
        """state_init/send_discover until a lease or `timeout` seconds. -> lease or None."""
        first = time.monotonic()
        interval = self.conf["initial-interval"]
        cutoff = self.conf["backoff-cutoff"]
        while True:
            now = time.monotonic()
            if now - first > self.conf["timeout"]:
                return None
            interval += random.randrange(2 * interval) if interval else self.conf["initial-interval"]
            if interval > cutoff:
                interval = cutoff // 2 + random.randrange(max(cutoff, 1))
            left = first + self.conf["timeout"] - now
            if interval > left:
                interval = int(left) + 1
            self.note("DHCPDISCOVER on %s to 255.255.255.255 port 67 interval %d" % (self.ifname, interval))
            start = time.monotonic()
            lease = self.exchange(interval, requested)
            if lease:
                return lease
            rest = interval - (time.monotonic() - start)
            if rest > 0:
                time.sleep(rest)

    # ---- dhclient-script --------------------------------------------------------------------
    def bind(self, lease):
        """BOUND/RENEW as dhclient-script does it, the lease database, the bound message."""
        old = self.active
        iface = ipaddress.IPv4Interface("%s/%s" % (lease["ip"], lease.get("subnet") or "255.255.255.0"))
        bcast = lease.get("broadcast") or str(iface.network.broadcast_address)
        if old is None or old["ip"] != lease["ip"] or old.get("subnet") != lease.get("subnet"):
            _run(["ifconfig", self.ifname, "inet", lease["ip"], "netmask", str(iface.netmask),
                  "broadcast", bcast])
        routers = lease.get("router", "").split()
        if routers and self.is_default_interface():
            _run([IP, "-4", "route", "replace", "default", "via", routers[0], "dev", self.ifname])
        if self.is_default_interface():
            self.resolv_conf(lease)
        self.active = lease
        seconds = int(lease.get("lease") or 43200)
        renewal = max(seconds, 60) // 2
        lease["_renewal"] = renewal
        self.write_lease(lease, seconds, renewal)
        self.note("bound to %s -- renewal in %d seconds." % (lease["ip"], renewal))
        return renewal

    def is_default_interface(self):
        out = _run([IP, "-4", "-o", "route", "show", "default"]).stdout
        dev = re.search(r"\bdev (\S+)", out)
        return not out.strip() or (dev and dev.group(1) == self.ifname)

    def resolv_conf(self, lease):
        lines = []
        search = lease.get("search") or lease.get("domain")
        if search:
            lines.append("search " + search)
        lines += ["nameserver " + ns for ns in lease.get("dns", "").split()]
        if not lines:
            return
        tail = self.ctx.path("/etc/resolv.conf.tail")
        if os.path.exists(tail):
            with open(tail) as f:
                lines.append(f.read().rstrip("\n"))
        text = "\n".join(lines) + "\n"
        path = self.ctx.path("/etc/resolv.conf")
        try:
            with open(path) as f:
                if f.read() == text:
                    return
        except OSError:
            pass
        with open(path, "w") as f:
            f.write(text)

    def write_lease(self, lease, seconds, renewal):
        now = time.time()

        def when(delta):
            return time.strftime("%w %Y/%m/%d %H:%M:%S", time.gmtime(now + delta))
        opts = [("subnet-mask", lease.get("subnet")), ("routers", ",".join(lease.get("router", "").split())),
                ("domain-name-servers", ",".join(lease.get("dns", "").split())),
                ("domain-name", '"%s"' % lease["domain"] if lease.get("domain") else ""),
                ("dhcp-lease-time", str(seconds)), ("dhcp-message-type", "5"),
                ("dhcp-server-identifier", lease.get("serverid"))]
        text = "lease {\n  interface \"%s\";\n  fixed-address %s;\n" % (self.ifname, lease["ip"])
        text += "".join("  option %s %s;\n" % (k, v) for k, v in opts if v)
        text += "  renew %s;\n  rebind %s;\n  expire %s;\n}\n" % (
            when(renewal), when(renewal // 4 * 7), when(seconds))
        with open(self.conf["_db"], "a") as f:
            f.write(text)


def _run(argv):
    return subprocess.run(argv, capture_output=True, text=True, env={"PATH": PATH})


TIMINGS = {"timeout": "timeout", "retry": "retry", "select-timeout": "select-timeout",
           "reboot": "reboot", "backoff-cutoff": "backoff-cutoff", "initial-interval": "initial-interval"}
# client-declarations clparse.c's parse_client_statement() knows besides the timings; their
# arguments are not used here (send/request/supersede/... options, media, script, leases).
SKIPPED = ("send", "default", "supersede", "append", "prepend", "media", "request", "require",
           "reject", "hardware")


class ConfLexer:
    """conflex.c: `#` comments, "strings", runs of [A-Za-z0-9_-] (NUMBER when all digits,
    NUMBER_OR_NAME when all hex digits, NAME otherwise), any other character on its own."""

    def __init__(self, text):
        self.tokens = []
        for lineno, line in enumerate(text.split("\n"), 1):
            pos = 0
            while pos < len(line):
                c = line[pos]
                if c == "#":
                    break
                if c.isspace():
                    pos += 1
                    continue
                if c == '"':
                    end = line.find('"', pos + 1)
                    end = len(line) if end < 0 else end
                    self.tokens.append(("STRING", line[pos + 1:end], lineno, pos, line))
                    pos = end + 1
                    continue
                m = re.match(r"[A-Za-z0-9_-]+", line[pos:])
                if m:
                    word = m.group(0)
                    kind = ("NUMBER" if re.fullmatch(r"-?[0-9]+", word) else
                            "NUMBER_OR_NAME" if re.fullmatch(r"[0-9A-Fa-f]+", word) else "NAME")
                    self.tokens.append((kind, word, lineno, pos, line))
                    pos += len(word)
                    continue
                self.tokens.append((c, c, lineno, pos, line))
                pos += 1
        self.at = 0
        self.last = ("EOF", "", len(text.split("\n")), 0, "")

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else ("EOF", "", self.last[2], 0, "")

    def next(self):
        tok = self.peek()
        if tok[0] != "EOF":
            self.at += 1
            self.last = tok
        return tok


class ConfParser:
    """clparse.c's read_client_conf(): the top-level configuration starts from the defaults; an
    `interface "IF" { ... }` declaration copies the configuration parsed so far (the first time
    IF is declared) and its statements change only IF's copy. Mistakes are parse_warn()
    warnings (`FILE line N: ...`, the line and a caret), the statement is skipped and dhclient
    carries on (an unknown statement also takes the next one with it, as skip_to_semi() and the
    following `semicolon expected.` do in clparse.c)."""

    def __init__(self, path, text):
        self.path = path
        self.lex = ConfLexer(text)
        self.top = dict(DEFAULTS)
        self.interfaces = {}
        self.warnings = []

    def warn(self, msg):
        _, _, lineno, col, line = self.lex.last
        self.warnings.append("%s line %d: %s" % (self.path, lineno, msg))
        self.warnings.append(line)
        self.warnings.append(" " * col + "^")

    def skip_to_semi(self):
        depth = 0
        while True:
            kind = self.lex.peek()[0]
            if kind == "}":
                if not depth:
                    return
                self.lex.next()
                depth -= 1
                if not depth:
                    return
                continue
            if kind == "{":
                depth += 1
            elif kind == ";" and not depth:
                self.lex.next()
                return
            if self.lex.next()[0] == "EOF":
                return

    def parse(self):
        while self.lex.peek()[0] != "EOF":
            self.statement(None, self.top)
        return self

    def statement(self, ifname, config):
        kind, word = self.lex.next()[:2]
        word = word.lower() if kind == "NAME" else word
        if kind == "NAME" and word in TIMINGS:
            kind, value = self.lex.next()[:2]
            if kind != "NUMBER":
                self.warn("Expecting numeric lease time")
                self.skip_to_semi()
                return
            config[TIMINGS[word]] = int(value)
            if self.lex.next()[0] != ";":
                self.warn("semicolon expected.")
                self.skip_to_semi()
            return
        if kind == "NAME" and word == "interface":
            if ifname:
                self.warn("nested interface declaration.")
            self.interface(config)
            return
        if kind == "NAME" and word == "script":
            if self.lex.next()[0] != "STRING":
                self.warn("filename must be a string")
            self.skip_to_semi()
            return
        if kind == "NAME" and word == "hardware" and not ifname:
            self.warn("hardware address parameter not allowed here.")
            self.skip_to_semi()
            return
        if kind == "NAME" and word in ("lease", "alias"):
            if self.lex.peek()[0] != "{":
                self.lex.next()
                self.warn("expecting left brace.")
            self.skip_to_semi()
            return
        if kind == "NAME" and word in SKIPPED:
            self.skip_to_semi()
            return
        self.warn("expecting a statement.")
        self.skip_to_semi()
        if self.lex.next()[0] != ";":
            self.warn("semicolon expected.")
            self.skip_to_semi()

    def interface(self, outer):
        kind, name = self.lex.next()[:2]
        if kind != "STRING":
            self.warn("expecting interface name (in quotes).")
            self.skip_to_semi()
            return
        config = self.interfaces.setdefault(name, dict(outer))
        if self.lex.next()[0] != "{":
            self.warn("expecting left brace.")
            self.skip_to_semi()
            return
        while True:
            kind = self.lex.peek()[0]
            if kind == "EOF":
                self.warn("unterminated interface declaration.")
                return
            if kind == "}":
                self.lex.next()
                return
            self.statement(name, config)


def read_conf(ctx, path, ifname):
    """dhclient.conf(5) for `ifname`: (timings, parse warnings). A missing file is the defaults."""
    try:
        with open(ctx.path(path)) as f:
            text = f.read()
    except OSError:
        return dict(DEFAULTS), []
    parser = ConfParser(path, text).parse()
    return dict(parser.interfaces.get(ifname, parser.top)), parser.warnings


def open_pidfile(ctx, path):
    """pidfile_open(3). -> (fd or None, error message or None)."""
    try:
        return pidfile_open(ctx.path(path), 0o644), None
    except PidfileLocked as e:
        if e.pid is None:
            return None, "dhclient already running."
        return None, "dhclient already running, pid: %d." % e.pid
    except OSError as e:
        return None, "warn:Cannot open or create pidfile: %s" % e.strerror


def write_pid(fd):
    if fd is not None:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, 0)
        os.write(fd, b"%d\n" % os.getpid())


def lab_link(ctx):
    try:
        with open(os.path.join(ctx.laptop_dir, "lab.json")) as f:
            return json.load(f).get("mgmt_if")
    except (OSError, ValueError):
        return None


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "bc:dl:p:qu")
    except getopt.GetoptError as e:
        ctx.err.write("dhclient: %s\n%s" % (e.msg, USAGE))
        return 1
    o = dict(opts)
    if len(args) != 1:
        ctx.err.write(USAGE)
        return 1
    ifname = args[0]
    if len(ifname) >= 16:
        return _error(ctx, "Interface name too long", None, None)
    if ifname == lab_link(ctx):
        return ctx.errx(1, "%s is the lab's wired link (the laptop's SSH): DHCP on it is left to the lab"
                        % ifname)
    pidpath = o.get("-p", PIDFILE % ifname)
    fd, msg = open_pidfile(ctx, pidpath)
    if msg and not msg.startswith("warn:"):
        return _error(ctx, msg, None, None, quiet="-q" in o)
    conf, warnings = read_conf(ctx, o.get("-c", CONF), ifname)
    conf["_db"] = ctx.path(o.get("-l", LEASES % ifname))
    client = Client(ctx, ifname, conf, quiet="-q" in o)
    if msg:
        client.note(msg[5:])
    for line in warnings:
        client.note(line)
    pid_abs = ctx.path(pidpath) if fd is not None else None
    write_pid(fd)
    if not client.exists():
        return _error(ctx, "%s: not found" % ifname, pid_abs, fd, quiet="-q" in o)
    if not client.link():
        tries = 0
        sys.stderr.write("%s: no link ..." % ifname)
        sys.stderr.flush()
        time.sleep(1)
        while not client.link():
            sys.stderr.write(".")
            sys.stderr.flush()
            tries += 1
            if tries > 10:
                sys.stderr.write(" giving up\n")
                _unlink(pid_abs)
                return 1
            time.sleep(1)
        sys.stderr.write(" got link\n")
    try:
        open(conf["_db"], "a").close()
    except OSError as e:
        return _error(ctx, "can't open and lock %s: %s" % (o.get("-l", LEASES % ifname), e.strerror),
                      pid_abs, fd)
    _run(["ifconfig", ifname, "up"])  # dhclient-script PREINIT
    requested = last_address(conf["_db"], ifname)
    daemonise = "-d" not in o
    if "-b" in o and daemonise and background(client, fd):
        return 0
    return run(client, fd, pid_abs, requested, daemonise)


def run(client, fd, pid_abs, requested, daemonise):
    while True:
        lease = client.acquire(requested)
        if lease:
            renewal = client.bind(lease)
            break
        client.note("No DHCPOFFERS received.")
        client.note("No working leases in persistent database - sleeping.")
        if daemonise and background(client, fd):
            return 0
        if not watch(client, client.conf["retry"], pid_abs):
            return 1
    if daemonise and background(client, fd):
        return 0
    while True:
        if not watch(client, renewal, pid_abs):
            return 1
        lease = client.exchange(client.conf["initial-interval"] * 3, client.active["ip"], renewing=True)
        if lease:
            renewal = client.bind(lease)
        else:
            renewal = max(renewal // 2, 30)


def background(client, fd):
    """go_daemon() once: True in the parent, which returns 0 to the caller."""
    if client.daemonised:
        return False
    client.to_stderr = False
    if go_daemon(client.ctx, fd):
        return True
    client.daemonised = True
    return False


def go_daemon(ctx, fd):
    """daemon(3): True in the parent (which exits 0), False in the child, which carries on."""
    try:
        ctx.out.flush()
        ctx.err.flush()
    except (OSError, ValueError):
        pass
    if os.fork():
        return True
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open("/dev/null", os.O_RDWR)
    for n in (0, 1, 2):
        os.dup2(devnull, n)
    write_pid(fd)
    return False


def watch(client, seconds, pid_abs):
    """Sleep `seconds`, leaving (False) when the interface goes down or away, as the route
    socket tells dhclient."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not client.exists():
            client.note("Interface %s is gone, dhclient exiting" % client.ifname)
            _unlink(pid_abs)
            return False
        if not client.is_up():
            client.note("Interface %s is down, dhclient exiting" % client.ifname)
            _unlink(pid_abs)
            return False
        time.sleep(1)
    return True


def last_address(db, ifname):
    try:
        with open(db) as f:
            text = f.read()
    except OSError:
        return None
    found = re.findall(r'interface "%s";\s*fixed-address ([0-9.]+);' % re.escape(ifname), text)
    return found[-1] if found else None


def _unlink(path):
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


def _error(ctx, msg, pid_abs, fd, quiet=False):
    """errwarn.c error(): the message and `exiting.`, exit 1."""
    if not quiet:
        ctx.err.write(msg + "\nexiting.\n")
    _unlink(pid_abs)
    return 1

