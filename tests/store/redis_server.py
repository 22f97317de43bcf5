"""A throwaway `redis-server` for tests, and the session fixture `redis_url` that starts one.

Other test folders get the fixture by importing it into their conftest (or tests/conftest.py):
    from tests.store.redis_server import redis_url  # noqa: F401  (a fixture, used by name)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import pytest

MISSING = (
    "redis-server is not on PATH: the Redis store tests need a real server "
    "(apt-get install redis-server, or brew install redis)"
)


class RedisServer:
    """A redis-server on a free 127.0.0.1 port, persisting nothing, stopped on exit."""

    def __init__(
        self,
        workdir: Path,
        binary: str = "redis-server",
        extra: Sequence[str] = (),
        config: Path | None = None,
    ) -> None:
        self.workdir = workdir
        self.binary = binary
        # Arguments after the defaults (a replica's --replicaof, --sentinel, cluster options)
        # and a config file to read first (a sentinel's, which the sentinel rewrites).
        self.extra, self.config = tuple(extra), config
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and return once it answers PING; RuntimeError if it cannot."""
        executable = shutil.which(self.binary)
        if executable is None:
            raise RuntimeError(MISSING)
        for _attempt in range(3):  # another process may grab the free port before redis does
            self.port = free_port()
            log = self.workdir / f"redis-{self.port}.log"
            with log.open("wb") as out:
                self._process = subprocess.Popen(
                    [
                        executable,
                        *([str(self.config)] if self.config else []),
                        "--port",
                        str(self.port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(self.workdir),
                        *self.extra,
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_ready(timeout):
                return
            self.stop()
        raise RuntimeError(f"redis-server did not answer PING; see logs in {self.workdir}")

    def stop(self, kill: bool = False) -> None:
        """Terminate the server (kill it if it lingers, or at once if `kill`) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        if kill:
            process.kill()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            if ping(self.port):
                return True
            time.sleep(0.02)
        return False

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ping(port: int) -> bool:
    """Whether a Redis server on 127.0.0.1:`port` answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a redis-server started once per session; fails (never skips) without one."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    problem = ""
    try:
        server.start()
    except RuntimeError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()
