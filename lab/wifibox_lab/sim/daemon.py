"""daemon(8): run a command detached, supervised, with pid files and output redirection.

FREEBSD.md section 9: the caller returns 0 at once; -P/-p pid files are locked (a locked
one means "process already running", exit 3); -r/-R restart the child after any exit
until the supervisor gets SIGTERM, which it forwards to the child.
"""
import getopt
import os
import signal
import subprocess
import time

from .common import PidfileLocked, pidfile_open

USAGE = ("usage: daemon [-cfHrS] [-p child_pidfile] [-P supervisor_pidfile]\n"
         "              [-u user] [-o output_file] [-t title]\n"
         "              [-l syslog_facility] [-s syslog_priority]\n"
         "              [-T syslog_tag] [-m output_mask] [-R restart_delay_secs]\n"
         "command arguments ...\n")
PRIORITIES = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
FACILITIES = {"auth", "authpriv", "console", "cron", "daemon", "ftp", "kern", "lpr", "mail",
              "news", "ntp", "security", "syslog", "user", "uucp"} | \
    {"local%d" % i for i in range(8)}


def _open_pidfile(ctx, path):
    """Open and lock a pid file like pidfile_open(3). -> (fd, None) or (None, exit code)."""
    try:
        return pidfile_open(path, 0o600), None
    except PidfileLocked as e:
        ctx.warnx("process already running, pid: %d" % (-1 if e.pid is None else e.pid))
        return None, 3
    except OSError as e:
        ctx.warnx("pidfile ``%s'': %s" % (path, e.strerror))
        return None, 2


def _write_pid(fd, pid):
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, 0)
    os.write(fd, b"%d\n" % pid)


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "cfHrSp:P:u:o:t:l:s:T:m:R:")
    except getopt.GetoptError:
        ctx.err.write(USAGE)
        return 1
    o = {}
    for k, v in opts:
        o[k] = v
    if not args:
        ctx.err.write(USAGE)
        return 1
    if "-s" in o and o["-s"] not in PRIORITIES:
        return ctx.errx(4, "unrecognized syslog priority")
    if "-l" in o and o["-l"] not in FACILITIES:
        return ctx.errx(5, "unrecognized syslog facility")
    if "-m" in o and o["-m"] not in ("1", "2", "3"):
        return ctx.errx(6, "unrecognized listening mask")
    delay = None
    if "-R" in o:
        if not o["-R"].isdigit() or not 1 <= int(o["-R"]) <= 31536000:
            return ctx.errx(6, "invalid restart delay")
        delay = int(o["-R"])
    elif "-r" in o:
        delay = 1
    out_fd = None
    if "-o" in o:
        try:
            out_fd = os.open(o["-o"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as e:
            return ctx.errx(7, "open %s: %s" % (o["-o"], e.strerror))
    fds = {}
    for flag in ("-P", "-p"):
        if flag in o:
            fd, code = _open_pidfile(ctx, o[flag])
            if fd is None:
                return code
            fds[flag] = fd
    ctx.out.flush()
    from ..freebsd import state
    # 14.0 rewrote daemon(8) around kqueue: SIGTERM is ignored and only seen by the kqueue of
    # the event loop, which does not exist during the restart delay (usr.sbin/daemon/daemon.c)
    term_lost_in_delay = state.read(ctx.laptop_dir).get("osreldate", 0) >= 1400000
    if os.fork():
        return 0
    os.setsid()
    if os.fork():
        os._exit(0)
    _supervise(args, o, fds, out_fd, delay, term_lost_in_delay)
    os._exit(0)


def _child_signals():
    # daemon_exec(): ignored signals stay ignored across execve, so SIGHUP/SIGTERM are unignored
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _supervise(args, o, fds, out_fd, delay, term_lost_in_delay=False):
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)  # let go of the caller's terminal or SSH channel
    if out_fd is None and "-S" not in o:
        out_fd = devnull
    if "-P" in fds:
        _write_pid(fds["-P"], os.getpid())
    _set_title(o.get("-t") or "daemon")
    child = [None]
    stopping = [False]

    def on_term(*_):
        stopping[0] = True
        if child[0] and child[0].poll() is None:
            child[0].send_signal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while not stopping[0]:
        if "-S" in o:
            logger = subprocess.Popen(["logger", "-t", o.get("-T", "daemon"), "-p",
                                       "%s.%s" % (o.get("-l", "daemon"), o.get("-s", "notice"))],
                                      stdin=subprocess.PIPE, stdout=devnull, stderr=devnull)
            out, err = logger.stdin, logger.stdin
        else:
            out = err = out_fd
        try:
            child[0] = subprocess.Popen(args, stdin=devnull, stdout=out, stderr=err,
                                        close_fds=True, preexec_fn=_child_signals)
        except OSError as e:
            os.write(out_fd if out_fd is not None else devnull,
                     b"daemon: execvp: %s\n" % e.strerror.encode())
            break
        if "-p" in fds:
            _write_pid(fds["-p"], child[0].pid)
        while True:
            try:
                child[0].wait()
                break
            except InterruptedError:
                continue
        if delay is None or stopping[0]:
            break
        if term_lost_in_delay:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # no kqueue while sleeping: SIGTERM is lost
            time.sleep(delay)
            signal.signal(signal.SIGTERM, on_term)
            continue
        end = time.monotonic() + delay
        while not stopping[0] and time.monotonic() < end:
            time.sleep(0.1)
    for flag, fd in fds.items():
        try:
            os.unlink(o[flag])
        except OSError:
            pass


def _set_title(title):
    """`daemon: title[pid]` in ps; Linux keeps 15 bytes of it as the process name."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, ("daemon: " + title)[:15].encode(), 0, 0, 0)
    except OSError:
        pass
