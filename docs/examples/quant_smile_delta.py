"""Smile-adjusted deltas on an SVI surface fitted to a real Deribit chain.

Run from the repository root: PYTHONPATH=src python docs/examples/quant_smile_delta.py
"""

from deltahedge.instruments import parse_instrument
from deltahedge.marketdata import clean_chain, load_chain
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio import Position, book_risk
from deltahedge.pricing import black76_delta
from deltahedge.surface import fit_surface, smile_delta

chain, _ = clean_chain(
    load_chain(
        "../shared/data/deribit_chain_2026/deribit_options_snapshot_20260105T092511Z.csv",
        underlying="BTC",
    )
)
surf = fit_surface(chain, "svi")
F, K, T = 93636.6, 90000.0, 0.2218  # BTC-27MAR26-90000-C
sig = float(surf.vol(K, T))
print(f"vol {sig:.4f}  skew dsigma/dk {float(surf.dvol_dk(K, T)):+.4f}")
print("black76      ", round(float(black76_delta("call", F, K, T, sig)), 4))
for dyn in ("sticky_strike", "sticky_moneyness"):
    print(f"{dyn:13s}", round(float(smile_delta(surf, "call", F, K, T, dynamics=dyn)), 4))

# the same deltas in book risk (per move of the index: forward deltas times F/S)
market = MarketState(chain.ts_ns, {"BTC": UnderlyingState.from_chain(chain)})
book = [Position(parse_instrument("BTC-27MAR26-90000-C", "deribit"), 1.0)]
for dm in ("black76", "sticky_moneyness"):
    r = book_risk(book, market, surface=surf, delta_model=dm)
    print(f"book_risk {dm:16s} {r.delta('BTC'):.4f}")
