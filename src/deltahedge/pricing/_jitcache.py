"""Keep numba's on-disk cache of this package consistent with its sources.

numba keys each cached function on the modification stamp of its own file only, so a
loop in ``_loops.py`` that inlines a kernel of ``kernels.py`` keeps the old kernel after
``kernels.py`` changes (numba issue #6845). Before any kernel is compiled or loaded, this
hashes the package's sources and, when they differ from the hash stored beside the cache,
removes the package's cache files so that everything recompiles once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def clear_stale_cache(package_dir: Path) -> bool:
    """Remove ``__pycache__/*.nbi|*.nbc`` of ``package_dir`` if its ``*.py`` changed.

    Returns True when files were removed. Failures (read-only install) are ignored: numba
    then falls back to its own behaviour.
    """
    try:
        digest = hashlib.sha256()
        for src in sorted(package_dir.glob("*.py")):
            digest.update(src.name.encode())
            digest.update(src.read_bytes())
        cache = package_dir / "__pycache__"
        stamp = cache / "deltahedge-numba-sources.sha256"
        now = digest.hexdigest()
        if stamp.is_file() and stamp.read_text() == now:
            return False
        removed = False
        for f in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            f.unlink(missing_ok=True)
            removed = True
        cache.mkdir(exist_ok=True)
        stamp.write_text(now)
        return removed
    except OSError:
        return False


__all__ = ["clear_stale_cache"]
