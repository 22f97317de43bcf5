"""`lastword serve` at start: a bad database is one clear line, the database's path is logged."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import orjson
import pytest

from tests.conftest import free_port
from tests.store.sqlite_files import filled_database

# Upstreams nobody contacts at start; loopback only.
UPSTREAMS = [
    "--anthropic-upstream",
    "http://127.0.0.1:9",
    "--openai-upstream",
    "http://127.0.0.1:9",
]


def _serve(*flags: str) -> list[str]:
    port = str(free_port())
    return [sys.executable, "-m", "gateway", "serve", "--port", port, *UPSTREAMS, *flags]


def _not_sqlite(sound: bytes) -> bytes:
    return b"this is a text file, not a database\n" * 100


def _bad_header(sound: bytes) -> bytes:
    return b"not an sqlite db" + sound[16:]


def _truncated(sound: bytes) -> bytes:
    return sound[: len(sound) // 2]


def _garbled_tail(sound: bytes) -> bytes:
    damaged = bytearray(sound)
    for i in range(len(damaged) // 2, len(damaged), 3):
        damaged[i] ^= 0x5A
    return bytes(damaged)


@pytest.mark.parametrize("fmt", ["json", "console"])
@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_not_sqlite, "file is not a database"),
        (_bad_header, "file is not a database"),
        (_truncated, "malformed"),
        (_garbled_tail, "damaged"),
    ],
)
def test_a_corrupt_database_stops_start_with_one_line(
    tmp_path: Path, damage: Callable[[bytes], bytes], problem: str, fmt: str
) -> None:
    """A file that is not SQLite, or damaged SQLite: one line with path and problem, exit 1."""
    sound = filled_database(tmp_path / "sound.db")
    target = tmp_path / "corrupt.db"
    target.write_bytes(damage(sound))
    done = subprocess.run(
        _serve("--store", f"sqlite:///{target}", "--log-format", fmt),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "startup_failed" in lines[0]
    assert str(target) in lines[0]
    assert problem in lines[0]
    if fmt == "json":
        assert orjson.loads(lines[0])["level"] == "critical"


def test_a_database_from_before_contract_2_stops_start_with_one_line(tmp_path: Path) -> None:
    """A store written by an older Lastword (schema 3): one line saying so, exit 1."""
    target = tmp_path / "old.db"
    filled_database(target)
    with closing(sqlite3.connect(target)) as conn:
        conn.execute("UPDATE schema_version SET version = 3")
        conn.commit()
    done = subprocess.run(
        _serve("--store", f"sqlite:///{target}"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "startup_failed" in lines[0]
    assert "written by an older Lastword" in lines[0]


def _starting_record(command: list[str], cwd: Path) -> dict[str, object]:
    """Run the gateway until it logs `starting`; return that record."""
    proc = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line, "the gateway exited before logging `starting`"
            record: dict[str, object] = orjson.loads(line)
            if record["event"] == "starting":
                return record
        raise AssertionError("no `starting` record")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("sqlite:///data/lastword.db", "data/lastword.db"),
        ("sqlite:///{tmp}/abs/lastword.db", "abs/lastword.db"),
    ],
)
def test_the_resolved_database_path_is_logged_at_start(
    tmp_path: Path, url: str, where: str
) -> None:
    """`starting` names the database's absolute path: a relative URL is under the cwd."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    store = url.format(tmp=tmp_path if "{tmp}" in url else "")
    base = workdir if "{tmp}" not in url else tmp_path
    record = _starting_record(_serve("--store", store), workdir)
    assert record["store"] == "sqlite"
    assert record["database"] == str(base / where)
    assert (base / where).is_file()


def test_a_sound_database_is_not_refused(tmp_path: Path) -> None:
    """A healthy store file passes the start-up check and the gateway starts."""
    filled_database(tmp_path / "lastword.db")
    record = _starting_record(_serve("--store", "sqlite:///lastword.db"), tmp_path)
    assert record["database"] == str(tmp_path / "lastword.db")
