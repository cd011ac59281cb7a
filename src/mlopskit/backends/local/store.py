"""The local backend's metadata: one SQLite database, safe under concurrent processes.

WAL mode lets readers run beside a writer; every write is a short ``BEGIN IMMEDIATE``
transaction, so two processes never interleave half-done changes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import BackendError
from ._modes import make_private

__all__ = ["Store"]

SCHEMA_VERSION = 4

# Columns added since version 1, by the version that added them: a store an older mlopskit
# made gains them on open (tables it lacks are created whole by the schema below).
_ADDED_COLUMNS: dict[int, tuple[tuple[str, str, str], ...]] = {
    2: (("transform_jobs", "started", "TEXT"),),
    # Who runs a job (pid + start time, see _processes.py), so a dead one is noticed.
    3: (("training_jobs", "supervisor_start", "INTEGER"),
        ("processing_jobs", "supervisor_start", "INTEGER"),
        ("transform_jobs", "owner_pid", "INTEGER"),
        ("transform_jobs", "owner_start", "INTEGER"),
        ("transform_jobs", "servers", "TEXT NOT NULL DEFAULT '[]'")),
    # Who creates an endpoint: one left Creating by a dead process is noticed and settled.
    4: (("endpoints", "owner_pid", "INTEGER"), ("endpoints", "owner_start", "INTEGER")),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS training_jobs (
    name TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    status TEXT NOT NULL,
    secondary_status TEXT NOT NULL,
    failure_reason TEXT,
    spec TEXT NOT NULL,
    region TEXT NOT NULL,
    model_data TEXT,
    output_data TEXT,
    metrics TEXT NOT NULL DEFAULT '[]',
    transitions TEXT NOT NULL DEFAULT '[]',
    supervisor_pid INTEGER,
    host_pids TEXT NOT NULL DEFAULT '[]',
    stop_requested INTEGER NOT NULL DEFAULT 0,
    job_dir TEXT NOT NULL,
    created TEXT NOT NULL,
    started TEXT,
    ended TEXT,
    supervisor_start INTEGER
);
CREATE TABLE IF NOT EXISTS model_package_groups (
    name TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS model_packages (
    group_name TEXT NOT NULL REFERENCES model_package_groups(name) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    arn TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (group_name, version)
);
CREATE INDEX IF NOT EXISTS model_packages_by_status
    ON model_packages (group_name, status, version);
CREATE TABLE IF NOT EXISTS models (
    name TEXT PRIMARY KEY, spec TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoint_configs (
    name TEXT PRIMARY KEY, spec TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY, config_name TEXT NOT NULL, status TEXT NOT NULL,
    failure_reason TEXT, servers TEXT NOT NULL DEFAULT '{}', weights TEXT NOT NULL,
    pending TEXT, created TEXT NOT NULL, owner_pid INTEGER, owner_start INTEGER);
CREATE TABLE IF NOT EXISTS processing_jobs (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, status TEXT NOT NULL, failure_reason TEXT,
    exit_message TEXT, spec TEXT NOT NULL, region TEXT NOT NULL,
    supervisor_pid INTEGER, host_pids TEXT NOT NULL DEFAULT '[]',
    stop_requested INTEGER NOT NULL DEFAULT 0, job_dir TEXT NOT NULL, created TEXT NOT NULL,
    started TEXT, ended TEXT, supervisor_start INTEGER);
CREATE TABLE IF NOT EXISTS transform_jobs (
    name TEXT PRIMARY KEY, spec TEXT NOT NULL, status TEXT NOT NULL, failure_reason TEXT,
    outputs TEXT, records INTEGER, created TEXT NOT NULL, ended TEXT, started TEXT,
    owner_pid INTEGER, owner_start INTEGER, servers TEXT NOT NULL DEFAULT '[]');
"""


class Store:
    """A thin, typed wrapper over the SQLite file at ``path``.

    Connections are per thread (sqlite3 objects must not cross threads).

    Example:
        >>> import tempfile
        >>> store = Store(Path(tempfile.mkdtemp()) / "meta.db")
        >>> with store.transaction() as db:
        ...     _ = db.execute("INSERT INTO meta VALUES ('k', 'v')")
        >>> store.query_one("SELECT value FROM meta WHERE key = ?", ("k",))["value"]
        'v'
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        make_private(self.path.parent, self.path)  # the folder holding it is the store's root
        self._local = threading.local()
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")  # one process creates or migrates; others wait
        try:
            found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'meta'").fetchone()
            version = SCHEMA_VERSION
            if found is not None:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                                   ).fetchone()
                version = int(row["value"]) if row else 1
            if version > SCHEMA_VERSION:
                raise BackendError(f"the local store at {path} has schema version {version}; "
                                   f"this mlopskit reads up to {SCHEMA_VERSION}: upgrade it")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for table, column, kind in _ADDED_COLUMNS.get(target, ()):
                    have = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
                    if column not in have:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken up front so concurrent writers queue instead of fail."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def query_one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._connection().execute(sql, params).fetchone()
        return row

    def query_all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self._connection().execute(sql, params).fetchall())

    def integrity_problems(self) -> list[str]:
        """What SQLite's own checks find wrong with the file (``PRAGMA integrity_check``
        and ``foreign_key_check``); empty when it is sound."""
        conn = self._connection()
        found = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        problems = [] if found == ["ok"] else found
        problems += [f"table {row[0]} row {row[1]} points at a missing {row[2]} row"
                     for row in conn.execute("PRAGMA foreign_key_check")]
        return problems

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def dumps(value: Any) -> str:
    """JSON for a column (compact, stable key order)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
