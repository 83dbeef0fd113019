"""Positions (signed contracts of an instrument) and collateral balances per coin."""

from __future__ import annotations

import math
from dataclasses import dataclass

from deltahedge.core.errors import InvalidInput
from deltahedge.instruments.specs import Future, Instrument, Option, Perpetual

#: Coins valued at 1 USD each (stablecoins and USD itself).
USD_LIKE: frozenset[str] = frozenset({"USD", "USDC", "USDT", "DAI", "USDE", "FDUSD", "BUSD"})


@dataclass(frozen=True, slots=True)
class Position:
    """A signed holding of one instrument.

    Parameters
    ----------
    instrument : Option, Perpetual, Future or Spot
        The contract (it names its venue).
    quantity : float
        Signed contracts, long > 0.
    entry_price : float
        Average entry price in the instrument's quote: USD for perps/futures (required:
        their value is the unrealised PnL, ``n c (F/F_entry - 1)`` USD for inverse and
        ``n s (F - F_entry)`` for linear ones), premium in the settlement coin for options
        (used for PnL reports only; 0 = unknown). Ignored for spot.
    """

    instrument: Instrument
    quantity: float
    entry_price: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.quantity):
            raise InvalidInput(f"{self.instrument.symbol}: quantity must be finite")
        if isinstance(self.instrument, (Perpetual, Future)) and not self.entry_price > 0:
            raise InvalidInput(
                f"{self.instrument.symbol}: perpetuals and futures need entry_price > 0 (USD), "
                f"got {self.entry_price!r}"
            )

    @property
    def venue(self) -> str:
        return self.instrument.venue

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def underlying(self) -> str:
        return self.instrument.underlying

    @property
    def is_option(self) -> bool:
        return isinstance(self.instrument, Option)


@dataclass(frozen=True, slots=True)
class Collateral:
    """A balance of one coin on one venue (or staked / held in a wallet).

    Parameters
    ----------
    coin : str
        ``"BTC"``, ``"ETH"``, ... or a USD-like coin (``USD_LIKE``), valued at 1 USD.
    amount : float
        Signed balance in ``coin`` (negative = borrowed).
    venue : str
        Where it is held; informational.
    yield_per_year : float
        Staking or lending yield of the balance, decimal per year (0.03 = 3 %/yr, e.g.
        stETH or the staked ETH behind USDe), accrued simply in ``coin``:
        ``amount * yield_per_year / 365`` coin a day. A borrowed balance (``amount < 0``)
        with a positive rate pays it. 0 = no yield.
    """

    coin: str
    amount: float
    venue: str = ""
    yield_per_year: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.amount):
            raise InvalidInput(f"collateral {self.coin}: amount must be finite")
        if not (math.isfinite(self.yield_per_year) and abs(self.yield_per_year) < 1.0):
            raise InvalidInput(
                f"collateral {self.coin}: yield_per_year is a decimal rate per year with "
                f"|rate| < 1 (0.03 = 3 %/yr), got {self.yield_per_year!r}"
            )

    @property
    def is_usd(self) -> bool:
        return self.coin.upper() in USD_LIKE


__all__ = ["USD_LIKE", "Collateral", "Position"]
