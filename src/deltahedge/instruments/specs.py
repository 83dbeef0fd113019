"""Frozen contract specifications: options, perpetuals, dated futures and spot.

Quantities are always in *contracts* (signed, long > 0). What one contract is worth:

================  ==========================================================  ==============
instrument        one contract is                                             ``contract_size``
================  ==========================================================  ==============
linear option     ``contract_size`` coin of underlying, premium in USD/USDC   coin
inverse option    ``contract_size`` coin of underlying, premium in coin       coin
linear perp/fut.  ``contract_size`` coin, PnL ``n s (F - F_entry)`` USD       coin
inverse perp/fut  ``contract_size`` **USD** face value, coin PnL              USD
                  ``n c (1/F_entry - 1/F)`` (DESIGN.md, Units and conventions)
spot              ``contract_size`` coin (normally 1)                         coin
================  ==========================================================  ==============

``lot_size`` is the smallest increment of an order, ``min_size`` the smallest order, both
in contracts; ``tick_size`` is the price increment in the instrument's quote currency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from deltahedge.core.enums import OptionKind, Settlement
from deltahedge.core.errors import InvalidInput


def _check_positive(name: str, symbol: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise InvalidInput(f"{symbol}: {name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class _Tradable:
    symbol: str
    venue: str
    underlying: str
    settlement: Settlement
    contract_size: float
    settlement_coin: str
    lot_size: float
    min_size: float
    tick_size: float

    def __post_init__(self) -> None:
        for name in ("contract_size", "lot_size", "min_size", "tick_size"):
            _check_positive(name, self.symbol, float(getattr(self, name)))

    @property
    def is_inverse(self) -> bool:
        """True when the contract settles in the coin (inverse)."""
        return self.settlement is Settlement.INVERSE

    def round_to_lot(self, contracts: float) -> float:
        """Round a signed size in contracts toward zero to a multiple of ``lot_size``.

        Sizes whose magnitude is below ``min_size`` after rounding become 0, so the residual
        left unhedged is always below ``max(lot_size, min_size)``.
        """
        lots = math.floor(abs(contracts) / self.lot_size + 1e-9)
        size = lots * self.lot_size
        if size < self.min_size - 1e-12:
            return 0.0
        # round to the lot's decimals so 0.1 * 3 prints as 0.3
        size = round(size, 12)
        return math.copysign(size, contracts)


@dataclass(frozen=True, slots=True)
class Option(_Tradable):
    """A European option on ``underlying``.

    Parameters
    ----------
    symbol, venue : str
        Venue name (``"BTC-27MAR26-90000-C"``) and venue (``"deribit"``).
    underlying : str
        Coin, e.g. ``"BTC"``.
    settlement : Settlement
        ``INVERSE``: premium and payoff in the coin (Deribit, OKX); ``LINEAR``: in USD/USDC/USDT.
    contract_size : float
        Coin of underlying per contract (Deribit 1 BTC, OKX 0.01 BTC).
    settlement_coin : str
        Currency of premium and payoff (``"BTC"``, ``"USDC"``, ``"USDT"``).
    lot_size, min_size : float
        Contracts.
    tick_size : float
        Premium increment in ``settlement_coin``.
    strike : float
        USD.
    expiry_ns : int
        Expiry, UTC ns.
    kind : OptionKind
        Call or put.
    """

    strike: float = 0.0
    expiry_ns: int = 0
    kind: OptionKind = OptionKind.CALL

    def __post_init__(self) -> None:
        _Tradable.__post_init__(self)
        _check_positive("strike", self.symbol, float(self.strike))
        if not isinstance(self.kind, OptionKind):
            raise InvalidInput(f"{self.symbol}: kind must be an OptionKind, got {self.kind!r}")


@dataclass(frozen=True, slots=True)
class Perpetual(_Tradable):
    """A perpetual swap.

    Parameters
    ----------
    contract_size : float
        Inverse: USD face value per contract (Deribit BTC-PERPETUAL 10, Binance COIN-M
        BTCUSD_PERP 100, OKX BTC-USD-SWAP 100). Linear: coin per contract (Binance USD-M
        BTCUSDT 1 with lot 0.001, OKX BTC-USDT-SWAP 0.01).
    funding_interval_s : int
        Seconds between funding payments (8 h on most venues).

    Other parameters as in ``Option``.
    """

    funding_interval_s: int = 8 * 3600

    def __post_init__(self) -> None:
        _Tradable.__post_init__(self)
        _check_positive("funding_interval_s", self.symbol, float(self.funding_interval_s))


@dataclass(frozen=True, slots=True)
class Future(_Tradable):
    """A dated future; ``contract_size`` as in ``Perpetual``; ``expiry_ns`` UTC ns."""

    expiry_ns: int = 0


@dataclass(frozen=True, slots=True)
class Spot(_Tradable):
    """Spot coin against ``quote``; ``contract_size`` is 1 coin unless the venue says else."""

    quote: str = "USD"


Instrument = Option | Perpetual | Future | Spot


def delta_per_contract(instrument: Instrument, price: float, entry_price: float = 0.0) -> float:
    """Coin delta of one long contract of a linear instrument, USD numeraire.

    Parameters
    ----------
    instrument : Perpetual, Future or Spot
    price : float
        The instrument's current mark, USD.
    entry_price : float
        Entry price, USD; only inverse contracts need it (their USD value
        ``c (F/F_entry - 1)`` has slope ``c / F_entry``). 0 means "enter now at ``price``".

    Returns
    -------
    float
        Coin of underlying per contract: ``contract_size`` for linear contracts and spot,
        ``contract_size / F_entry`` for inverse ones.
    """
    if isinstance(instrument, Option):
        raise InvalidInput(f"{instrument.symbol}: delta_per_contract is for linear hedges only")
    if instrument.is_inverse:
        ref = entry_price if entry_price > 0 else price
        _check_positive("price", instrument.symbol, ref)
        return instrument.contract_size / ref
    return instrument.contract_size


__all__ = ["Future", "Instrument", "Option", "Perpetual", "Spot", "delta_per_contract"]
