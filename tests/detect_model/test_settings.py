"""The embedded model's settings: thresholds replaced at start, the model switched off,
mistakes refused before the gateway starts."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, load_settings
from gateway.detect import Flags, flag_turn
from gateway.startup import StartupError, load_packs


def test_thresholds_from_the_settings_replace_the_models() -> None:
    """`embedded_model.thresholds` reaches the loaded model, in every language."""
    settings = load_settings(
        {"embedded_model": {"thresholds": {"crisis": {"self_harm_suicide": 1.0}}}}, environ={}
    )
    model = load_packs(None, settings.embedded_model).rules.model
    assert model is not None
    assert model.thresholds["crisis"]["self_harm_suicide"] == 1.0
    assert all(
        "self_harm_suicide" not in levels.get("crisis", {}) for levels in model.by_language.values()
    )


def test_the_model_can_be_switched_off() -> None:
    """`enabled: false` runs the rule packs alone."""
    settings = load_settings({"embedded_model": {"enabled": False}}, environ={})
    rules = load_packs(None, settings.embedded_model).rules
    assert rules.model is None
    assert flag_turn(rules, "i dont wanna be here anymore tbh") == Flags()


def test_an_unknown_category_stops_the_start() -> None:
    """A misspelled category is refused at start, named, never ignored."""
    settings = load_settings(
        {"embedded_model": {"thresholds": {"harmful": {"csma": 0.5}}}}, environ={}
    )
    with pytest.raises(StartupError, match=r"harmful\.csma"):
        load_packs(None, settings.embedded_model)


@pytest.mark.parametrize(
    "value",
    [{"thresholds": {"alarm": {"csam": 0.5}}}, {"thresholds": {"harmful": {"csam": 1.5}}}],
)
def test_bad_settings_are_refused(value: object) -> None:
    """An unknown level or a threshold outside (0, 1] is a configuration error."""
    with pytest.raises(ConfigError, match="embedded_model"):
        load_settings({"embedded_model": value}, environ={})
