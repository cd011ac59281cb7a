"""The local model registry: groups and versions in SQLite.

A version number is taken inside the same ``BEGIN IMMEDIATE`` transaction that inserts the
row, so concurrent writers (threads or processes) queue on SQLite's write lock and get
1, 2, 3, ... with no gap and no duplicate; a writer killed mid-way leaves nothing, because
its transaction never commits.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections.abc import Iterator
from typing import Any

from ...clock import Clock
from ...errors import ConflictError, NotFoundError
from ...specs.registry import (
    ApprovalStatus,
    GroupRecord,
    HistoryEntry,
    ModelPackageSpec,
    PackageRecord,
)
from .store import Store, dumps

__all__ = ["LocalRegistry", "record_from_json", "record_to_json"]


def record_to_json(record: PackageRecord) -> str:
    return dumps(record.to_dict())


def record_from_json(text: str) -> PackageRecord:
    return PackageRecord.from_dict(json.loads(text))


class LocalRegistry:
    """Registry verbs over the local store."""

    def __init__(self, store: Store, *, region: str, account: str, clock: Clock) -> None:
        self.store = store
        self.region = region
        self.account = account
        self.clock = clock

    def _group_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:model-package-group/{name}"

    def _package_arn(self, group: str, version: int) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:model-package/{group}/{version}"

    @staticmethod
    def _group(row: Any) -> GroupRecord:
        return GroupRecord(name=row["name"], arn=row["arn"], description=row["description"],
                           creation_time=_dt.datetime.fromisoformat(row["created"]))

    def get_group(self, name: str) -> GroupRecord:
        row = self.store.query_one("SELECT * FROM model_package_groups WHERE name = ?", (name,))
        if row is None:
            raise NotFoundError(f"model package group {name!r} does not exist")
        return self._group(row)

    def create_group(self, name: str, description: str | None,
                     tags: dict[str, str]) -> GroupRecord:
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM model_package_groups WHERE name = ?",
                          (name,)).fetchone():
                raise ConflictError(f"model package group {name!r} already exists")
            db.execute("INSERT INTO model_package_groups (name, arn, description, tags, created)"
                       " VALUES (?, ?, ?, ?, ?)", (name, self._group_arn(name), description,
                                                   dumps(tags), self.clock.now().isoformat()))
        return self.get_group(name)

    def list_groups(self) -> list[GroupRecord]:
        rows = self.store.query_all("SELECT * FROM model_package_groups ORDER BY name")
        return [self._group(r) for r in rows]

    def delete_group(self, name: str) -> None:
        with self.store.transaction() as db:
            deleted = db.execute("DELETE FROM model_package_groups WHERE name = ?", (name,))
            if deleted.rowcount == 0:
                raise NotFoundError(f"model package group {name!r} does not exist")

    def register(self, spec: ModelPackageSpec, entry: HistoryEntry) -> PackageRecord:
        now = self.clock.now()
        with self.store.transaction() as db:
            if not db.execute("SELECT 1 FROM model_package_groups WHERE name = ?",
                              (spec.group,)).fetchone():
                raise NotFoundError(f"model package group {spec.group!r} does not exist; "
                                    "create it first")
            version = int(db.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM model_packages WHERE group_name = ?",
                (spec.group,)).fetchone()[0])
            record = PackageRecord(
                group=spec.group, version=version, arn=self._package_arn(spec.group, version),
                approval_status=spec.approval_status, model=spec.model,
                metrics=dict(spec.metrics), metadata=dict(spec.metadata),
                lineage=dict(spec.lineage), history=(entry,), description=spec.description,
                content_types=spec.content_types, response_types=spec.response_types,
                inference_instance_types=spec.inference_instance_types, creation_time=now,
                transform_instance_types=spec.transform_instance_types)
            db.execute("INSERT INTO model_packages (group_name, version, arn, status, record,"
                       " created) VALUES (?, ?, ?, ?, ?, ?)",
                       (spec.group, version, record.arn, record.approval_status.value,
                        record_to_json(record), now.isoformat()))
        return record

    def get_package(self, group: str, version: int) -> PackageRecord:
        row = self.store.query_one(
            "SELECT record FROM model_packages WHERE group_name = ? AND version = ?",
            (group, version))
        if row is None:
            self.get_group(group)
            raise NotFoundError(f"model package {group!r} version {version} does not exist")
        return record_from_json(row["record"])

    def list_packages(self, group: str, status: ApprovalStatus | None = None,
                      newest_first: bool = True, page_size: int = 500
                      ) -> Iterator[PackageRecord]:
        self.get_group(group)
        order = "DESC" if newest_first else "ASC"
        clause = " AND status = ?" if status is not None else ""
        params: tuple[Any, ...] = (group, status.value) if status is not None else (group,)
        last: int | None = None
        while True:
            keyset = ""
            if last is not None:
                keyset = " AND version < ?" if newest_first else " AND version > ?"
            rows = self.store.query_all(
                f"SELECT version, record FROM model_packages WHERE group_name = ?{clause}"  # noqa: S608
                f"{keyset} ORDER BY version {order} LIMIT ?",
                (*params, *(() if last is None else (last,)), page_size))
            for row in rows:
                yield record_from_json(row["record"])
            if len(rows) < page_size:
                return
            last = int(rows[-1]["version"])

    def latest(self, group: str, status: ApprovalStatus | None) -> PackageRecord | None:
        self.get_group(group)
        if status is None:
            row = self.store.query_one("SELECT record FROM model_packages WHERE group_name = ?"
                                       " ORDER BY version DESC LIMIT 1", (group,))
        else:
            row = self.store.query_one(
                "SELECT record FROM model_packages WHERE group_name = ? AND status = ? "
                "ORDER BY version DESC LIMIT 1", (group, status.value))
        return None if row is None else record_from_json(row["record"])

    def update_package(self, group: str, version: int, *, expected: ApprovalStatus,
                       status: ApprovalStatus, metadata: dict[str, str],
                       entry: HistoryEntry | None) -> PackageRecord:
        """Write a new state, but only if nobody changed the status since it was read."""
        with self.store.transaction() as db:
            row = db.execute("SELECT record FROM model_packages WHERE group_name = ? AND "
                             "version = ?", (group, version)).fetchone()
            if row is None:
                raise NotFoundError(f"model package {group!r} version {version} does not exist")
            current = record_from_json(row["record"])
            if current.approval_status != expected:
                raise ConflictError(
                    f"model package {group!r} version {version} changed to "
                    f"{current.approval_status.value} meanwhile; read it again and retry")
            history = current.history + ((entry,) if entry is not None else ())
            updated = dataclasses.replace(current, approval_status=status, metadata=metadata,
                                          history=history)
            db.execute("UPDATE model_packages SET status = ?, record = ? WHERE group_name = ? "
                       "AND version = ?", (status.value, record_to_json(updated), group,
                                          version))
        return updated
