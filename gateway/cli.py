"""The `lastword` command: serve | simulate | check-config."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess as prometheus_multiprocess

from gateway import __version__, metrics
from gateway.app import SUPERVISOR_ENV, build_retention, create_app
from gateway.config import ConfigError, Settings, load_settings
from gateway.crisis import CrisisDirectoryError, load_directory
from gateway.demo import main as demo_main
from gateway.demo_script import SCRIPTS
from gateway.detect import RuleError, load_rules
from gateway.logs import configure_logging, get_logger, install_exception_hooks
from gateway.server import run_app
from gateway.simulate import SimulatorSettings, run_simulator
from gateway.store import RedisStore, SQLiteStore, StoreError, StoreFormatError, open_store
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
    parser.add_argument("--admin-token", dest="admin_token")
    parser.add_argument("--shadow", action="store_true", default=None)
    parser.add_argument(
        "--visible-notice", dest="visible_notice", action="store_true", default=None
    )
    parser.add_argument("--body-timeout", dest="body_timeout", type=float, metavar="SECONDS")
    parser.add_argument("--idle-timeout", dest="idle_timeout", type=float, metavar="SECONDS")
    parser.add_argument("--log-format", dest="log_format", choices=("json", "console"))
    parser.add_argument("--log-level", dest="log_level")


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
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
    return load_settings(flags, args.config)


# Start-up failures an operator fixes (a damaged database, a broken rule pack): one record
# naming the problem, not a traceback.
_STARTUP_ERRORS = (StoreError, RuleError, CrisisDirectoryError)


def _run_worker(settings: Settings) -> None:
    _install_uvloop()
    configure_logging(settings.log_format, settings.log_level)
    install_exception_hooks()
    try:
        # The gateway's runner: requests aiohttp cannot parse get JSON error pages too.
        run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            reuse_port=settings.workers > 1,
        )
    except _STARTUP_ERRORS as exc:
        get_logger().critical("startup_failed", error=str(exc))
        sys.exit(1)


async def _check_store(settings: Settings) -> Path | None:
    """Open the store once and close it; for SQLite, check its pages and return its path.

    Run before any worker starts, so a missing, unreadable or damaged database is reported
    once, clearly, instead of failing every worker.
    """
    try:
        store = await open_store(settings.store, build_retention(settings))
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    try:
        if isinstance(store, SQLiteStore):
            await store.check()
            return store.path
        if isinstance(store, RedisStore):
            try:
                await store.check()
            except StoreFormatError:
                raise
            except StoreError as exc:
                # Serving through an outage is store_failure's call, not start-up's.
                get_logger().warning("store_unreachable_at_start", error=str(exc))
        return None
    finally:
        await store.close()


def serve(settings: Settings) -> int:
    """Run the gateway with `settings.workers` processes sharing one port; the exit status."""
    configure_logging(settings.log_format, settings.log_level)
    install_exception_hooks()
    log = get_logger()
    try:
        database = asyncio.run(_check_store(settings))
    except StoreError as exc:
        log.critical("startup_failed", error=str(exc))
        return 1
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
        _run_worker(settings)
        return 0
    # A worker asked to reload its rules passes the word to its siblings through this process.
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    # Workers share metrics through files in one directory: one scrape sees them all.
    if not os.environ.get(metrics.MULTIPROC_ENV):
        os.environ[metrics.MULTIPROC_ENV] = tempfile.mkdtemp(prefix="lastword-metrics-")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_run_worker, args=(settings,)) for _ in range(settings.workers)]
    for worker in workers:
        worker.start()

    def forward(signum: int, _frame: Any) -> None:
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                os.kill(worker.pid, signal.SIGTERM if signum == signal.SIGINT else signum)

    # SIGTERM/SIGINT stop every worker; SIGHUP (reload the rules) reaches every worker.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    for worker in workers:
        worker.join()
        if worker.pid is not None:
            prometheus_multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
    return 0 if all(worker.exitcode == 0 for worker in workers) else 1


def rules_test(directory: Path | None) -> int:
    """Load every pack, proving each rule by its examples; print a summary."""
    try:
        rules = load_rules(directory)
        crisis = load_directory(directory)
    except (RuleError, CrisisDirectoryError) as exc:
        print(f"lastword: rules refused: {exc}", file=sys.stderr)
        return 1
    table: dict[tuple[str, str], set[str]] = {}
    examples = 0
    for rule in rules.rules:
        table.setdefault((rule.kind, rule.category), set()).add(rule.lang)
        examples += len(rule.match) + len(rule.no_match)
    for (kind, category), langs in sorted(table.items()):
        count = sum(1 for r in rules.rules if r.category == category)
        print(f"{kind:8} {category:28} {count:3} rules  {','.join(sorted(langs))}")
    slow = [r.id for r in rules.rules if not r.keywords]
    if slow:
        print(f"note: {len(slow)} rules without keywords run on every text: {', '.join(slow)}")
    print(f"ok: {len(rules.rules)} rules, {examples} examples proven, version {rules.version}")
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
        )
        run_simulator(args.host, args.port, simulated)
        return 0
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"lastword: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        try:
            load_rules(settings.rules)
            load_directory(settings.rules)
        except (RuleError, CrisisDirectoryError) as exc:
            print(f"lastword: rules refused: {exc}", file=sys.stderr)
            return 2
        print("configuration ok")
        return 0
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
