"""Pipeline verbs on every backend: upsert, start with overrides, describe, list steps, stop.

On moto, executions follow the lifecycle ``moto_service.patch_pipelines`` gives them.
"""

from __future__ import annotations

from mlopskit.testing.conformance import PipelineConformance


class TestPipelines(PipelineConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""
