"""A refused changelog record marks the local tables stale; the next start drops them
(streams/worker/changelog.py)."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs

from streams.worker.changelog import STALE_MARK, drop_if_stale, mark_stale


def _tables(root: Path) -> Path:
    tables = root / "v1" / "tables"
    (tables / "dossiers-0.db").mkdir(parents=True)
    (tables / "dossiers-0.db" / "CURRENT").write_text("x")
    return tables


def test_unmarked_tables_are_kept(tmp_path: Path) -> None:
    """With no mark, a start keeps the tables it finds."""
    tables = _tables(tmp_path)
    assert drop_if_stale(tmp_path, tables) is False
    assert (tables / "dossiers-0.db" / "CURRENT").exists()


def test_marked_tables_are_dropped_once_and_said_so(tmp_path: Path) -> None:
    """A marked start drops the tables, removes the mark, and says so in one line; the
    start after it keeps what the restore wrote."""
    tables = _tables(tmp_path)
    mark_stale(tmp_path)
    assert (tmp_path / STALE_MARK).exists()
    with capture_logs() as logs:
        assert drop_if_stale(tmp_path, tables) is True
    assert not tables.exists() and not (tmp_path / STALE_MARK).exists()
    assert [e["log_level"] for e in logs] == ["warning"]
    restored = _tables(tmp_path)
    assert drop_if_stale(tmp_path, restored) is False
    assert restored.exists()


def test_a_mark_in_a_folder_not_made_yet_is_kept(tmp_path: Path) -> None:
    """Marking creates the app's data folder if a fresh worker had none yet."""
    folder = tmp_path / "app"
    mark_stale(folder)
    assert (folder / STALE_MARK).exists()
