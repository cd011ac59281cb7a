"""Data for baselines and drift: DataFrames from files or the object store, columns as
numbers and their Model Monitor type, and the two places a report folder can be.

Example:
    >>> import pandas as pd
    >>> infer_type(pd.Series([1.0, 2.0])), infer_type(pd.Series(["1.5", "x"]))
    ('Integral', 'String')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..session import Session

__all__ = ["infer_type", "numeric_values", "read_file", "read_frame", "write_file"]


def read_frame(data: Any, session: Session | None) -> pd.DataFrame:
    """``data`` as a DataFrame: itself, or the CSV and JSON-lines files of a file, a
    folder or an s3:// URI (an object or a prefix), concatenated."""
    import io
    from pathlib import Path

    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, (str, Path)):
        raise ValidationError(f"data: expected a pandas DataFrame, a path or an s3:// URI, "
                              f"got {type(data).__name__}", field="data")
    text = str(data)
    if text.startswith("s3://"):
        from ..session import resolve_session

        objects = resolve_session(session).backend.objects
        uris = [text] if objects.exists(text) else sorted(
            u for u in objects.list(text.rstrip("/") + "/")
            if u.endswith((".csv", ".jsonl", ".json")))
        if not uris:
            raise NotFoundError(f"data: nothing to read at {text}")
        blobs = [(u, objects.get_bytes(u)) for u in uris]
    else:
        path = Path(text)
        if not path.exists():
            raise ValidationError(f"data: {text!r} is neither an s3:// URI nor an existing "
                                  "file or folder", field="data")
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*") if p.suffix in (".csv", ".jsonl", ".json"))
        blobs = [(str(p), p.read_bytes()) for p in files]
    frames = [pd.read_json(io.BytesIO(blob), lines=True) if uri.endswith((".jsonl", ".json"))
              else pd.read_csv(io.BytesIO(blob)) for uri, blob in blobs]
    frame: pd.DataFrame = pd.concat(frames, ignore_index=True)
    return frame


def numeric_values(column: pd.Series) -> tuple[np.ndarray, int]:
    """Float values (NaN where missing or unparseable) and how many present values did
    not parse as numbers."""
    import numpy as np
    import pandas as pd

    if column.dtype == bool:
        return column.to_numpy(dtype=float), 0
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=float, na_value=np.nan), 0
    parsed = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    present = column.notna().to_numpy()
    return parsed, int(np.count_nonzero(present & np.isnan(parsed)))


def infer_type(column: pd.Series) -> str:
    """A column's type as Model Monitor infers it: Integral, Fractional, String, or
    Unknown for a column with no values."""
    import numpy as np
    import pandas as pd

    if column.notna().sum() == 0:
        return "Unknown"
    if column.dtype == bool or pd.api.types.is_integer_dtype(column.dtype):
        return "Integral"
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        return "Integral" if finite.size and np.all(finite == np.round(finite)) and \
            np.all(np.isfinite(values[~np.isnan(values)])) else "Fractional"
    values, bad = numeric_values(column)
    if bad == 0:
        finite = values[np.isfinite(values)]
        return "Integral" if finite.size and np.all(finite == np.round(finite)) \
            else "Fractional"
    return "String"


def write_file(folder: str, name: str, data: bytes, session: Session | None) -> None:
    """Write ``<folder>/<name>``: an object on the session's store for an s3:// folder,
    else a file."""
    from pathlib import Path

    if folder.startswith("s3://"):
        from ..session import resolve_session

        resolve_session(session).backend.objects.put_bytes(data,
                                                           f"{folder.rstrip('/')}/{name}")
    else:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(data)


def read_file(folder: str, name: str, session: Session | None) -> bytes:
    """Read ``<folder>/<name>`` as :func:`write_file` writes it; NotFoundError when absent."""
    from pathlib import Path

    if folder.startswith("s3://"):
        from ..session import resolve_session

        uri = f"{folder.rstrip('/')}/{name}"
        objects = resolve_session(session).backend.objects
        if not objects.exists(uri):
            raise NotFoundError(f"baseline: {uri} does not exist")
        return objects.get_bytes(uri)
    path = Path(folder) / name
    if not path.exists():
        raise NotFoundError(f"baseline: {path} does not exist")
    return path.read_bytes()
