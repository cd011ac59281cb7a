"""Our own tests use the same fixtures users get from ``mlopskit.testing``.

They run in parallel (pytest-xdist, ``-n auto`` in pyproject.toml): every fixture works in
its own ``tmp_path`` and every server binds a port the OS picks, so workers never share a
file, a port or a process. ``python -m pytest`` deselects the tests marked ``slow``;
``python -m pytest -m slow`` runs them (docs/testing.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = ["mlopskit.testing", "pytester"]

# Training scripts run inside jobs, never as test modules (--doctest-modules would import them).
collect_ignore = ["scripts", "fidelity/scripts", "data/make_sdk_v3_definition.py"]


@pytest.fixture(scope="session", autouse=True)
def _service_models_parsed_once() -> Iterator[None]:
    """Every botocore session of the test process shares one data loader.

    ``aws_session`` already does this for the sessions it makes; this reaches the ones
    mlopskit makes itself (the CLI, ``session_from_env``) and the official SDK's in the
    parity tests. Without it each of them parses botocore's service models again (0.3 s a
    test). Patches botocore's loader factory, never mlopskit; requests are unchanged.
    """
    import botocore.session

    from mlopskit.testing.plugin import _botocore_loader

    original = botocore.session.create_loader

    def create_loader(search_path_string: Any = None) -> Any:
        if search_path_string is None:  # no AWS_DATA_PATH: the default model folders
            return _botocore_loader()
        return original(search_path_string)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", create_loader)
        yield
