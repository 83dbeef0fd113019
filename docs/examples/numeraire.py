"""Short call + 1 BTC collateral: the book's delta in the usd and coin numeraires.

Run from the repository root: PYTHONPATH=src python docs/examples/numeraire.py
"""

import numpy as np

from deltahedge.instruments import parse_instrument
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio import Collateral, Position, book_risk

call = parse_instrument("BTC-27MAR26-90000-C", "deribit")
F, T, sigma = 93636.6, 0.221604, 0.4349
now = call.expiry_ns - round(T * 365 * 86400 * 1e9)
# index = forward here, so dV/dS = dV/dF (see "Spot and forward" below)
market = MarketState(now, {"BTC": UnderlyingState(F, np.array([call.expiry_ns]), np.array([F]))})
book, coll = [Position(call, -1.0)], [Collateral("BTC", 1.0)]
for num in ("usd", "coin"):
    r = book_risk(book, market, numeraire=num, collateral=coll, vols=[sigma])
    print(
        num,
        round(r.delta("BTC"), 5),
        {s: round(r.contribution(s)["delta_coin"], 5) for s in r.symbols},
    )
