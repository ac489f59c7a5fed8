"""cu(1): connect to a serial line (an nmdm(4) B side); `~.` disconnects.

When a lab guest VM (wifibox_lab.guest.runner) has the A side of the pair as its com1,
the line carries its serial console; otherwise the line is open but silent. When stdin
ends (a script, not a person), cu keeps reading until the line is quiet for a moment.
"""
import getopt
import os
import select
import socket
import sys
import time

from ..freebsd import kernel, state

QUIET_AFTER_EOF = 2.0


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "ehol:s:t")
    except getopt.GetoptError:
        ctx.err.write("usage: cu [-ehot] [-l line] [-s speed | -speed] [phone-number]\n")
        return 1
    o = dict(opts)
    line = o.get("-l")
    if not line:
        ctx.err.write("usage: cu [-ehot] [-l line] [-s speed | -speed] [phone-number]\n")
        return 1
    st = state.read(ctx.laptop_dir)
    if line.startswith("/dev/nmdm") and not kernel.module_loaded(st, "nmdm"):
        return ctx.errx(1, "%s: No such file or directory" % line)
    sock = _guest_console(ctx, line)
    ctx.print("Connected")
    ctx.out.flush()
    if sock is None:
        for text in sys.stdin:
            if text.startswith("~."):
                break
    else:
        _relay(ctx, sock)
    ctx.print("", "[EOT]")
    return 0


def _guest_console(ctx, line):
    from ..guest import runner
    key = runner.nmdm_key(line)
    if key is None or not line.endswith("B"):
        return None
    path = runner.console_socket(ctx.laptop_dir, key)
    if not os.path.exists(path):
        return None
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
    except OSError:
        s.close()
        return None
    return s


def _relay(ctx, sock):
    stdin = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
    fd_in = stdin.fileno() if stdin else None
    out = ctx.out.buffer if hasattr(ctx.out, "buffer") else None
    at_line_start, eof_at = True, None
    while True:
        fds = [sock] + ([fd_in] if fd_in is not None and eof_at is None else [])
        ready, _, _ = select.select(fds, [], [], 0.2)
        if sock in ready:
            data = sock.recv(4096)
            if not data:
                return
            if out is not None:
                out.write(data)
                out.flush()
            else:
                ctx.out.write(data.decode(errors="replace"))
            eof_at = time.monotonic() if eof_at is not None else None
        if fd_in is not None and fd_in in ready:
            data = os.read(fd_in, 4096)
            if not data:
                eof_at = time.monotonic()
                continue
            for i in range(len(data)):
                if at_line_start and data[i:i + 2] == b"~.":
                    sock.sendall(data[:i])
                    return
                at_line_start = data[i:i + 1] in (b"\n", b"\r")
            sock.sendall(data.replace(b"\n", b"\r"))
        if eof_at is not None and time.monotonic() - eof_at > QUIET_AFTER_EOF:
            return
