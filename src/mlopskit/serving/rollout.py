"""Blue/green rollout strategies and the alarms that roll them back.

A rollout starts the new fleet beside the old one, shifts traffic to it in steps, bakes
each step for a while on the session clock (a FakeClock makes that instant), and checks
the alarms after each bake. A firing alarm sends all traffic back to the old fleet and
removes the new one; otherwise the old fleet is removed at the end.

The strategies are pure data and rules, which both backends read (the local rollout, and
UpdateEndpoint's ``DeploymentConfig`` on AWS); they are defined in
:mod:`mlopskit.sagemaker_api.rollout` and imported from here.

Example:
    >>> Canary(percent=10, wait=600).steps()
    [(0.1, 600.0), (1.0, 0.0)]
    >>> Linear(step_percent=25, interval=60).steps()
    [(0.25, 60.0), (0.5, 60.0), (0.75, 60.0), (1.0, 0.0)]
"""

from __future__ import annotations

from ..sagemaker_api import rollout as _rollout
from ..sagemaker_api.rollout import *  # noqa: F403  (this module is their public home)

__all__ = _rollout.__all__
