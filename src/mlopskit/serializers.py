"""Serializers and deserializers for :class:`~mlopskit.Predictor` (small public classes).

Example:
    >>> from mlopskit.serializers import CSVSerializer, JSONDeserializer
    >>> CSVSerializer().serialize([1.5, 2.0])
    b'1.5,2.0'
"""

from .serving import codecs as _codecs
from .serving.codecs import *  # noqa: F403  (this module is their public home)

__all__ = _codecs.__all__
