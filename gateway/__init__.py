"""Lastword: a safety gateway for LLM APIs."""

from __future__ import annotations

# The one definition of the version: pyproject.toml reads it from here (a dynamic field),
# so the wheel's metadata, `lastword --version` and lastword_build_info always agree.
__version__ = "0.1.0"
