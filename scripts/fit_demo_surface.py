"""Regenerate ``src/deltahedge/data/demo_surface_btc.json``, the demo's embedded surface.

The demo (``deltahedge demo``) simulates a BTC market whose implied vols come from a
surface fitted ONCE from a real Deribit snapshot; this script is that one fit::

    PYTHONPATH=src python scripts/fit_demo_surface.py \
        ../shared/data/deribit_chain_2026/deribit_options_snapshot_20260105T092511Z.csv

It keeps the expiries between 5 and 200 days (the demo book's range) and writes the
surface's own ``to_json()``; only the fitted parameters are shipped, never the data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from deltahedge.marketdata import load_chain
from deltahedge.marketdata.cleaning import clean_chain
from deltahedge.surface import fit_surface

OUT = Path(__file__).resolve().parents[1] / "src" / "deltahedge" / "data" / "demo_surface_btc.json"


def main(path: str) -> None:
    chain = load_chain(path, underlying="BTC")
    chain, _ = clean_chain(chain)
    days = (np.asarray(chain.expiry_ns) - chain.ts_ns) / 86_400e9
    keep = (days >= 5) & (days <= 200)
    chain = chain.select(keep)
    surf = fit_surface(chain, method="svi")
    OUT.write_text(surf.to_json() + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(surf.T)} expiries, spot {surf.spot:.1f})")


if __name__ == "__main__":
    main(
        sys.argv[1]
        if len(sys.argv) > 1
        else "../shared/data/deribit_chain_2026/deribit_options_snapshot_20260105T092511Z.csv"
    )
