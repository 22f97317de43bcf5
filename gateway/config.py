"""One typed settings object, read from defaults, a YAML file, `LASTWORD_*` and flags.

Settings are validated once, at start; an invalid value stops the gateway with a message
naming the setting, never a traceback.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.config_errors import sentences
from gateway.detect.classifier import ClassifierSettings
from gateway.detect.model import Level
from gateway.errors import GatewayError
from gateway.store.redis_connect import SCHEMES as REDIS_SCHEMES
from gateway.store.redis_connect import locate

ENV_PREFIX = "LASTWORD_"


class ConfigError(GatewayError):
    """The configuration is invalid; each problem is a sentence naming its setting."""

    def __init__(self, *problems: str) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class PolicySettings(BaseModel):
    """How conversations end."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: int = Field(3, ge=1)
    category_thresholds: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    lock_scope: Literal["path", "conversation"] = "path"
    # None: a mark stands for the rest of its path (see policy.Policy).
    crisis_turns: int | None = Field(None, ge=1)
    distress_turns: int | None = Field(None, ge=1)
    model_can_end: bool = True
    model_end_requires_flag: bool = True
    # Strikes a path needs for the model's own ending to stand (see policy.Policy).
    model_end_strikes: int = Field(3, ge=1)


class RetentionSettings(BaseModel):
    """How long state is kept, in days (null: forever)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strikes_days: float | None = Field(30.0, gt=0)
    endings_days: float | None = Field(None, gt=0)
    crisis_days: float | None = Field(1.0, gt=0)
    responses_days: float | None = Field(30.0, gt=0)


class CrisisSettings(BaseModel):
    """How people in crisis are redirected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country_header: str | None = None
    default_country: str | None = Field(None, min_length=2, max_length=2)
    actions: dict[str, list[Literal["guide", "resources"]]] = Field(default_factory=dict)


Threshold = Annotated[float, Field(gt=0, le=1)]


class ModelSettings(BaseModel):
    """The embedded classifier (docs/model-card.md): on or off, and thresholds that replace
    the model's own, by level (`crisis`, `distress`, `harmful`) and category."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    thresholds: dict[Level, dict[str, Threshold]] = Field(default_factory=dict)


class Settings(BaseModel):
    """Every setting of the gateway, with its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    metrics_port: int | None = Field(None, ge=0, le=65535)
    metrics_token: SecretStr | None = None
    anthropic_upstream: str = "https://api.anthropic.com"
    openai_upstream: str = "https://api.openai.com"
    store: str = "sqlite:///lastword.db"
    rules: Path | None = None
    admin_token: SecretStr | None = None
    shadow: bool = False
    # Also write the end signal and the helplines into the answer's text, for client apps
    # that show only the text (off by default: the fields are what apps should read).
    visible_notice: bool = False
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    # The largest upstream SSE event the gateway holds; a larger one ends the stream with
    # an in-stream error. Events are mostly small deltas, but a Responses stream carries
    # whole images in base64 (partial images, `output_item.done`) and its
    # `response.completed` echoes the whole output again, several images included: 16 MiB
    # lets those through while bounding what one runaway event can cost.
    max_event_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    connect_timeout: float = Field(10.0, gt=0)
    upstream_timeout: float = Field(600.0, gt=0)
    # A client has this long, from its headers, to send its whole request body.
    body_timeout: float = Field(30.0, gt=0)
    # A keep-alive connection with no request in flight is closed after this long.
    idle_timeout: float = Field(75.0, gt=0)
    tenant_header: str | None = None
    store_failure: Literal["open", "closed"] = "open"
    # A Redis store's connect and reply timeout: past it an operation is a store failure.
    store_timeout: float = Field(1.0, gt=0)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    crisis: CrisisSettings = Field(default_factory=CrisisSettings)
    classifier: ClassifierSettings | None = None
    embedded_model: ModelSettings = Field(default_factory=ModelSettings)
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # A busy worker's chat turns judged in a process of its own (`detect/handoff.py`):
    # `auto` when the workers are fewer than the cores this process may run on.
    judge_process: Literal["auto", "on", "off"] = "auto"

    @field_validator("anthropic_upstream", "openai_upstream")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str) -> str:
        schemes = ("sqlite", "memory", *REDIS_SCHEMES)
        if not value.lower().startswith(tuple(f"{scheme}://" for scheme in schemes)):
            raise ValueError(
                "must be sqlite:///path, redis://host:port/db, redis+cluster://host:port[,...],"
                " redis+sentinel://host:port[,...]/service_name[/db] or memory://"
            )
        if value.lower().startswith(tuple(f"{scheme}://" for scheme in REDIS_SCHEMES)):
            locate(value)  # a malformed cluster or sentinel URL: its ValueError says how
        return value

    @model_validator(mode="after")
    def _ports_apart(self) -> Settings:
        if self.metrics_port and self.metrics_port == self.port:
            raise ValueError(f"metrics_port: must differ from port ({self.port})")
        return self


def _env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    fields = Settings.model_fields
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX) :].lower()
            if name in fields:
                out[name] = value
    return out


def _file_values(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    return {str(k).replace("-", "_"): v for k, v in loaded.items()}


def load_settings(
    flags: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge defaults < config file < environment < flags, then validate once."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(_file_values(config_file))
    values.update(_env_values(os.environ if environ is None else environ))
    values.update({k: v for k, v in (flags or {}).items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError(*sentences(exc, Settings)) from None


def check_categories(settings: Settings, harmful: Collection[str], crisis: Collection[str]) -> None:
    """Refuse category names the detectors never report: a misspelled `csam` in
    `policy.category_thresholds` would silently lose its one-strike ending."""
    problems = [
        _unknown_category(f"policy.category_thresholds.{name}", name, harmful, crisis, "harmful")
        for name in settings.policy.category_thresholds
        if name not in harmful
    ]
    problems += [
        _unknown_category(f"crisis.actions.{name}", name, crisis, harmful, "crisis")
        for name in settings.crisis.actions
        if name not in crisis
    ]
    if problems:
        raise ConfigError(*problems)


def _unknown_category(
    key: str, name: str, known: Collection[str], other: Collection[str], kind: str
) -> str:
    names = ", ".join(sorted(known))
    if name in other:
        return f"{key}: {name!r} is not a {kind} category (known: {names})"
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"{key}: unknown category {name!r} ({hint}known: {names})"
