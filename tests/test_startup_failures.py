"""`lastword serve` that cannot start: one line naming the problem, a non-zero exit, in
one process and with `--workers 2` alike."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import orjson
import pytest

from tests.conftest import free_port

# Upstreams nobody contacts at start; loopback only.
UPSTREAMS = [
    "--anthropic-upstream",
    "http://127.0.0.1:9",
    "--openai-upstream",
    "http://127.0.0.1:9",
]
WORKERS = pytest.mark.parametrize("workers", ["1", "2"])


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_failure(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The single `startup_failed` record's error, after checking exit code and output."""
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    record = orjson.loads(lines[0])
    assert (record["event"], record["level"]) == ("startup_failed", "critical")
    assert "Traceback" not in done.stderr
    return str(record["error"])


@pytest.fixture(params=["plain", "reuse_port"])
def busy_port(request: pytest.FixtureRequest) -> Iterator[int]:
    """A loopback port another process listens on (also one that shares it by SO_REUSEPORT,
    as another gateway's workers do: a gateway must not silently split its traffic)."""
    with socket.socket() as sock:
        if request.param == "reuse_port":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@WORKERS
def test_a_port_in_use_is_one_line_and_exit_1(busy_port: int, workers: str, tmp_path: Path) -> None:
    """The port taken: one line naming host and port, exit 1, in both worker modes."""
    done = _run(
        "serve", "--port", str(busy_port), "--workers", workers, "--store", "memory://",
        *UPSTREAMS, cwd=tmp_path,
    )  # fmt: skip
    error = _one_failure(done)
    assert error == f"port: 127.0.0.1:{busy_port} is already in use by another process"


@WORKERS
def test_a_metrics_port_in_use_is_one_line_and_exit_1(workers: str, tmp_path: Path) -> None:
    """`metrics_port` taken: one line naming that setting, exit 1."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    busy_port = int(busy.getsockname()[1])
    done = _run(
        "serve", "--port", str(free_port()), "--workers", workers, "--store", "memory://",
        *UPSTREAMS, cwd=tmp_path, env={"LASTWORD_METRICS_PORT": str(busy_port)},
    )  # fmt: skip
    busy.close()
    assert _one_failure(done).startswith(f"metrics_port: 127.0.0.1:{busy_port} is already in use")


def _bad_pack(tmp_path: Path) -> Path:
    folder = tmp_path / "broken-rules"
    folder.mkdir()
    (folder / "x.rules.yaml").write_text("categories: [{name: x, kind: nonsense}]\n")
    return folder


@pytest.mark.parametrize(
    ("folder", "problem", "workers"),
    [
        (lambda tmp: tmp / "no-such-folder", "rules: the folder {path} does not exist", "1"),
        (lambda tmp: tmp / "no-such-folder", "rules: the folder {path} does not exist", "2"),
        (lambda tmp: tmp / "file.txt", "rules: {path} is not a folder", "1"),
        (lambda tmp: tmp / "empty", "rules: refused: {path}: no rule packs (*.rules.yaml)", "1"),
        (_bad_pack, "rules: refused: x.rules.yaml: category x: `kind` must be one of", "2"),
    ],
    ids=["missing", "missing-workers", "a-file", "empty", "broken-pack-workers"],
)
def test_a_bad_rules_folder_is_one_line_and_exit_1(
    folder: object, problem: str, workers: str, tmp_path: Path
) -> None:
    """A rules folder that is missing, a file, empty or holds a broken pack: one line, exit 1."""
    (tmp_path / "file.txt").write_text("not a folder\n")
    (tmp_path / "empty").mkdir()
    assert callable(folder)
    path = folder(tmp_path)
    done = _run(
        "serve", "--port", str(free_port()), "--workers", workers, "--store", "memory://",
        "--rules", str(path), *UPSTREAMS, cwd=tmp_path,
    )  # fmt: skip
    assert _one_failure(done).startswith(problem.format(path=path))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "config file {path} cannot be read: No such file or directory"),
        ("port: [1,\n", "config file {path} is not valid YAML"),
        ("- a list\n", "config file {path} must hold a mapping of settings"),
        ("store_failure: maybe\n", "store_failure: must be one of 'open', 'closed', not 'maybe'"),
        ("polciy: {threshold: 2}\n", "polciy: not a setting (did you mean policy?)"),
        (
            "policy: {category_thresholds: {csma: 1}}\n",
            "policy.category_thresholds.csma: unknown category 'csma' (did you mean csam?",
        ),
    ],
    ids=["missing", "not-yaml", "not-a-mapping", "bad-value", "unknown-key", "unknown-category"],
)
def test_a_bad_config_file_is_one_line_and_exit_2(
    content: str | None, problem: str, tmp_path: Path
) -> None:
    """A config file that cannot be read or holds a bad setting: one record naming it, exit 2."""
    config = tmp_path / "lastword.yaml"
    if content is not None:
        config.write_bytes(content.encode())
    done = _run(
        "serve", "--config", str(config), "--port", str(free_port()), "--workers", "2",
        "--store", "memory://", *UPSTREAMS, cwd=tmp_path,
    )  # fmt: skip
    assert _one_failure(done, code=2).startswith(problem.format(path=config))


def test_a_config_error_follows_the_log_format_asked_for(tmp_path: Path) -> None:
    """`--log-format console`: the record is a console line, not JSON; still one line, exit 2."""
    done = _run("serve", "--log-format", "console", "--workers", "0", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "startup_failed" in lines[0]
    assert "workers: must be at least 1, not 0" in lines[0]
    assert not lines[0].startswith("{")


def _supervise_only(settings: Mapping[str, int]) -> list[str]:
    """The supervisor alone, without the checks made before it: workers meet the fault."""
    values = {"workers": 2, "store": "memory://", **settings}
    code = (
        "import sys\n"
        "from gateway.cli import _supervise\n"
        "from gateway.config import load_settings\n"
        "from gateway.logs import configure_logging\n"
        "configure_logging()\n"
        f"sys.exit(_supervise(load_settings({values!r}, None, {{}})))\n"
    )
    return [sys.executable, "-c", code]


@pytest.mark.parametrize("key", ["port", "metrics_port"])
def test_a_worker_that_cannot_start_stops_the_supervisor_with_exit_1(
    key: str, tmp_path: Path
) -> None:
    """A port taken after the checks (a race): the workers say why, the supervisor exits 1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = int(sock.getsockname()[1])
        settings = {"port": busy} if key == "port" else {"port": free_port(), key: busy}
        done = subprocess.run(
            _supervise_only(settings), cwd=tmp_path, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    records = [orjson.loads(line) for line in done.stderr.splitlines()]
    assert records, done.stderr
    assert {r["event"] for r in records} == {"startup_failed"}
    assert all(r["error"].startswith(f"{key}: 127.0.0.1:{busy} is already in use") for r in records)
    assert "Traceback" not in done.stderr


def _workers(pid: int) -> list[int]:
    """The worker processes of the supervisor `pid` (not multiprocessing's own helpers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return [c for c in found if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the gateway exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the gateway did not start")


def test_a_worker_that_dies_stops_the_gateway_with_exit_1(tmp_path: Path) -> None:
    """One of two workers killed: the supervisor stops the other and exits 1, not 0."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "gateway", "serve", "--port", str(port), "--workers", "2",
            "--store", "memory://", *UPSTREAMS,
        ],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_listening(port, proc)
        deadline = time.monotonic() + 60
        while len(workers := _workers(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(workers[0], signal.SIGKILL)
        assert proc.wait(timeout=60) == 1
        assert proc.stderr is not None
        records = [orjson.loads(line) for line in proc.stderr.read().splitlines()]
        exited = [r for r in records if r["event"] == "worker_exited"]
        assert [(r["pid"], r["exit_code"]) for r in exited] == [(workers[0], -signal.SIGKILL)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        if proc.stderr is not None:
            proc.stderr.close()


@WORKERS
def test_a_clean_stop_exits_0(workers: str, tmp_path: Path) -> None:
    """SIGTERM to a running gateway: every worker stops and the exit status is 0."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "gateway", "serve", "--port", str(port), "--workers", workers,
            "--store", "memory://", *UPSTREAMS,
        ],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_listening(port, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)


@WORKERS
def test_a_reload_asked_for_during_start_does_not_kill_the_gateway(
    workers: str, tmp_path: Path
) -> None:
    """SIGHUP sent over and over while the gateway starts: it starts, serves, exits 0 on
    SIGTERM (by default SIGHUP ends a process that has no handler for it yet)."""
    port = free_port()
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "gateway", "serve", "--port", str(port),
                "--workers", workers, "--store", "memory://", *UPSTREAMS,
            ],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=out,
        )  # fmt: skip
    try:
        # From `starting` on (the interpreter's imports before it are any process's own).
        deadline = time.monotonic() + 60
        while b'"starting"' not in log.read_bytes() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.02)
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"exit {proc.returncode}: {log.read_text()}"
            proc.send_signal(signal.SIGHUP)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        for _ in range(10):
            proc.send_signal(signal.SIGHUP)
            time.sleep(0.1)
        _wait_listening(port, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
