"""A SQLite file that is not a database, or is damaged, is a StoreError naming its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.store import SQLiteStore, StoreError, open_store
from gateway.store import sqlite_schema as sql
from tests.store.sqlite_files import filled_database


async def test_a_text_file_is_refused_with_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative URL to a file that is not SQLite: the error names the absolute path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.db").write_text("not a database\n" * 100)
    with pytest.raises(StoreError, match=f"at {tmp_path / 'notes.db'}: file is not a database"):
        await open_store("sqlite:///notes.db")


async def test_damage_past_the_schema_is_found_by_the_check(tmp_path: Path) -> None:
    """A file whose later pages are garbled opens, and `check` reports it damaged."""
    sound = filled_database(tmp_path / "sound.db")
    damaged = bytearray(sound)
    for i in range(len(damaged) // 2, len(damaged), 3):
        damaged[i] ^= 0x5A
    (tmp_path / "damaged.db").write_bytes(bytes(damaged))
    store = await SQLiteStore.open(tmp_path / "damaged.db")
    try:
        with pytest.raises(StoreError, match=f"at {tmp_path / 'damaged.db'} is damaged: "):
            await store.check()
    finally:
        await store.close()


async def test_a_sound_file_passes_the_check(tmp_path: Path) -> None:
    """`check` on a healthy file returns; the store knows its absolute path."""
    filled_database(tmp_path / "sound.db")
    store = await SQLiteStore.open(tmp_path / "sound.db")
    try:
        await store.check()
        assert store.path == tmp_path / "sound.db"
    finally:
        await store.close()


async def test_a_non_numeric_schema_version_is_refused(tmp_path: Path) -> None:
    """A schema_version row that is not a number is a clear error, not a TypeError."""
    conn = sql.connect(tmp_path / "odd.db")
    conn.execute("UPDATE schema_version SET version = 'two'")
    conn.close()
    with pytest.raises(StoreError, match="schema version 'two' is not a number"):
        await SQLiteStore.open(tmp_path / "odd.db")
