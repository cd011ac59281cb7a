"""Serving: endpoints, predictors, serializers and the inference contract."""

from .codecs import (
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
