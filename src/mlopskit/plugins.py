"""Backends as plug-ins: the registry :func:`~mlopskit.session.session_from_env` reads.

A backend is known by a name, the value of ``MLOPSKIT_BACKEND``. Each name maps to a
**session factory**: a callable that takes an environment mapping (``os.environ`` or any
``Mapping[str, str]``) and returns a :class:`~mlopskit.session.Session` whose backend
implements the protocols of ``mlopskit.backends.base``. Names come from three places:

1. the built-in backends, ``local`` and ``aws`` (:data:`BUILTIN_BACKENDS`). They are always
   available, whether mlopskit is installed from a wheel, in editable mode or run from a
   source tree, because they never depend on installed package metadata; their names are
   reserved;
2. factories registered in this process with :func:`register_backend` (tests, notebooks);
3. installed distributions that declare an entry point in the ``mlopskit.backends`` group
   (:data:`ENTRY_POINT_GROUP`), read once per process on first need and cached
   (:func:`refresh_backends` reads them again).

Example:
    >>> available_backends()[:2]
    ('local', 'aws')
    >>> ENTRY_POINT_GROUP
    'mlopskit.backends'
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import BackendError, ConflictError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from .backends.base import Backend, Capability
    from .session import Session

__all__ = [
    "BUILTIN_BACKENDS",
    "ENTRY_POINT_GROUP",
    "Backend",
    "Capability",
    "SessionFactory",
    "available_backends",
    "refresh_backends",
    "register_backend",
    "unregister_backend",
]

ENTRY_POINT_GROUP = "mlopskit.backends"

# The backends mlopskit ships, as ``module:attribute`` references: the same values as the
# entry points in pyproject.toml, resolved here without reading any package metadata.
BUILTIN_BACKENDS: Mapping[str, str] = {
    "local": "mlopskit.session:LocalSession.from_env",
    "aws": "mlopskit.session:AwsSession.from_env",
}

SessionFactory = Callable[[Mapping[str, str]], "Session"]
"""What a backend plug-in provides: ``factory(environ) -> Session``."""

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_NAME_RULE = ("1-63 lowercase letters, digits, '-' and '_', starting with a letter "
              "(MLOPSKIT_BACKEND is read in lowercase)")

_lock = threading.Lock()
_registered: dict[str, SessionFactory] = {}
_entry_points: dict[str, list[EntryPoint]] | None = None  # name -> its entry points


def available_backends() -> tuple[str, ...]:
    """Every backend name ``MLOPSKIT_BACKEND`` (and ``mlopskit --backend``) accepts: the
    built-in ones first, then registered and installed plug-ins, sorted.

    Listing reads the installed entry points (once per process) but loads none of them.

    Example:
        >>> names = available_backends()
        >>> names[:2], "local" in names
        (('local', 'aws'), True)
    """
    others = set(_registered_names()) | set(_installed())
    return (*BUILTIN_BACKENDS, *sorted(others - set(BUILTIN_BACKENDS)))


def register_backend(name: str, factory: SessionFactory, *, replace: bool = False) -> None:
    """Make ``name`` a backend of this process, built by ``factory(environ)``.

    A registered name takes precedence over an installed entry point of the same name; the
    built-in names cannot be registered. Registering a name twice is a
    :class:`~mlopskit.errors.ConflictError` unless ``replace=True``. Undo it with
    :func:`unregister_backend`.

    Example:
        >>> import tempfile
        >>> from mlopskit.session import LocalSession, session_from_env
        >>> def scratch(environ):
        ...     return LocalSession(root=tempfile.mkdtemp(), bucket="scratch")
        >>> register_backend("scratch", scratch)
        >>> session_from_env({"MLOPSKIT_BACKEND": "scratch"}).default_bucket
        'scratch'
        >>> unregister_backend("scratch")
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError(f"name: {name!r} is not a backend name; allowed: {_NAME_RULE}",
                              field="name")
    if name in BUILTIN_BACKENDS:
        raise ValidationError(f"name: {name!r} is a built-in backend and cannot be replaced; "
                              f"the built-in names ({', '.join(BUILTIN_BACKENDS)}) are "
                              "reserved, choose another", field="name")
    if not callable(factory):
        raise ValidationError(f"factory: expected a callable factory(environ) -> Session, got "
                              f"{type(factory).__name__}", field="factory")
    with _lock:
        if name in _registered and not replace:
            raise ConflictError(f"backend {name!r} is already registered; pass replace=True "
                                "or unregister_backend() it first")
        _registered[name] = factory


def unregister_backend(name: str) -> None:
    """Forget a backend added by :func:`register_backend`.

    Example:
        >>> unregister_backend("never-registered")
        Traceback (most recent call last):
        ...
        mlopskit.errors.NotFoundError: name: no backend 'never-registered' was registered ...
    """
    with _lock:
        if name not in _registered:
            known = ", ".join(sorted(_registered)) or "none"
            raise NotFoundError(f"name: no backend {name!r} was registered with "
                                f"register_backend(); registered: {known}")
        del _registered[name]


def refresh_backends() -> None:
    """Read the installed ``mlopskit.backends`` entry points again on next use (after
    ``pip install`` of a plug-in into a running process).

    Example:
        >>> refresh_backends()
        >>> "aws" in available_backends()
        True
    """
    global _entry_points
    with _lock:
        _entry_points = None


# -- building a session -------------------------------------------------------------------


def build_session(name: str, environ: Mapping[str, str]) -> Session:
    """A session of backend ``name`` (as ``MLOPSKIT_BACKEND`` spells it) from ``environ``.

    An unknown name is a :class:`~mlopskit.errors.ValidationError` naming
    ``MLOPSKIT_BACKEND`` and the available backends; a plug-in that cannot be loaded, or
    whose factory returns something other than a session, a
    :class:`~mlopskit.errors.BackendError` naming its entry point.
    """
    from .session import Session

    factory, origin = _factory(name)
    session = factory(environ)
    if not isinstance(session, Session):
        raise BackendError(
            f"MLOPSKIT_BACKEND: the {name!r} backend's factory ({origin}) returned "
            f"{type(session).__name__}, not a mlopskit Session", code="PluginError")
    return session


def _factory(name: str) -> tuple[SessionFactory, str]:
    """The factory of ``name`` and where it came from (for error messages)."""
    if name in BUILTIN_BACKENDS:
        reference = BUILTIN_BACKENDS[name]
        factory: SessionFactory = _resolve(reference)
        return factory, f"built in: {reference}"
    with _lock:
        registered = _registered.get(name)
    if registered is not None:
        return registered, "registered with register_backend()"
    found = _installed().get(name)
    if not found:
        raise ValidationError(f"MLOPSKIT_BACKEND: {name!r} is not a backend; allowed: "
                              f"{', '.join(available_backends())}", field="MLOPSKIT_BACKEND")
    if len({ep.value for ep in found}) > 1:
        raise ConflictError(f"MLOPSKIT_BACKEND: backend {name!r} is declared by more than one "
                            f"installed plug-in ({'; '.join(_describe(ep) for ep in found)}); "
                            "uninstall all but one")
    entry_point = found[0]
    try:
        loaded = entry_point.load()
    except Exception as exc:  # any import-time failure of third-party code
        raise BackendError(f"MLOPSKIT_BACKEND: the {name!r} backend could not be loaded: "
                           f"{_describe(entry_point)} raised {type(exc).__name__}: {exc}",
                           code="PluginError") from exc
    if not callable(loaded):
        raise BackendError(f"MLOPSKIT_BACKEND: the {name!r} backend's {_describe(entry_point)}"
                           f" names {loaded!r:.40} ({type(loaded).__name__}), not a "
                           "callable factory(environ) -> Session", code="PluginError")
    return loaded, _describe(entry_point)


def _describe(entry_point: EntryPoint) -> str:
    """``entry point 'name = module:attr' (group, distribution version)``."""
    dist = entry_point.dist
    source = f", from {dist.name} {dist.version}" if dist is not None else ""
    return (f"entry point '{entry_point.name} = {entry_point.value}' "
            f"(group {entry_point.group!r}{source})")


def _resolve(reference: str) -> Any:
    """The object a ``module:attribute.path`` reference names."""
    module_name, _, path = reference.partition(":")
    value: Any = importlib.import_module(module_name)
    for attribute in filter(None, path.split(".")):
        value = getattr(value, attribute)
    return value


def _registered_names() -> Iterable[str]:
    with _lock:
        return list(_registered)


def _installed() -> dict[str, list[EntryPoint]]:
    """The installed entry points of the group by (lowercase) name, read once; built-in
    names are reserved, so entry points claiming them are left out."""
    global _entry_points
    with _lock:
        if _entry_points is None:
            from importlib.metadata import entry_points

            found: dict[str, list[EntryPoint]] = {}
            for entry_point in entry_points(group=ENTRY_POINT_GROUP):
                name = entry_point.name.strip().lower()
                if name not in BUILTIN_BACKENDS:
                    found.setdefault(name, []).append(entry_point)
            _entry_points = found
        return _entry_points


def __getattr__(name: str) -> Any:
    # The protocols a plug-in implements, re-exported without loading them at import time
    # (they pull in the specs, and so pydantic).
    if name in ("Backend", "Capability"):
        from .backends import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
