"""Redaction of secrets from anything that is stored or logged.

Configurations name *environment variables* that hold secrets (``api_key_env =
"DERIBIT_KEY"``); the values themselves live only in ``SecretStr`` objects in memory. Keys
that look like they hold a secret value (``api_key``, ``secret``, ``password``, ``token``,
``passphrase``, ``private_key``) are masked wherever a mapping is written out, unless the key
ends in ``_env`` (the name of a variable, which is not secret).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretBytes, SecretStr

MASK = "***"

#: Key names whose values are secrets (case-insensitive, anywhere in the key).
SECRET_KEY_PATTERN = re.compile(
    r"(api[_-]?key|secret|password|passwd|passphrase|token|private[_-]?key|credential)",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret value (``*_env`` keys name variables: not secret)."""
    return bool(SECRET_KEY_PATTERN.search(key)) and not key.lower().endswith("_env")


def redact_secrets(value: Any) -> Any:
    """Return a JSON-ready copy of ``value`` with every secret masked as ``"***"``.

    Parameters
    ----------
    value : Any
        A mapping, sequence, ``SecretStr`` or scalar (nested freely).

    Returns
    -------
    Any
        The same structure (dicts and lists) with secret values replaced by ``"***"``.
    """
    if isinstance(value, (SecretStr, SecretBytes)):
        return MASK
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            if is_secret_key(key) and v not in (None, ""):
                out[key] = MASK
            else:
                out[key] = redact_secrets(v)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_secrets(v) for v in value]
    return value


__all__ = ["MASK", "SECRET_KEY_PATTERN", "is_secret_key", "redact_secrets"]
