"""The `lastword` command: serve | simulate | check-config."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess as prometheus_multiprocess

from gateway import __version__, metrics, reloads
from gateway.app import SUPERVISOR_ENV, build_retention, create_app
from gateway.config import ENV_PREFIX, ConfigError, Settings, load_settings
from gateway.demo import main as demo_main
from gateway.demo_script import SCRIPTS
from gateway.detect.handoff import HANDOFF
from gateway.detect.handoff import wanted as handoff_wanted
from gateway.detect.rules import starts_anywhere
from gateway.logs import configure_logging, get_logger, install_exception_hooks
from gateway.server import run_app
from gateway.simulate import SimulatorSettings, run_simulator
from gateway.startup import (
    Packs,
    StartupError,
    cannot_listen,
    check_names,
    check_ports,
    check_store,
    listen_problem,
    load_packs,
)
from gateway.store import StoreError
from gateway.web import main as web_demo_main


def _install_uvloop() -> None:
    try:
        import uvloop  # noqa: PLC0415 - optional: not built for every platform
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _serve_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML settings file")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--anthropic-upstream", dest="anthropic_upstream", metavar="URL")
    parser.add_argument("--openai-upstream", dest="openai_upstream", metavar="URL")
    parser.add_argument("--store", metavar="URL")
    parser.add_argument("--rules", type=Path, metavar="DIR")
    parser.add_argument(
        "--admin-token",
        dest="admin_token",
        help="prefer LASTWORD_ADMIN_TOKEN or the config file: ps shows flags to every user",
    )
    parser.add_argument("--shadow", action="store_true", default=None)
    parser.add_argument(
        "--visible-notice", dest="visible_notice", action="store_true", default=None
    )
    parser.add_argument("--body-timeout", dest="body_timeout", type=float, metavar="SECONDS")
    parser.add_argument("--idle-timeout", dest="idle_timeout", type=float, metavar="SECONDS")
    parser.add_argument("--log-format", dest="log_format", choices=("json", "console"))
    parser.add_argument("--log-level", dest="log_level")
    parser.add_argument(
        "--judge-process", dest="judge_process", choices=("auto", "on", "off"),
        help="judge a busy worker's turns in a process of their own (auto: with a spare core)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="lastword", description=__doc__)
    parser.add_argument("--version", action="version", version=f"lastword {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_flags(sub.add_parser("serve", help="run the gateway"))
    _serve_flags(sub.add_parser("check-config", help="validate settings and exit"))
    rules = sub.add_parser("rules", help="rule pack tools")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    rules_test = rules_sub.add_parser("test", help="prove every rule by its examples")
    rules_test.add_argument("--rules", type=Path, metavar="DIR", help="rule packs directory")
    demo = sub.add_parser("demo", help="walk through a scripted conversation")
    demo.add_argument("--lang", choices=sorted(SCRIPTS), default="en")
    demo.add_argument("--web", action="store_true", help="a chat page in the browser instead")
    demo.add_argument("--port", type=int, default=8765, help="the web demo's port")
    sim = sub.add_parser("simulate", help="run the simulated LLM upstream")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8081)
    sim.add_argument("--token-delay", type=float, default=0.0, help="seconds between deltas")
    sim.add_argument("--refusal-style", choices=("signal", "text"), default="signal")
    sim.add_argument("--refuse-all", action="store_true")
    sim.add_argument(
        "--end-all", action="store_true", help="call an offered end tool on every turn"
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
    return load_settings(flags, args.config)


# Start-up failures an operator fixes (a damaged database, a broken rule pack, a port in
# use): one record naming the problem, not a traceback, and a non-zero exit.
_STARTUP_ERRORS = (StoreError, StartupError, ConfigError)
# A worker's exit status when it could not start (it has logged why).
STARTUP_FAILED = 3


def _serve_here(settings: Settings, packs: Packs | None = None) -> int:
    """Serve in this process until told to stop; the exit status."""
    HANDOFF.enabled = handoff_wanted(settings.judge_process, settings.workers)
    try:
        # The gateway's runner: requests aiohttp cannot parse get JSON error pages too.
        run_app(
            create_app(settings, packs=packs),
            host=settings.host,
            port=settings.port,
            reuse_port=settings.workers > 1,
        )
    except _STARTUP_ERRORS as exc:
        get_logger().critical("startup_failed", error=str(exc))
        return STARTUP_FAILED
    except OSError as exc:
        # Past the checks made before start (a port taken since, in a race).
        if not cannot_listen(exc):
            raise
        problem = listen_problem(exc, "port", settings.host, settings.port)
        get_logger().critical("startup_failed", error=problem)
        return STARTUP_FAILED
    return 0


def _ignore_reloads() -> None:
    """Ignore SIGHUP while the workers start: they inherit it across exec (by default SIGHUP
    ends a process), until they remember it (`reloads.hold`)."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _run_worker(settings: Settings) -> None:
    reloads.hold()
    _install_uvloop()
    configure_logging(settings.log_format, settings.log_level)
    install_exception_hooks()
    sys.exit(_serve_here(settings))


def _preflight(settings: Settings) -> tuple[Packs, Path | None]:
    """Every check made once before the gateway starts; the packs and the database path."""
    packs = load_packs(settings.rules, settings.embedded_model)
    check_names(settings, packs.rules)
    database = asyncio.run(check_store(settings, build_retention(settings)))
    check_ports(settings)
    return packs, database


def serve(settings: Settings, *, token_on_command_line: bool = False) -> int:
    """Run the gateway with `settings.workers` processes sharing one port; the exit status."""
    reloads.hold()
    configure_logging(settings.log_format, settings.log_level)
    install_exception_hooks()
    log = get_logger()
    if token_on_command_line:
        # Any user of the machine reads it with `ps`; the variable or the file keep it private.
        log.warning(
            "admin_token_on_command_line",
            advice="set LASTWORD_ADMIN_TOKEN or admin_token in the config file instead",
        )
    try:
        packs, database = _preflight(settings)
    except _STARTUP_ERRORS as exc:
        log.critical("startup_failed", error=str(exc))
        return 2 if isinstance(exc, ConfigError) else 1
    log.info(
        "starting",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        store=settings.store.split("://", 1)[0],
        # Where the data really is: sqlite:///x.db is relative to the working directory.
        **({"database": str(database)} if database is not None else {}),
    )
    if settings.workers == 1:
        _install_uvloop()
        return 0 if _serve_here(settings, packs) == 0 else 1
    return _supervise(settings)


def _supervise(settings: Settings) -> int:
    """Run the workers until they stop; one that fails stops them all. The exit status."""
    log = get_logger()
    # A worker asked to reload its rules passes the word to its siblings through this process.
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    # Workers share metrics through files in one directory: one scrape sees them all.
    if not os.environ.get(metrics.MULTIPROC_ENV):
        os.environ[metrics.MULTIPROC_ENV] = tempfile.mkdtemp(prefix="lastword-metrics-")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_run_worker, args=(settings,)) for _ in range(settings.workers)]
    stopping = False

    def stop(signum: int) -> None:
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                os.kill(worker.pid, signum)

    def forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = stopping or signum != signal.SIGHUP
        stop(signal.SIGTERM if signum == signal.SIGINT else signum)

    # SIGTERM/SIGINT stop every worker; SIGHUP (reload the rules) reaches every worker.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    # The workers are born ignoring SIGHUP (an ignored signal stays ignored across exec),
    # so that a reload forwarded while they import does not kill them.
    _ignore_reloads()
    for worker in workers:
        worker.start()
    signal.signal(signal.SIGHUP, forward)
    failed = False
    running = list(workers)
    while running:
        done = set(multiprocessing.connection.wait([w.sentinel for w in running]))
        for worker in [w for w in running if w.sentinel in done]:
            worker.join()
            running.remove(worker)
            prometheus_multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
            if worker.exitcode == 0 or stopping:
                continue
            # A gateway short of a worker is not what was asked for: stop it whole, so that
            # systemd or Kubernetes see the failure and start it again.
            failed = stopping = True
            if worker.exitcode != STARTUP_FAILED:  # that one has said why itself
                log.error("worker_exited", pid=worker.pid, exit_code=worker.exitcode)
            stop(signal.SIGTERM)
    return 1 if failed else 0


def _refused(args: argparse.Namespace, exc: ConfigError | StartupError) -> int:
    """Report settings the gateway cannot run with: exit 2."""
    problems = exc.problems if isinstance(exc, ConfigError) else (str(exc),)
    if args.command == "check-config":
        for problem in problems:
            print(f"lastword: {problem}", file=sys.stderr)
        return 2
    # The settings hold the log format; take it from where it can still be read.
    fmt = args.log_format or os.environ.get(ENV_PREFIX + "LOG_FORMAT", "json")
    configure_logging(fmt if fmt in ("json", "console") else "json")
    get_logger().critical("startup_failed", error="; ".join(problems))
    return 2


def rules_test(directory: Path | None) -> int:
    """Load every pack, proving each rule by its examples; print a summary."""
    try:
        packs = load_packs(directory)
    except StartupError as exc:
        print(f"lastword: {exc}", file=sys.stderr)
        return 1
    rules, crisis = packs.rules, packs.directory
    table: dict[tuple[str, str], set[str]] = {}
    examples = 0
    for rule in rules.rules:
        table.setdefault((rule.kind, rule.category), set()).add(rule.lang)
        examples += len(rule.match) + len(rule.no_match)
    width = max((len(kind) for kind, _ in table), default=0)
    for (kind, category), langs in sorted(table.items()):
        count = sum(1 for r in rules.rules if (r.kind, r.category) == (kind, category))
        print(f"{kind:{width}} {category:28} {count:3} rules  {','.join(sorted(langs))}")
    slow = [r.id for r in rules.rules if not r.keywords]
    if slow:
        print(f"note: {len(slow)} rules without keywords run on every text: {', '.join(slow)}")
    anywhere = [r.id for r in rules.rules if starts_anywhere(r)]
    if anywhere:
        print(
            f"note: {len(anywhere)} rules open on no word and are tried at every position "
            f"near their keywords: {', '.join(anywhere)}"
        )
    print(f"ok: {len(rules.rules)} rules, {examples} examples proven, version {rules.version}")
    if rules.model is not None:
        model = rules.model
        print(f"ok: model, {len(model.buckets)} features, version {model.version}")
    spellings = rules.spellings
    languages = ",".join(sorted(spellings.by_language))
    print(
        f"ok: spellings, {len(spellings) - spellings.read_back} in {languages}, "
        f"{spellings.read_back} words read back from spelled-out letters and "
        f"{len(spellings.pictographs)} pictographs, version {spellings.version}"
    )
    print(f"ok: crisis directory, {len(crisis.countries)} countries, version {crisis.version}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lastword` command."""
    args = build_parser().parse_args(argv)
    if args.command == "rules":
        return rules_test(args.rules)
    if args.command == "demo":
        return web_demo_main(args.port) if args.web else demo_main(args.lang)
    if args.command == "simulate":
        simulated = SimulatorSettings(
            token_delay=args.token_delay,
            refusal_style=args.refusal_style,
            refuse_all=args.refuse_all,
            end_all=args.end_all,
        )
        run_simulator(args.host, args.port, simulated)
        return 0
    try:
        settings = _settings(args)
        if args.command == "check-config":
            check_names(settings, load_packs(settings.rules, settings.embedded_model).rules)
    except (ConfigError, StartupError) as exc:
        return _refused(args, exc)
    if args.command == "check-config":
        print("configuration ok")
        return 0
    return serve(settings, token_on_command_line=args.admin_token is not None)


if __name__ == "__main__":
    sys.exit(main())
