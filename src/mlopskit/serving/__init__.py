"""Serving: endpoints, predictors, rollouts, batch transform and the inference contract.

The public names are re-exported from :mod:`mlopskit`; serializers live in
:mod:`mlopskit.serializers`.
"""
