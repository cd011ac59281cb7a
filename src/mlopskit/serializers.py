"""Serializers and deserializers for :class:`~mlopskit.Predictor` (small public classes).

Example:
    >>> from mlopskit.serializers import CSVSerializer, JSONDeserializer
    >>> CSVSerializer().serialize([1.5, 2.0])
    b'1.5,2.0'
"""

from .serving.codecs import (
    BytesDeserializer,
    CSVDeserializer,
    CSVSerializer,
    IdentitySerializer,
    JSONDeserializer,
    JSONSerializer,
    NumpyDeserializer,
    NumpySerializer,
    PandasDeserializer,
)

__all__ = [
    "BytesDeserializer",
    "CSVDeserializer",
    "CSVSerializer",
    "IdentitySerializer",
    "JSONDeserializer",
    "JSONSerializer",
    "NumpyDeserializer",
    "NumpySerializer",
    "PandasDeserializer",
]
