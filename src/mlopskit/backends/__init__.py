"""Backends: ``local`` (built in) and ``aws`` (loaded on first use)."""

from .base import Backend, Capability, ObjectStore, TrainingJobDescription

__all__ = ["Backend", "Capability", "ObjectStore", "TrainingJobDescription"]
