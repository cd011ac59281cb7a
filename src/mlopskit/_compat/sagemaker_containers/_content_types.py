"""MIME types the encoders understand, under the names scripts compare against.

>>> CSV in UTF8_TYPES, NPY in UTF8_TYPES
(True, False)
"""

from __future__ import annotations

__all__ = ["ANY", "CSV", "JSON", "NPY", "OCTET_STREAM", "UTF8_TYPES"]

JSON = "application/json"
CSV = "text/csv"
OCTET_STREAM = "application/octet-stream"
ANY = "*/*"
NPY = "application/x-npy"

# Request bodies of these types reach the handlers as text; every other type arrives as bytes.
UTF8_TYPES = [JSON, CSV]
