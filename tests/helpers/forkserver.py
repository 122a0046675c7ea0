"""A fork server for the CLI tests: `python forkserver.py SOCKET` imports supportdesk once,
then forks one child per request, and each child runs `python -m supportdesk ARGS` as a
fresh process would.

Every CLI process pays Python's start and the imports of click, SQLAlchemy, psycopg and the
desk (0.25 to 0.4 s) before it does anything; hundreds of CLI tests paid it for every command
they ran. A child of this server starts with those modules already imported and is otherwise
the process the test asked for: its own pid, its own exit code (or the signal that ended it),
fds 0, 1 and 2 given by the test (pipes, files), the test's argv (bytes, decoded as a fresh
interpreter decodes them), environment, working folder and umask, and the interpreter's exit
(SystemExit's code, non-daemon threads joined, atexit handlers run, streams flushed; only the
tear-down of every imported module is left out: the process ends with os._exit).

Nothing a command does can reach the next one: the server itself never runs a command, so
each child starts from the state the imports left (no engine, no cache filled, no thread, no
open file but its own). What cannot be given to a child after the interpreter has started
(Python's own settings: PYTHON* variables, the locale) is the client's to check: it runs a
fresh interpreter when those differ (tests/helpers/cli.py).

The protocol, one connection per command: the client sends 8 bytes (the payload's length)
with three fds (SCM_RIGHTS), then the payload (a pickle: argv and environment as bytes, cwd,
umask); the server answers the child's pid (8 bytes), and when the child has ended its wait
status (8 bytes, signed).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import pickle
import pkgutil
import selectors
import socket
import struct
import sys
from typing import Any

# the third-party modules the commands load, and the desk's own except the console's
PRELOAD = (
    "click",
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.postgresql.psycopg",
    "psycopg",
    "rich.console",
    "rich.table",
    "rich.text",
)
SKIP = (
    "supportdesk.console",
    "supportdesk.migrations",
    "supportdesk.__main__",
    "supportdesk.serve",
)


def _preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    import supportdesk

    for info in pkgutil.walk_packages(supportdesk.__path__, "supportdesk."):
        if not info.name.startswith(SKIP):
            importlib.import_module(info.name)


def _read(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def serve(path: str) -> dict[str, Any]:
    """Serve requests until the client goes away (its end of our stdin closes: then exit);
    in a forked child, return the child's request."""
    _preload()
    extra = sorted(int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2)
    if len(extra) > 1:  # the listing's own fd: an import that keeps a file open leaks it
        raise SystemExit(f"forkserver: an import left fds open: {extra}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # bound and listening under another name first: the client waits for `path` to exist,
    # and a connect between bind() and listen() is refused (seen once under load)
    listener.bind(path + ".new")
    listener.listen(64)
    os.rename(path + ".new", path)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(0, selectors.EVENT_READ, "stdin")
    running: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    gc.collect()
    gc.freeze()  # what the imports made stays out of the children's collections
    while True:
        for key, _events in sel.select():
            if key.data == "stdin":
                if not os.read(0, 4096):
                    for pidfd, (_pid, conn) in running.items():
                        os.close(pidfd)
                        conn.close()
                    with contextlib.suppress(OSError):  # the client may have been first
                        os.unlink(path)
                        os.rmdir(os.path.dirname(path))
                    raise SystemExit(0)
            elif key.data == "accept":
                conn, _ = listener.accept()
                try:
                    head, fds, _flags, _addr = socket.recv_fds(conn, 8, 3)
                    request = pickle.loads(_read(conn, struct.unpack("!Q", head)[0]))
                except (EOFError, OSError, ValueError, struct.error):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    sel.close()
                    listener.close()
                    for pidfd, (_pid, other) in running.items():
                        os.close(pidfd)
                        other.close()
                    conn.close()
                    for target, fd in enumerate(fds):
                        os.dup2(fd, target)
                    for fd in fds:
                        if fd > 2:
                            os.close(fd)
                    return request  # type: ignore[no-any-return]
                for fd in fds:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                running[pidfd] = (pid, conn)
                sel.register(pidfd, selectors.EVENT_READ, "child")
                with contextlib.suppress(OSError):  # the client went away: the child runs on
                    conn.sendall(struct.pack("!q", pid))
            else:
                pidfd = key.fd
                pid, conn = running.pop(pidfd)
                sel.unregister(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):
                    conn.sendall(struct.pack("!q", status))
                conn.close()


def _become(request: dict[str, Any]) -> None:
    """Turn this child into the process the request describes (before any of its code runs)."""
    os.environ.clear()
    for name, value in request["env"]:
        os.environ[os.fsdecode(name)] = os.fsdecode(value)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    import time

    time.tzset()  # TZ is read at start; a fresh interpreter would see the request's
    sys.argv = ["-m", *(os.fsdecode(a) for a in request["argv"])]  # runpy sets argv[0]
    sys.path[0] = os.getcwd()  # what `python -m` puts first


def _exit_code(exc: SystemExit) -> int:
    """The exit status Python gives an uncaught SystemExit (printing a non-integer code)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _finish(code: int) -> None:
    """End as the interpreter ends (non-daemon threads joined, atexit handlers run, standard
    streams flushed, exit status 120 when that flush fails) without its tear-down of every
    module, which the server's imports make cost more than the command itself (0.2-0.3 s)."""
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            code = 120
    os._exit(code & 0xFF)


if __name__ == "__main__":
    sys.path[0] = os.getcwd()  # not this folder: nothing here may shadow what the desk imports
    child = serve(sys.argv[1])
    _become(child)
    del child
    import runpy
    import signal

    try:
        runpy.run_module("supportdesk", run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as exc:
        status = _exit_code(exc)
    except KeyboardInterrupt:  # Python ends by the signal itself
        sys.excepthook(*sys.exc_info())
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        status = 130
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    _finish(status)
