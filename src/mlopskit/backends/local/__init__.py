"""The local backend: pure Python, no Docker, no network."""

from .backend import LocalBackend

__all__ = ["LocalBackend"]
