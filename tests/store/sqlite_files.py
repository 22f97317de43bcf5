"""Real SQLite store files for tests that damage them."""

from __future__ import annotations

from pathlib import Path

from gateway.store import sqlite_schema
from gateway.store.types import Strike


def filled_database(path: Path) -> bytes:
    """Write a real store file with enough rows to span many pages; return its bytes."""
    conn = sqlite_schema.connect(path)
    conn.execute("BEGIN")
    conn.executemany(
        sqlite_schema.INSERT[Strike],
        [
            sqlite_schema.row(Strike("t", f"conv_{i}", f"fp{i}", "weapons", "rule", float(i)))
            for i in range(3000)
        ],
    )
    conn.execute("COMMIT")
    conn.close()
    return path.read_bytes()
