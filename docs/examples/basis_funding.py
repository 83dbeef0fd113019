"""Basis trade: long BTC collateral, short linear perp; delta and funding per day.

Run from the repository root: PYTHONPATH=src python docs/examples/basis_funding.py
"""

from deltahedge.instruments import parse_instrument
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio import Collateral, Position, book_risk

S = 92_535.32
perp = parse_instrument("BTCUSDT", "binance")  # linear USD-M perp, 1 BTC a contract
market = MarketState(
    1_767_605_111_000_000_000,
    {
        "BTC": UnderlyingState(
            S, marks={("binance", "BTCUSDT"): S}, funding={("binance", "BTCUSDT"): 0.0001}
        )
    },
)  # per 8 h
book = [Position(perp, -100.0, entry_price=S)]  # short 100 BTC of perp
coll = [Collateral("BTC", 100.0, "custody")]  # long 100 BTC
r = book_risk(book, market, numeraire="usd", collateral=coll)
print(
    f"delta {r.delta('BTC'):+.6f} BTC  funding {r.funding_usd_per_day[0]:+,.2f} USD/day"
    f"  value {r.value_usd[0]:,.0f} USD"
)
