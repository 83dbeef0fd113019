"""Keep numba's on-disk caches consistent with the pricing sources.

numba keys each cached function on the modification stamp of its own file only, so a
loop that inlines a kernel of ``pricing/kernels.py`` (``pricing/_loops.py``, and the
compiled code of other areas: portfolio, surface, backtest) keeps the old kernel after
``kernels.py`` changes (numba's cache does not track dependencies across files). Before any kernel is compiled or loaded, this
hashes the pricing sources and, when they differ from the hash stored beside the cache,
removes the numba cache files under ``scope`` (the whole ``deltahedge`` package) so that
everything recompiles once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def clear_stale_cache(package_dir: Path, scope: Path | None = None) -> bool:
    """Remove ``**/__pycache__/*.nbi|*.nbc`` under ``scope`` if ``package_dir/*.py`` changed.

    Parameters
    ----------
    package_dir : Path
        The package whose sources are hashed (``deltahedge/pricing``).
    scope : Path, optional
        Where cache files are removed; default ``package_dir``.

    Returns
    -------
    bool
        True when cache files were removed. Failures (a read-only install) are ignored:
        numba then keeps its own behaviour.
    """
    scope = package_dir if scope is None else scope
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
        for pattern in ("*.nbi", "*.nbc"):
            for f in scope.rglob(f"__pycache__/{pattern}"):
                f.unlink(missing_ok=True)
                removed = True
        cache.mkdir(exist_ok=True)
        stamp.write_text(now)
        return removed
    except OSError:
        return False


__all__ = ["clear_stale_cache"]
