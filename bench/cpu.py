"""CPU time of a server and everything it started, read from /proc (Linux only).

Requests per second move with whatever else the machine is doing; the CPU a server spends
per request moves far less, so it is the number capacity is planned from.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def group_cpu_seconds(pgid: int) -> float:
    """User plus system CPU seconds of every live process in process group `pgid`."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended while the directory was read
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


def available() -> bool:
    """Whether CPU time can be read here."""
    return Path("/proc/self/stat").exists()
