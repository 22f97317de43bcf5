"""YAML texts read with libyaml's parser when PyYAML was built with it.

The rule packs take about a third of a second to read with the pure Python parser, and a
hundredth with libyaml's, on every gateway start and reload. A text that libyaml cannot
parse is read again by the pure parser: its error quotes the line at fault.
"""

from __future__ import annotations

from typing import Any

import yaml


def safe_load(text: str) -> Any:
    """The data of one YAML document, as `yaml.safe_load` reads it; raise yaml.YAMLError."""
    if yaml.__with_libyaml__:
        try:
            return yaml.load(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)
