"""Parity with the official SageMaker Python SDK v2 (see harness.py)."""
