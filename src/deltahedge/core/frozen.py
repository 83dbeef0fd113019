"""Cheap construction of frozen slots dataclasses on the engine's per-tick path.

A frozen dataclass's generated ``__init__`` sets every field through
``object.__setattr__(self, name, value)`` (the class's own ``__setattr__`` raises), about
0.15 us a field on a 2-core machine: most of the cost of building a ``BookRisk`` (19
fields) or a ``MarketState`` on every tick. :func:`builder` returns a function that takes
the fields in order and sets the slots through their descriptors instead, at about half
that cost. It runs no ``__post_init__`` and fills no defaults: it is for values already in
the form the class's checks would leave them (the callers say why theirs are).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def builder(cls: type[T]) -> Callable[..., T]:
    """A function ``build(*fields) -> cls`` for a ``@dataclass(frozen=True, slots=True)``.

    Parameters
    ----------
    cls : type
        A frozen dataclass with ``slots=True`` whose slots are exactly its fields (no
        inherited slots).

    Returns
    -------
    callable
        ``build(v0, v1, ...)`` with one positional argument per field, in field order;
        it sets the slots directly (no ``__init__``, no ``__post_init__``, no defaults).
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"builder needs a dataclass, got {cls!r}")
    names = tuple(f.name for f in dataclasses.fields(cls))
    if getattr(cls, "__slots__", None) != names:
        raise TypeError(
            f"builder needs a slots dataclass whose slots are its fields {names}; "
            f"{cls.__name__} has slots {getattr(cls, '__slots__', None)}"
        )
    env: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def build({', '.join(names)}):", "    o = _new(_cls)"]
    for i, name in enumerate(names):
        env[f"_set{i}"] = cls.__dict__[name].__set__  # the slot's member descriptor
        lines.append(f"    _set{i}(o, {name})")
    lines.append("    return o")
    exec("\n".join(lines), env)  # the way dataclasses builds __init__
    build: Callable[..., T] = env["build"]
    build.__qualname__ = f"builder({cls.__qualname__})"
    return build


__all__ = ["builder"]
