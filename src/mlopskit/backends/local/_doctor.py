"""The local store's health check (``mlopskit doctor``): SQLite's own integrity check, a
describe pass that settles whatever a dead process left running, then mlopskit's
invariants.

After the pass, nothing may be ``InProgress``/``Executing`` with a dead owner, no ended job
may have a host still running, no endpoint in service may point at a server that is gone,
and every model package group's versions run 1..N with no gap.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..base import StoreReport
from ._processes import parse_recorded, running, runs_with

if TYPE_CHECKING:
    from .backend import LocalBackend

__all__ = ["check_store"]

_JOB_TABLES = (("training", "training_jobs", "supervisor"),
               ("processing", "processing_jobs", "supervisor"))


def _has_table(backend: LocalBackend, name: str) -> bool:
    return backend.store.query_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                   "name = ?", (name,)) is not None


def check_store(backend: LocalBackend) -> StoreReport:
    """Check ``backend``'s store, settling what dead processes left first (see module)."""
    root = str(backend.root)
    try:
        integrity = backend.store.integrity_problems()
    except sqlite3.DatabaseError as exc:
        integrity = [f"metadata.db cannot be read: {exc}"]
    if integrity:
        return StoreReport(root, integrity, [], [], [])
    settled, problems = _describe_pass(backend)
    problems += (_owner_problems(backend) + _step_problems(backend)
                + _endpoint_problems(backend) + _registry_problems(backend))
    leftovers = sorted(str(p) for p in (backend.root / "s3").rglob(".upload-*"))
    return StoreReport(root, integrity, settled, problems, leftovers)


def _describe_pass(backend: LocalBackend) -> tuple[list[str], list[str]]:
    """Describe everything still running (a describe fails what a dead process left): what
    changed, and what could not be described at all."""
    settled: list[str] = []
    problems: list[str] = []

    def look(what: str, before: str, describe: Callable[[], Any]) -> None:
        try:
            found = describe()
        except Exception as exc:  # a row this mlopskit cannot read: say so, go on
            problems.append(f"{what} cannot be described: {type(exc).__name__}: {exc}")
            return
        if found.status != before:
            settled.append(f"{what}: {found.status}: {found.failure_reason}")

    for kind, table, _ in _JOB_TABLES:
        describe = (backend.describe_training_job if kind == "training"
                    else backend.describe_processing_job)
        for row in backend.store.query_all(
                f"SELECT name, status FROM {table} WHERE status IN ('InProgress', "  # noqa: S608
                "'Stopping')"):
            look(f"{kind} job {row['name']}", row["status"],
                 functools.partial(describe, row["name"]))
    serving = backend.serving
    for row in backend.store.query_all(
            "SELECT name, status FROM transform_jobs WHERE status = 'InProgress'"):
        look(f"transform job {row['name']}", row["status"],
             functools.partial(serving.describe_transform_job, row["name"]))
    for row in backend.store.query_all(
            "SELECT name, status FROM endpoints WHERE status IN ('Creating', 'InService', "
            "'Updating')"):
        look(f"endpoint {row['name']}", row["status"],
             functools.partial(serving.describe_endpoint, row["name"]))
    if _has_table(backend, "pipeline_executions"):
        from .pipelines import LocalPipelines

        engine = LocalPipelines(backend)
        for row in backend.store.query_all("SELECT arn, status FROM pipeline_executions "
                                           "WHERE status IN ('Executing', 'Stopping')"):
            look(f"pipeline execution {row['arn']}", row["status"],
                 functools.partial(engine.describe_execution, row["arn"]))
    return settled, problems


@dataclasses.dataclass(frozen=True)
class _Owned:
    """Rows that a process owns while they are active, and that may record child processes
    (hosts, inference servers) which must be gone once they end."""

    what: str  # how a problem names a row: "training job", "pipeline execution"
    table: str
    key: str  # the column naming a row
    owner: str  # the owner's columns: <owner>_pid, <owner>_start
    active: tuple[str, ...]
    children: str | None = None  # the column of recorded child processes
    child: str = ""  # how a problem names a child: "host process"


_OWNED = (
    *(_Owned(f"{kind} job", table, "name", owner, ("InProgress", "Stopping"), "host_pids",
             "host process") for kind, table, owner in _JOB_TABLES),
    _Owned("transform job", "transform_jobs", "name", "owner", ("InProgress",), "servers",
           "inference server"),
    _Owned("pipeline execution", "pipeline_executions", "arn", "owner",
           ("Executing", "Stopping")),
)


def _owner_problems(backend: LocalBackend) -> list[str]:
    """Active rows whose owner is gone, and ended rows whose children still run."""
    problems = []
    for owned in _OWNED:
        if not _has_table(backend, owned.table):
            continue
        children = f", {owned.children}" if owned.children else ""
        for row in backend.store.query_all(
                f"SELECT {owned.key} AS id, status, {owned.owner}_pid AS pid, "  # noqa: S608
                f"{owned.owner}_start AS start{children} FROM {owned.table}"):
            if row["status"] in owned.active:
                if row["pid"] is not None and not running(row["pid"], row["start"]):
                    problems.append(f"{owned.what} {row['id']} is {row['status']} but the "
                                    f"process running it (pid {row['pid']}) is gone")
            elif owned.children:
                for pid, start in parse_recorded(row[owned.children]):
                    if start is not None and running(pid, start):
                        problems.append(f"{owned.what} {row['id']} ended {row['status']} but "
                                        f"its {owned.child} {pid} still runs")
    return problems


def _step_problems(backend: LocalBackend) -> list[str]:
    if not _has_table(backend, "pipeline_executions"):
        return []
    return [f"step {row['name']} of ended pipeline execution {row['execution']} is still "
            "Executing" for row in backend.store.query_all(
                "SELECT s.execution, s.name FROM pipeline_steps s JOIN pipeline_executions e "
                "ON e.arn = s.execution WHERE s.status = 'Executing' AND e.status NOT IN "
                "('Executing', 'Stopping')")]


def _endpoint_problems(backend: LocalBackend) -> list[str]:
    problems = []
    folder = backend.root / "endpoints"
    for row in backend.store.query_all("SELECT name, status, servers, pending FROM endpoints "
                                       "WHERE status IN ('InService', 'Updating')"):
        fleets = [json.loads(row["servers"] or "{}")]
        if row["pending"]:
            fleets.append(json.loads(row["pending"]).get("servers") or {})
        marker = str(folder / row["name"]).encode() + b"/"
        for fleet in fleets:
            for variant, server in fleet.items():
                pid = server.get("pid")
                if server.get("serverless") or not pid:
                    continue  # an idle serverless variant has no server, by design
                if not runs_with(int(pid), marker):
                    problems.append(f"endpoint {row['name']} ({row['status']}) variant "
                                    f"{variant}: its server (pid {pid}) is gone")
    return problems


def _registry_problems(backend: LocalBackend) -> list[str]:
    rows = backend.store.query_all("SELECT group_name, COUNT(*) AS n, MIN(version) AS low, "
                                   "MAX(version) AS high FROM model_packages GROUP BY "
                                   "group_name")
    return [f"model package group {r['group_name']}: versions {r['low']}..{r['high']} with "
            f"{r['n']} packages: not 1..N without gaps" for r in rows
            if r["low"] != 1 or r["high"] != r["n"]]
