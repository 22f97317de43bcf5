"""Crisis redirect: localized helplines for the person, care guidance for the model."""

from __future__ import annotations

from gateway.crisis.directory import (
    HARM_TO_OTHERS,
    SELF_HARM,
    Country,
    CrisisDirectory,
    Fallback,
    JSONObject,
    Line,
    Texts,
)
from gateway.crisis.loader import CrisisDirectoryError, load_directory, parse_directory
from gateway.crisis.locale import Locale, parse_accept_language

__all__ = [
    "HARM_TO_OTHERS",
    "SELF_HARM",
    "Country",
    "CrisisDirectory",
    "CrisisDirectoryError",
    "Fallback",
    "JSONObject",
    "Line",
    "Locale",
    "Texts",
    "load_directory",
    "parse_accept_language",
    "parse_directory",
]
