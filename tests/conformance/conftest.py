"""The conformance classes of ``mlopskit.testing.conformance``, run on our two backends.

Every class in this folder asks for ``conformance_session``; here it is ``any_session``, so
each test runs as ``test_x[local]`` and ``test_x[aws]``. On AWS the session talks to moto,
patched by ``moto_service.py`` where moto lacks a SageMaker call (moto, never mlopskit).
"""

from __future__ import annotations

from typing import Any

import pytest

import mlopskit
from mlopskit.testing import Emulation, MotoEmulation, emulation_of

from . import moto_service as moto


@pytest.fixture
def moto_service(any_session: mlopskit.Session,
                 monkeypatch: pytest.MonkeyPatch) -> moto.MotoService | None:
    """On moto, moto patched for this test; ``None`` on a backend that runs for real."""
    if not isinstance(emulation_of(any_session), MotoEmulation):
        return None
    return moto.patch(monkeypatch, any_session.region)


@pytest.fixture
def conformance_session(any_session: mlopskit.Session,
                        moto_service: moto.MotoService | None) -> mlopskit.Session:
    return any_session


@pytest.fixture
def conformance_emulation(any_session: mlopskit.Session,
                          moto_service: moto.MotoService | None) -> Emulation:
    return moto_service if moto_service is not None else emulation_of(any_session)


def inventory(session: mlopskit.Session) -> dict[str, list[str]]:
    """What each of our backends keeps besides its object store."""
    backend: Any = session.backend
    if isinstance(session, mlopskit.LocalSession):
        store = backend.store
        found = {table: sorted(row["name"] for row in
                               store.query_all(f"SELECT name FROM {table}"))
                 for table in ("models", "endpoint_configs")}
        jobs = session.root / "jobs"
        found["job_folders"] = sorted(p.relative_to(jobs).as_posix() for p in jobs.rglob("*")
                                      if p.is_dir()) if jobs.exists() else []
        return found
    sagemaker = backend.clients.sagemaker
    return {"models": sorted(m["ModelName"] for m in sagemaker.list_models()["Models"]),
            "endpoint_configs": sorted(c["EndpointConfigName"] for c in
                                       sagemaker.list_endpoint_configs()["EndpointConfigs"])}


@pytest.fixture
def conformance_inventory() -> Any:
    return inventory
