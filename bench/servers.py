"""The servers a benchmark run starts, each in its own process group, all stopped on exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

HOST = "127.0.0.1"


class BenchError(Exception):
    """The benchmark cannot go on; the message says what was seen."""


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a server's log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Server:
    """One server this run started: its own process group, its port and its log."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://{HOST}:{self.port}"


class Servers:
    """Every server started by this run; `stop_all` stops them and their children."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Server] = []
        # Clean-ups for what was not started here as a Server (a Redis Cluster's nodes).
        self.on_stop: list[Callable[[], None]] = []

    def start(
        self,
        name: str,
        port: int,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
    ) -> Server:
        """Start `argv` in a new process group, its output going to a log file.

        The environment is this one less any LASTWORD_ setting, plus `env`.
        """
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LASTWORD_")},
            **(env or {}),
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        server = Server(name, port, process, log)
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        """SIGTERM each process group, then SIGKILL whatever is left after a grace period."""
        for server in self.started:
            _signal_group(server.process, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for server in self.started:
            with suppress(subprocess.TimeoutExpired):
                server.process.wait(max(0.1, deadline - time.monotonic()))
            # Workers of a multi-process gateway share the group and are killed with it.
            _signal_group(server.process, signal.SIGKILL)
            server.process.wait()
        self.started.clear()
        while self.on_stop:
            self.on_stop.pop()()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def wait_ready(server: Server, path: str, *, need_200: bool, timeout: float = 30) -> None:
    """Poll `path` until the server answers (with 200 if `need_200`), or fail."""
    deadline = time.monotonic() + timeout
    seen = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.name} exited with code {server.process.returncode} at start:\n"
                f"{log_tail(server.log)}"
            )
        try:
            with urllib.request.urlopen(server.base + path, timeout=1) as response:
                if response.status == 200 or not need_200:
                    return
                seen = f"status {response.status}"
        except urllib.error.HTTPError as exc:
            if not need_200:
                return
            seen = f"status {exc.code}"
        except OSError as exc:
            seen = str(exc)
        time.sleep(0.1)
    raise BenchError(
        f"{server.name} not ready after {timeout:.0f}s ({seen}):\n{log_tail(server.log)}"
    )


def report_casualties(started: Sequence[Server]) -> None:
    """Say which servers died during the run and which wrote to their logs."""
    for server in started:
        if server.process.poll() is not None:
            print(
                f"{server.name} exited during the run (code {server.process.returncode}):\n"
                f"{log_tail(server.log)}",
                file=sys.stderr,
            )
        elif server.log.stat().st_size:
            lines = len(server.log.read_text(errors="replace").splitlines())
            print(f"{server.name} logged {lines} lines: {server.log}", file=sys.stderr)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so clean-up runs as it does for Ctrl-C."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(143)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
