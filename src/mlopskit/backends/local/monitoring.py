"""The local scheduler's metadata: monitoring schedules and approval triggers in SQLite.

Tables are created on first use, beside the backend's own, in the same database file; every
write is one short transaction, so a scheduler process and a notebook can share a store.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from ...clock import Clock
from ...errors import ConflictError, NotFoundError
from ...sagemaker_api.cadence import Cadence
from ...specs.monitoring import MonitoringScheduleSpec
from .store import Store, dumps

__all__ = ["LocalMonitoringStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS monitoring_schedules (
    name TEXT PRIMARY KEY, monitor_type TEXT NOT NULL, definition TEXT NOT NULL,
    every_hours INTEGER NOT NULL, status TEXT NOT NULL, next_due TEXT NOT NULL,
    last_run TEXT, last_status TEXT, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS approval_triggers (
    name TEXT PRIMARY KEY, definition TEXT NOT NULL, last_version INTEGER NOT NULL,
    status TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trigger_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, trigger_name TEXT NOT NULL, at TEXT NOT NULL,
    version INTEGER NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);
"""


def _iso(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).isoformat()


class LocalMonitoringStore:
    """Rows for schedules (``mlopskit monitor run`` reads them) and approval triggers: the
    local backend's ``monitoring`` (schedule verbs) and ``scheduler`` (what the Python
    scheduler reads and claims)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        with store.transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    # -- schedules ----------------------------------------------------------------------

    def create_schedule(self, spec: MonitoringScheduleSpec) -> None:
        """A schedule the local scheduler runs, first due at the next period boundary on the
        backend's clock (``spec.job`` is SageMaker's part: not used here)."""
        now = self.clock.now()
        name, monitor_type, definition = spec.name, spec.monitor_type, spec.definition
        every_hours = spec.every_hours
        next_due, created = Cadence(hours=every_hours).next_due(now), now
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM monitoring_schedules WHERE name = ?",
                          (name,)).fetchone():
                raise ConflictError(f"monitoring schedule {name!r} already exists; delete it "
                                    "first or pick another name")
            db.execute("INSERT INTO monitoring_schedules (name, monitor_type, definition, "
                       "every_hours, status, next_due, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (name, monitor_type, dumps(definition), every_hours, "Scheduled",
                        _iso(next_due), _iso(created)))

    def describe_schedule(self, name: str) -> dict[str, Any]:
        row = self.schedule(name)
        row.pop("definition")
        return row

    def list_schedules(self) -> list[str]:
        return [r["name"] for r in self.store.query_all(
            "SELECT name FROM monitoring_schedules ORDER BY name")]

    def schedules(self) -> list[dict[str, Any]]:
        return [self._schedule(row) for row in self.store.query_all(
            "SELECT * FROM monitoring_schedules ORDER BY name")]

    def schedule(self, name: str) -> dict[str, Any]:
        row = self.store.query_one("SELECT * FROM monitoring_schedules WHERE name = ?",
                                   (name,))
        if row is None:
            raise NotFoundError(f"monitoring schedule {name!r} does not exist on the local "
                                "backend")
        return self._schedule(row)

    @staticmethod
    def _schedule(row: Any) -> dict[str, Any]:
        return {"name": row["name"], "monitor_type": row["monitor_type"],
                "definition": json.loads(row["definition"]),
                "every_hours": row["every_hours"], "status": row["status"],
                "next_due": _dt.datetime.fromisoformat(row["next_due"]),
                "last_run": row["last_run"], "last_status": row["last_status"],
                "created": _dt.datetime.fromisoformat(row["created"])}

    def claim_due(self, name: str, due: _dt.datetime, next_due: _dt.datetime) -> bool:
        """Move ``name``'s next due time from ``due`` to ``next_due``; False when another
        scheduler got there first (so one due run happens once)."""
        with self.store.transaction() as db:
            cursor = db.execute("UPDATE monitoring_schedules SET next_due = ? WHERE name = ? "
                                "AND next_due = ? AND status = 'Scheduled'",
                                (_iso(next_due), name, _iso(due)))
            return cursor.rowcount == 1

    def record_run(self, name: str, run_id: str, status: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE monitoring_schedules SET last_run = ?, last_status = ? "
                       "WHERE name = ?", (run_id, status, name))

    def set_schedule_status(self, name: str, status: str) -> None:
        self.schedule(name)
        with self.store.transaction() as db:
            db.execute("UPDATE monitoring_schedules SET status = ? WHERE name = ?",
                       (status, name))

    def delete_schedule(self, name: str) -> None:
        self.schedule(name)
        with self.store.transaction() as db:
            db.execute("DELETE FROM monitoring_schedules WHERE name = ?", (name,))

    # -- approval triggers --------------------------------------------------------------

    def create_trigger(self, name: str, definition: dict[str, Any], last_version: int,
                       created: _dt.datetime) -> None:
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM approval_triggers WHERE name = ?",
                          (name,)).fetchone():
                raise ConflictError(f"approval trigger {name!r} already exists; delete it "
                                    "first or pick another name")
            db.execute("INSERT INTO approval_triggers VALUES (?, ?, ?, ?, ?)",
                       (name, dumps(definition), last_version, "Enabled", _iso(created)))

    def triggers(self) -> list[dict[str, Any]]:
        return [{"name": r["name"], "definition": json.loads(r["definition"]),
                 "last_version": r["last_version"], "status": r["status"],
                 "created": _dt.datetime.fromisoformat(r["created"])}
                for r in self.store.query_all("SELECT * FROM approval_triggers ORDER BY name")]

    def trigger(self, name: str) -> dict[str, Any]:
        for found in self.triggers():
            if found["name"] == name:
                return found
        raise NotFoundError(f"approval trigger {name!r} does not exist on the local backend")

    def claim_version(self, name: str, previous: int, version: int) -> bool:
        with self.store.transaction() as db:
            cursor = db.execute("UPDATE approval_triggers SET last_version = ? WHERE name = ? "
                                "AND last_version = ?", (version, name, previous))
            return cursor.rowcount == 1

    def add_event(self, name: str, at: _dt.datetime, version: int, outcome: str,
                  detail: dict[str, Any]) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO trigger_events (trigger_name, at, version, outcome, "
                       "detail) VALUES (?, ?, ?, ?, ?)",
                       (name, _iso(at), version, outcome, dumps(detail)))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [{"trigger": r["trigger_name"], "at": _dt.datetime.fromisoformat(r["at"]),
                 "version": r["version"], "outcome": r["outcome"],
                 "detail": json.loads(r["detail"])}
                for r in self.store.query_all("SELECT * FROM trigger_events WHERE "
                                              "trigger_name = ? ORDER BY id", (name,))]

    def delete_trigger(self, name: str) -> None:
        self.trigger(name)
        with self.store.transaction() as db:
            db.execute("DELETE FROM approval_triggers WHERE name = ?", (name,))
