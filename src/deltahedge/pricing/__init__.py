"""Option pricing kernels: Black-76 (linear and inverse), Black-Scholes-Merton, implied vol.

Array in, array out, broadcasting over any shapes; no I/O (apart from keeping numba's cache
consistent at import, see ``_jitcache``). The scalar numba kernels that
other compiled code calls live in ``deltahedge.pricing.kernels``; the readable, slow
twins that the tests hold the fast code to live in ``deltahedge.pricing.reference``.
Units (DESIGN.md): per unit of underlying, vega per 1.00 of vol, theta per year.
"""

from pathlib import Path as _Path

from deltahedge.pricing._jitcache import clear_stale_cache as _clear_stale_cache

_clear_stale_cache(_Path(__file__).parent, scope=_Path(__file__).parent.parent)

from deltahedge.pricing.black76 import (  # noqa: E402
    Greeks,
    RiskGreeks,
    black76,
    black76_delta,
    black76_price,
    black76_risk,
    bsm,
)
from deltahedge.pricing.implied import (  # noqa: E402
    IVStatus,
    implied_vol,
    implied_vol_guaranteed,
    implied_vol_inverse,
    implied_vol_inverse_status,
    implied_vol_status,
)
from deltahedge.pricing.inverse import InverseGreeks, inverse_black76  # noqa: E402

__all__ = [
    "Greeks",
    "IVStatus",
    "InverseGreeks",
    "RiskGreeks",
    "black76",
    "black76_delta",
    "black76_price",
    "black76_risk",
    "bsm",
    "implied_vol",
    "implied_vol_guaranteed",
    "implied_vol_inverse",
    "implied_vol_inverse_status",
    "implied_vol_status",
    "inverse_black76",
]
