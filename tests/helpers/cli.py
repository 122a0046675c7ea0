"""The CLI as a user runs it: a real process, and its one-line errors.

`run` and `run_bytes` start `python -m supportdesk ARGS` as a real process of its own, forked
by this test process's fork server (tests/helpers/forkserver.py), which has imported
supportdesk once: the child has its own pid and exit code, the test's argv, environment,
folder, umask and standard input, and its stdout and stderr come back through pipes, as from
`subprocess.run(..., capture_output=True)`; it just does not pay Python's start and the
imports again (0.25 to 0.4 s a command). `run_fresh` starts a new interpreter: for a test of
what happens at start (imports, lazy loading, Python's own settings). A request that sets one
of Python's start-up settings differently from the server's (PYTHON* variables, the locale)
gets a fresh interpreter too.
"""

from __future__ import annotations

import atexit
import locale
import os
import pickle
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

# A valid `ticket new` for the fixture's account (the database decides whether it may write).
NEW_TICKET = (
    "ticket",
    "new",
    "--account",
    "bluefin",
    "--subject",
    "x",
    "--priority",
    "low",
    "--category",
    "billing",
    "--channel",
    "phone",
)

FORKSERVER = Path(__file__).with_name("forkserver.py")
# what Python reads from the environment only when it starts
STARTUP_ENV = ("PYTHON", "LC_", "LANG")
TIMEOUT = 120  # seconds


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "supportdesk", *args]


def run(
    env: dict[str, str],
    *args: str,
    stdin: str | None = None,
    cwd: str | Path | None = None,
    umask: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """`supportdesk ARGS` in a process of its own, text in and out (as `subprocess.run(...,
    text=True)` gives it: the locale's encoding, universal newlines)."""
    encoding = locale.getpreferredencoding(False)
    data = None if stdin is None else stdin.encode(encoding)
    p = run_bytes(env, *args, stdin=data, cwd=cwd, umask=umask)
    return subprocess.CompletedProcess(
        p.args, p.returncode, _text(p.stdout, encoding), _text(p.stderr, encoding)
    )


def run_fresh(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`supportdesk ARGS` in a new interpreter: for what happens while Python starts."""
    return subprocess.run(
        command(*args), env=env, capture_output=True, text=True, input=stdin, timeout=TIMEOUT
    )


def _text(data: bytes, encoding: str) -> str:
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


def run_bytes(
    env: Mapping[str, str] | Mapping[bytes, bytes] | None,
    *args: str | bytes,
    stdin: bytes | int | None = None,
    cwd: str | Path | None = None,
    umask: int | None = None,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """`supportdesk ARGS` in a process of its own, bytes in and out. `stdin` is what to write
    to its standard input (then closed), or an open fd it reads itself, or None: it gets
    ours, as a subprocess would."""
    env = dict(os.environ if env is None else env)
    server = _server()
    if server.startup != _startup(env):
        return subprocess.run(
            [*command(), *args], env=env, capture_output=True, timeout=timeout, cwd=cwd,
            input=stdin if isinstance(stdin, bytes) else None,
            stdin=stdin if isinstance(stdin, int) else None,
            umask=-1 if umask is None else umask,
        )  # fmt: skip
    request = {
        "argv": [_arg(a) for a in args],
        "env": [(_arg(k, name=True), _arg(v)) for k, v in env.items()],
        "cwd": os.path.abspath(cwd if cwd is not None else os.getcwd()),
        "umask": _umask() if umask is None else umask,
    }
    return server.call([*command(), *args], request, stdin, timeout)


def _arg(value: str | bytes, *, name: bool = False) -> bytes:
    """`value` as exec() would get it (what subprocess refuses, refused the same way)."""
    raw = os.fsencode(value)
    if b"\0" in raw:
        raise ValueError("embedded null byte")
    if name and (not raw or b"=" in raw):
        raise ValueError("illegal environment variable name")
    return raw


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _startup(env: Mapping[str, str] | Mapping[bytes, bytes]) -> dict[str, str]:
    pairs = ((os.fsdecode(k), os.fsdecode(v)) for k, v in env.items())
    return {k: v for k, v in pairs if k.startswith(STARTUP_ENV)}


class _Server:
    """This process's fork server: started on first use, gone when this process ends."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="sd-forks-")
        self.path = os.path.join(self.folder, "socket")
        self.pid = os.getpid()
        self.startup = _startup(dict(os.environ))
        self.proc = subprocess.Popen(
            [sys.executable, str(FORKSERVER), self.path],
            stdin=subprocess.PIPE,  # its lifeline: closed when this process ends
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(self.path):
            if self.proc.poll() is not None:
                raise RuntimeError(f"the fork server failed: {self.proc.stderr.read()!r}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise RuntimeError("the fork server did not start")
            time.sleep(0.005)
        atexit.register(self.close)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # type: ignore[union-attr]
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)  # the server may have been first

    def call(
        self,
        args: list[str | bytes],
        request: dict[str, object],
        stdin: bytes | int | None,
        timeout: float,
    ) -> subprocess.CompletedProcess[bytes]:
        deadline = time.monotonic() + timeout
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_w = None
        if isinstance(stdin, bytes):
            in_r, in_w = os.pipe()
        else:
            in_r = 0 if stdin is None else stdin
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.path)
            payload = pickle.dumps(request)
            socket.send_fds(conn, [struct.pack("!Q", len(payload))], [in_r, out_w, err_w])
            conn.sendall(payload)
        finally:
            os.close(out_w)
            os.close(err_w)
            if in_w is not None:
                os.close(in_r)
        pid = struct.unpack("!q", _recv(conn, 8))[0]
        chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
        pending = stdin if isinstance(stdin, bytes) else b""
        timed_out = False
        with selectors.DefaultSelector() as sel:
            sel.register(out_r, selectors.EVENT_READ)
            sel.register(err_r, selectors.EVENT_READ)
            if in_w is not None:
                if pending:
                    os.set_blocking(in_w, False)
                    sel.register(in_w, selectors.EVENT_WRITE)
                else:
                    os.close(in_w)
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                for key, _ in sel.select(left):
                    fd = key.fd
                    if fd == in_w:
                        try:
                            pending = pending[os.write(fd, pending[: 1 << 16]) :]
                        except BrokenPipeError:
                            pending = b""
                        if not pending:
                            sel.unregister(fd)
                            os.close(fd)
                    else:
                        data = os.read(fd, 1 << 16)
                        if data:
                            chunks[fd].append(data)
                        else:
                            sel.unregister(fd)
                            os.close(fd)
            for key in list(sel.get_map().values()):
                sel.unregister(key.fd)
                os.close(key.fd)
        if not timed_out:
            conn.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                status = struct.unpack("!q", _recv(conn, 8))[0]
            except TimeoutError:
                timed_out = True
        if timed_out:
            os.kill(pid, signal.SIGKILL)
            conn.settimeout(None)
            status = struct.unpack("!q", _recv(conn, 8))[0]
        conn.close()
        out, err = b"".join(chunks[out_r]), b"".join(chunks[err_r])
        if timed_out:
            raise subprocess.TimeoutExpired(args, timeout, output=out, stderr=err)
        return subprocess.CompletedProcess(args, os.waitstatus_to_exitcode(status), out, err)


def _recv(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise RuntimeError("the fork server went away")
        data += chunk
    return data


_lock = threading.Lock()
_servers: list[_Server] = []


def _server() -> _Server:
    with _lock:
        if not _servers or _servers[-1].pid != os.getpid() or _servers[-1].proc.poll() is not None:
            _servers.append(_Server())
        return _servers[-1]


def one_line_error(p: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in p.stderr, p.stderr
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, p.stderr
    return lines[0]
