"""The behaviour every mlopskit backend shares, as pytest classes a backend's suite runs.

Each class holds the tests of one family (registry, training, serving, ...). A backend's
own test suite subclasses the ones it wants and provides one fixture,
``conformance_session``, returning the :class:`~mlopskit.Session` to test::

    # conftest.py
    import pytest
    from my_backend import MySession

    pytest_plugins = ["mlopskit.testing"]

    @pytest.fixture
    def conformance_session(tmp_path):
        with MySession(root=tmp_path / "store") as session:
            yield session

    # test_conformance.py
    from mlopskit.testing.conformance import RegistryConformance, TrainingConformance

    class TestMyBackendRegistry(RegistryConformance):
        pass

    class TestMyBackendTraining(TrainingConformance):
        pass

A test that needs a capability the backend lacks carries ``notimpl`` (it must then fail,
with :class:`~mlopskit.errors.CapabilityError`: a strict xfail, reported the day it passes)
or ``never`` (skipped, with the reason): see :mod:`mlopskit.testing.plugin`.

Optional fixtures, with defaults in the ``mlopskit.testing`` plugin:

- ``conformance_emulation``: an :class:`~mlopskit.testing.Emulation` saying whether the
  service behind the session runs what it is given (jobs' scripts, models). Against an
  emulator such as moto the tests check the requests and skip the results nothing made;
  its :meth:`~mlopskit.testing.Emulation.answer` queues what an endpoint returns.
- ``conformance_inventory``: a function of the session giving what the backend keeps
  besides its object store (``{"models": [...], "endpoint_configs": [...], ...}``), so the
  "bad input creates nothing" tests look there too. The default sees nothing.
- ``conformance_cli_environment``: the ``MLOPSKIT_*`` variables that point the ``mlopskit``
  command at the session's store (the CLI classes only).

The scripts jobs and inference servers run ship with this package (``scripts/``).
"""

from __future__ import annotations

from ._support import IMAGE, SCRIPTS, Conformance
from .artifacts import LocalArtifactsConformance
from .bad_input import BadInputConformance
from .capture import DataCaptureConformance
from .cli import MonitorCliConformance, RegistryCliConformance, ResourcesCliConformance
from .display import DisplayConformance
from .monitoring import MonitoringConformance
from .objects import ObjectDigestConformance, SessionDataConformance
from .pipelines import PipelineConformance
from .processing import ProcessingConformance
from .registry import RegistryConformance
from .serving import EndpointUrlConformance, ServingConformance
from .training import TrainingConformance
from .transform import TransformConformance
from .tuning import TuningConformance
from .tuning_bad_input import TuningBadInputConformance

__all__ = [
    "ALL",
    "IMAGE",
    "SCRIPTS",
    "BadInputConformance",
    "Conformance",
    "DataCaptureConformance",
    "DisplayConformance",
    "EndpointUrlConformance",
    "LocalArtifactsConformance",
    "MonitorCliConformance",
    "MonitoringConformance",
    "ObjectDigestConformance",
    "PipelineConformance",
    "ProcessingConformance",
    "RegistryCliConformance",
    "RegistryConformance",
    "ResourcesCliConformance",
    "ServingConformance",
    "SessionDataConformance",
    "TrainingConformance",
    "TransformConformance",
    "TuningBadInputConformance",
    "TuningConformance",
]

#: Every conformance class, for a suite that runs them all.
ALL: tuple[type[Conformance], ...] = (
    RegistryConformance, TrainingConformance, ProcessingConformance, TransformConformance,
    LocalArtifactsConformance, ServingConformance, EndpointUrlConformance,
    DataCaptureConformance, MonitoringConformance, PipelineConformance,
    ObjectDigestConformance, SessionDataConformance, BadInputConformance, DisplayConformance,
    RegistryCliConformance, ResourcesCliConformance, MonitorCliConformance,
    TuningConformance, TuningBadInputConformance,
)
