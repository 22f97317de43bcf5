"""The aiohttp application: routes, start-up and clean-up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway import metrics, reloads
from gateway.admin import add_admin_routes
from gateway.config import ConfigError, ModelSettings, Settings
from gateway.crisis import CrisisDirectory, CrisisDirectoryError, load_directory
from gateway.detect import RuleError, RuleSet, close_scans, load_rules
from gateway.detect.classifier import Classifier
from gateway.dialects import INSPECTED_ROUTES, Dialect
from gateway.inspection import Guard
from gateway.logs import get_logger
from gateway.metrics_endpoint import metrics_site, metrics_view
from gateway.policy import Policy
from gateway.proxy import Proxy
from gateway.redirect import Redirector
from gateway.routing import canonical_routing
from gateway.server import install, refuse_path
from gateway.startup import (
    OUTAGE_EFFECT,
    Packs,
    StartupError,
    cannot_listen,
    check_names,
    listen_problem,
    load_packs,
)
from gateway.store import Retention, Store, StoreError, open_store
from gateway.store.types import DAY
from gateway.upstream import Upstreams

SETTINGS = web.AppKey("settings", Settings)


@dataclass(slots=True)
class Runtime:
    """What exists only while the application runs: the open store and the proxy."""

    rules_dir: Path | None
    rules: RuleSet
    directory: CrisisDirectory
    store_failure: str = "open"
    model: ModelSettings = field(default_factory=ModelSettings)
    store: Store | None = None
    proxy: Proxy | None = None
    settings: Settings | None = None
    """The settings the rules must keep fitting (the categories they name), on reload too."""

    @classmethod
    def loaded(cls, settings: Settings, packs: Packs | None = None) -> Runtime:
        """The runtime of a gateway for `settings`, with its rules folder's `packs` (None:
        loaded here)."""
        packs = packs or load_packs(settings.rules, settings.embedded_model)
        return cls(
            settings.rules,
            packs.rules,
            packs.directory,
            settings.store_failure,
            settings.embedded_model,
            settings=settings,
        )

    @property
    def rules_version(self) -> str:
        """The version hash of the loaded rule packs."""
        return self.rules.version

    def running_proxy(self) -> Proxy:
        """The proxy; requests only arrive once start-up is done."""
        if self.proxy is None:
            raise RuntimeError("request before start-up")
        return self.proxy

    def reload_rules(self) -> RuleSet:
        """Load the rule packs again and swap them in; on error keep the old ones and raise.

        Requests in flight finish with the set they started with; no traffic is dropped.
        """
        try:
            rules = load_rules(self.rules_dir, self.model.enabled, self.model.thresholds)
            directory = load_directory(self.rules_dir)
            if self.settings is not None:
                # As at start: a category the settings name must still be reported.
                check_names(self.settings, rules)
        except (RuleError, CrisisDirectoryError, ConfigError) as exc:
            log.error("rules_reload_failed", error=str(exc), kept=self.rules.version)
            raise RuleError(str(exc)) from None
        self.rules, self.directory = rules, directory
        if self.proxy is not None:
            self.proxy.guard.rules = rules
            self.proxy.redirector = replace(self.proxy.redirector, directory=directory)
        metrics.set_info(rules.version, len(rules.rules))
        log.info("rules_reloaded", version=rules.version, rules=len(rules.rules))
        return rules

    def reload_everywhere(self) -> RuleSet:
        """Reload here, then have every sibling worker reload too (through the supervisor)."""
        rules = self.reload_rules()
        supervisor = os.environ.get(SUPERVISOR_ENV)
        if supervisor and supervisor.isdigit() and int(supervisor) == os.getppid():
            os.kill(int(supervisor), signal.SIGHUP)
        return rules

    def on_sighup(self) -> None:
        """SIGHUP: reload the rules (a broken pack is reported and the old set kept)."""
        with contextlib.suppress(RuleError):
            self.reload_rules()


log = get_logger("lastword.app")
# Set by `lastword serve --workers N` for its workers: the pid of the process that runs them.
SUPERVISOR_ENV = "LASTWORD_SUPERVISOR_PID"
UPSTREAMS = web.AppKey("upstreams", Upstreams)
RUNTIME = web.AppKey("runtime", Runtime)


async def healthz(_request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the upstream pool is open, the store answers, the rules are loaded.

    `status` is `ready`, `degraded` (serving, with `warnings` saying what is lost) or
    `not ready` (503).
    """
    runtime = request.app[RUNTIME]
    checks = {"upstreams": request.app[UPSTREAMS].started, "rules": bool(runtime.rules_version)}
    try:
        if runtime.store is None:
            raise StoreError("not open")
        await runtime.store.ping()
        checks["store"] = True
    except StoreError:
        checks["store"] = False
    # With store_failure: open the gateway serves through a store outage, so an outage
    # must not take every replica out of the Service at once: it stays ready, and says
    # loudly in its body that nothing is being enforced.
    required = [k for k in checks if k != "store" or runtime.store_failure == "closed"]
    ready = all(checks[k] for k in required)
    lost = OUTAGE_EFFECT[runtime.store_failure]
    warnings = [] if checks["store"] else [f"store unreachable: {lost}"]
    status = "degraded" if ready and warnings else "ready" if ready else "not ready"
    body = {"status": status, "checks": checks, "warnings": warnings}
    return web.json_response(body, status=200 if ready else 503)


def only(*methods: str) -> Handler:
    """A handler answering 405 (JSON, with `Allow`) to the methods a path does not serve."""

    async def refuse(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, methods)

    return refuse


async def elsewhere(_request: web.Request) -> web.StreamResponse:
    """`/metrics` on the main port when it is served on `metrics_port`: 404, not forwarded."""
    raise web.HTTPNotFound


def _on_signal(loop: asyncio.AbstractEventLoop, signum: int, handler: Callable[[], None]) -> bool:
    """Install a signal handler where the platform and thread allow one."""
    try:
        loop.add_signal_handler(signum, handler)
    except (NotImplementedError, RuntimeError, ValueError):
        return False
    return True


def coalesced(loop: asyncio.AbstractEventLoop, reload: Callable[[], None]) -> Callable[[], None]:
    """A handler that runs `reload` at the loop's next turn, once for all the signals that
    came before it runs: a burst of SIGHUPs reloads once, not once each, on the loop."""
    pending = False

    def run() -> None:
        nonlocal pending
        pending = False
        reload()

    def asked() -> None:
        nonlocal pending
        if not pending:
            pending = True
            loop.call_soon(run)

    return asked


def _listen_for_reloads(loop: asyncio.AbstractEventLoop, runtime: Runtime) -> bool:
    """Reload the rules on SIGHUP from now on, and now if one came while this process
    started (`reloads`); whether the handler could be installed."""
    installed = _on_signal(loop, signal.SIGHUP, coalesced(loop, runtime.on_sighup))
    if installed and reloads.asked():
        runtime.on_sighup()
    return installed


async def _metrics_site(settings: Settings) -> web.AppRunner:
    """The metrics server on `metrics_port`; a port it cannot listen on stops the start."""
    assert settings.metrics_port is not None
    try:
        return await metrics_site(settings)
    except OSError as exc:
        if not cannot_listen(exc):
            raise
        problem = listen_problem(exc, "metrics_port", settings.host, settings.metrics_port)
        raise StartupError(problem) from None


def build_policy(settings: Settings) -> Policy:
    """The policy object for the configured settings."""
    return Policy(
        threshold=settings.policy.threshold,
        category_thresholds=dict(settings.policy.category_thresholds),
        lock_scope=settings.policy.lock_scope,
        shadow=settings.shadow,
        crisis_turns=settings.policy.crisis_turns,
        distress_turns=settings.policy.distress_turns,
        model_end_requires_flag=settings.policy.model_end_requires_flag,
        model_end_strikes=settings.policy.model_end_strikes,
    )


def build_retention(settings: Settings) -> Retention:
    """Retention in seconds for the configured days."""
    r = settings.retention

    def seconds(days: float | None) -> float | None:
        return None if days is None else days * DAY

    return Retention(
        strikes=seconds(r.strikes_days),
        endings=seconds(r.endings_days),
        crisis=seconds(r.crisis_days),
        responses=seconds(r.responses_days),
    )


def create_app(
    settings: Settings, store: Store | None = None, packs: Packs | None = None
) -> web.Application:
    """Build the gateway application for `settings` (with `store` instead of opening one,
    and `packs` already loaded instead of loading the rules folder)."""
    # Request bodies reach the handlers as sent: the proxy decodes and bounds them itself
    # (gateway.request_body), so that a bad one is answered in the caller's format, and
    # passthrough forwards them as is. aiohttp's own limit still bounds what it reads whole.
    # A client that goes away does not cancel its handler (aiohttp's default for servers,
    # stated here so that every runner, tests' included, behaves the same): the handler sees
    # the disconnect, and counts and records what happened.
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        handler_args={
            "auto_decompress": False,
            "keepalive_timeout": settings.idle_timeout,
            "handler_cancellation": False,
        },
    )
    app[SETTINGS] = settings
    upstreams = app[UPSTREAMS] = Upstreams(settings)
    runtime = app[RUNTIME] = Runtime.loaded(settings, packs)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        own_store = store is None
        opened = store or await open_store(
            settings.store, build_retention(settings), redis_timeout=settings.store_timeout
        )
        runtime.store = opened
        classifier = Classifier(settings.classifier) if settings.classifier else None
        if classifier is not None:
            await classifier.start()
        guard = Guard(
            opened,
            runtime.rules,
            build_policy(settings),
            store_failure=settings.store_failure,
            tenant_header=settings.tenant_header,
            classifier=classifier,
        )
        crisis = settings.crisis
        redirector = Redirector(
            runtime.directory,
            {category: tuple(actions) for category, actions in crisis.actions.items()},
            country_header=crisis.country_header,
            default_country=crisis.default_country,
        )
        runtime.proxy = Proxy(settings, upstreams, guard, redirector)
        metrics.set_info(runtime.rules.version, len(runtime.rules.rules))
        side = await _metrics_site(settings) if settings.metrics_port is not None else None
        loop = asyncio.get_running_loop()
        hangup = _listen_for_reloads(loop, runtime)
        await upstreams.start()
        yield
        if hangup:
            loop.remove_signal_handler(signal.SIGHUP)
        # The scanning process of this worker (`detect.offloop`) stops with it.
        await asyncio.gather(upstreams.close(), close_scans())
        if classifier is not None:
            await classifier.close()
        if side is not None:
            await side.cleanup()
        if own_store:
            await opened.close()

    async def inspected(request: web.Request, dialect: Dialect) -> web.StreamResponse:
        return await runtime.running_proxy().inspected(request, dialect)

    async def passthrough(request: web.Request) -> web.StreamResponse:
        return await runtime.running_proxy().passthrough(request)

    app.cleanup_ctx.append(lifecycle)
    install(app)
    # Innermost: every handler below sees the request under its canonical path only.
    app.middlewares.append(canonical_routing(refuse_path))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    own = ["/healthz", "/readyz"]
    if settings.metrics_port is None:
        app.router.add_get("/metrics", metrics_view(settings))
        own.append("/metrics")
    else:
        app.router.add_route("*", "/metrics", elsewhere)
    # The gateway's own paths are never forwarded, whatever the method.
    for path in own:
        app.router.add_route("*", path, only("GET", "HEAD"))
    for path, dialect in INSPECTED_ROUTES.items():
        app.router.add_post(path, partial(inspected, dialect=dialect))
        # A CORS preflight goes on to the upstream; any other method is no chat call.
        app.router.add_route("OPTIONS", path, passthrough)
        app.router.add_route("*", path, only("POST", "OPTIONS"))
    add_admin_routes(app.router, settings, runtime)
    app.router.add_route("*", "/{tail:.*}", passthrough)
    return app
