"""A small book's risk in both numeraires, and a policy's decision (options desk).

Run from the repository root: PYTHONPATH=src python docs/examples/desk_book.py
"""

from importlib.resources import as_file, files

from deltahedge.hedging import HedgeState, make_policy
from deltahedge.instruments import parse_instrument
from deltahedge.marketdata import load_chain
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio import Collateral, Position, book_risk

# the real Deribit chain excerpt shipped in the package (2026-01-05 09:25 UTC)
with as_file(files("deltahedge") / "data" / "deribit_btc_20260105T092511Z_excerpt.csv") as p:
    chain = load_chain(p, underlying="BTC")
index = float(chain.index_price[0])
perp = ("deribit", "BTC-PERPETUAL")
market = MarketState(chain.ts_ns, {"BTC": UnderlyingState.from_chain(chain, marks={perp: index})})
vols = {
    str(s): float(v) for s, v in zip(chain.instrument, chain.mark_iv, strict=True)
}  # Deribit mark IVs

book = [
    Position(parse_instrument("BTC-27MAR26-90000-C", "deribit"), -5.0),  # short 5 calls
    Position(parse_instrument("BTC-26JUN26-95000-P", "deribit"), +5.0),  # long 5 puts
    Position(parse_instrument("BTC-PERPETUAL", "deribit"), -2000.0, entry_price=92_000.0),
]
coll = [Collateral("BTC", 1.0, "deribit")]
for num in ("usd", "coin"):
    r = book_risk(book, market, numeraire=num, collateral=coll, vols=vols)
    print(
        f"{num:4s} delta {r.delta('BTC'):+.4f} BTC = {r.delta_usd[0]:+,.0f} USD"
        f"  gamma {r.gamma('BTC'):+.3e}/USD  vega {r.vega_usd[0] / 100:+.1f} USD/1%"
        f"  theta {r.theta_usd_per_day[0]:+.1f} USD/day  value {r.value_usd[0]:+,.0f} USD"
    )

r = book_risk(book, market, numeraire="coin", collateral=coll, vols=vols)
policy = make_policy("fixed_threshold", threshold=0.25, instrument="deribit:BTC-PERPETUAL")
intent = policy.decide(r, market, HedgeState())
print(intent.reason, "|", intent.delta_coin, intent.instrument, intent.quantity)
