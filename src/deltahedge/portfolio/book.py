"""Vectorised book Greeks: ``CompiledBook`` (static arrays, built once) and ``book_risk``.

A book is compiled once per change of positions: strikes, kinds, sizes, expiry slots and
the linear items go into arrays; each tick then costs one fused numba kernel call
(``portfolio._kernels.book_kernel``) plus a few lookups in the ``MarketState``.

Conventions (DESIGN.md, Units and conventions):

- ``delta_coin`` is ``dV/dS`` in coin units in the ``usd`` numeraire (``V`` = book value in
  USD, ``S`` = index; every forward and mark moves in proportion to ``S``), and
  ``S d(V/S)/dS`` in the ``coin`` numeraire (premium-adjusted for options; coin collateral
  contributes 0, a USD balance ``B`` contributes ``-B/S``). ``delta_usd = delta_coin * S``.
- ``gamma_coin`` is ``d(delta_coin)/dS`` (coin per USD); ``cash_gamma_usd = gamma S^2/100``
  is the change of the USD delta for a 1 % move.
- Vega is USD per 1.00 of vol (per expiry slot and in total), theta, funding and collateral
  yield USD per day, in both numeraires (divide by S for coin; ``BookRisk.carry`` does);
  ``value_usd`` is the book's USD value.
- Options are valued with Black-76 at r = 0 on their expiry's forward; an inverse option
  and a linear one of the same size have the same USD value, so their Greeks coincide in
  a given numeraire: the numeraire, not the settlement, makes deltas premium-adjusted.
- Inverse perps/futures: value ``n c (F/F_entry - 1)`` USD (coin PnL ``n c (1/F_entry -
  1/F)`` at ``F``); linear: ``n s (F - F_entry)``; collateral ``Q S``; USD balances ``B``.

``delta_model`` adds the smile term ``vega * dsigma/dF`` to each option's delta:
``"black76"``/``"sticky_strike"`` (0), ``"sticky_moneyness"`` (``-(1/F) dsigma/dk``, the
skew taken from the surface when the book is compiled), ``"min_variance"`` (Hull and White
2017, ``(a + b delta + c delta^2) / (F sqrt T)``, coefficients from
``surface.fit_min_variance``), all inside the fused kernel and tested equal to
``deltahedge.surface.smile_delta`` under the same dynamics; or any other model registered
with ``register_delta_model`` (e.g. a Heston/Bates model delta), evaluated per tick off the
fused path. Gamma, vega and theta are Black-76's (no smile term).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from deltahedge._typing import FloatArray, IntArray
from deltahedge.core.enums import Numeraire
from deltahedge.core.errors import InvalidInput
from deltahedge.core.frozen import builder
from deltahedge.core.units import NS_PER_SECOND, SECONDS_PER_YEAR
from deltahedge.instruments.specs import Future, Option, Perpetual, Spot
from deltahedge.marketdata.state import MarketState
from deltahedge.portfolio import _kernels as K
from deltahedge.portfolio.positions import Collateral, Position
from deltahedge.portfolio.risk import BookRisk

_YEAR_NS = NS_PER_SECOND * SECONDS_PER_YEAR
#: BookRisk without the frozen-dataclass __init__ (it has no checks): built on every tick
_new_risk = builder(BookRisk)


class VolSurface(Protocol):
    """Anything that gives an implied vol (decimal) for strikes ``K`` (USD) and ``T`` (years)."""

    def vol(self, K: Any, T: Any) -> Any: ...


#: ``fn(surface, phi, F, K, T, sigma) -> dsigma/dF`` (per USD), arrays of the options.
DeltaModelFn = Callable[
    [Any, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray], FloatArray
]

_BUILTIN_MODELS = {
    "black76": K.MODEL_NONE,
    "sticky_strike": K.MODEL_NONE,
    "sticky_moneyness": K.MODEL_STICKY_MONEYNESS,
    "min_variance": K.MODEL_MIN_VARIANCE,
}
_EXTERNAL_MODELS: dict[str, DeltaModelFn] = {}


def register_delta_model(name: str, fn: DeltaModelFn) -> None:
    """Make ``delta_model=name`` available to ``book_risk``.

    ``fn(surface, phi, F, K, T, sigma)`` returns ``dsigma/dF`` per option (1/USD); the delta
    becomes ``delta_BS + vega * dsigma/dF``. Use it to plug in the surface package's smile
    deltas (e.g. a model delta, or ``smile_delta`` under another dynamics).
    """
    if name in _BUILTIN_MODELS:
        raise InvalidInput(f"delta model {name!r} is built in; choose another name")
    _EXTERNAL_MODELS[name] = fn


def delta_models() -> tuple[str, ...]:
    """Names accepted as ``delta_model``."""
    return tuple(_BUILTIN_MODELS) + tuple(_EXTERNAL_MODELS)


@dataclass(frozen=True, slots=True, eq=False)
class CompiledBook:
    """Static arrays of a book; ``risk(market)`` reprices it. Build with ``compile_book``.

    ``with_surface`` keeps the last vols (and skews) it looked up, keyed on the surface
    object and ``ts_ns``; the books derived from this one share that memo.
    """

    underlyings: tuple[str, ...]
    symbols: tuple[str, ...]
    row_underlying: IntArray
    opt_units: FloatArray
    opt_strike: FloatArray
    opt_logk: FloatArray
    opt_phi: FloatArray
    opt_slot: IntArray
    sigma: FloatArray
    skew: FloatArray  # dsigma/dk at the option's strike, for sticky moneyness
    slot_und: IntArray
    slot_exp: IntArray
    slot_bounds: tuple[tuple[int, int], ...]  # slot range per underlying
    lin_a: FloatArray
    lin_b: FloatArray
    lin_und: IntArray
    lin_src: tuple[tuple[str, str, str, int], ...]  # (kind, venue, symbol, expiry_ns)
    funding: tuple[tuple[int, str, str, float, bool, float], ...]  # und, venue, sym, units...
    surface: Any = None
    yields: tuple[tuple[int, float, bool], ...] = ()  # und, amount * yield per year, is USD
    # the last surface lookup, under "surface" (see _surface_lookup)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_options(self) -> int:
        return int(self.opt_units.size)

    def with_vols(self, sigma: FloatArray, skew: FloatArray | None = None) -> CompiledBook:
        """The same book with new implied vols (and skews ``dsigma/dk``) per option."""
        sig = np.asarray(sigma, dtype=np.float64)
        if sig.shape != self.opt_units.shape:
            raise InvalidInput(f"need {self.n_options} vols, got shape {sig.shape}")
        sk = np.zeros_like(sig) if skew is None else np.asarray(skew, dtype=np.float64)
        return replace(self, sigma=sig, skew=sk)

    def with_surface(
        self, surface: VolSurface, market: MarketState, skew: bool = True
    ) -> CompiledBook:
        """Vols and skews from ``surface`` at each option's strike and current ``T``.

        The skew ``dsigma/dk`` (``k = ln(K/F)``) is the surface's own ``dvol_dk(K, T)`` when
        it has one (``deltahedge.surface.Surface`` does), else a central difference in
        ``k`` with ``h = 1e-3``; ``skew=False`` skips it (zeros: only ``sticky_moneyness``
        reads it). Call it when the surface is refitted, off the hot path.

        A surface gives ``vol(K, T)`` for fixed strikes whatever the index, so the vols are
        sticky-strike: after a spot move at the same ``ts_ns`` with the same surface object
        they are the same, and the last lookup is reused (a surface is taken to be
        immutable, as ``Surface`` is). A new surface object or a new ``ts_ns`` looks again.
        """
        return self._surface_lookup(surface, market, skew)[0]

    def _surface_lookup(
        self, surface: VolSurface, market: MarketState, skew: bool
    ) -> tuple[CompiledBook, bool]:
        """``with_surface``, and whether every vol it gave is finite (checked once per lookup)."""
        if self.n_options == 0:
            return replace(self, surface=surface), True
        memo = self._memo.get("surface")
        if memo is not None and memo[0] is surface and memo[1] == market.ts_ns:
            if memo[3] is not None or not skew:
                return memo[4], memo[5]
            sig, finite = memo[2], memo[5]  # the vols are known; only the skews are missing
        else:
            sig = None
        T = np.maximum((self.slot_exp - market.ts_ns) / _YEAR_NS, 1e-8)[self.opt_slot]
        Kx = self.opt_strike
        if sig is None:
            sig = np.asarray(surface.vol(Kx, T), dtype=np.float64)
            sig.setflags(write=False)  # shared by the memo and every book built from it
            finite = _all_finite(sig)
        sk: FloatArray | None = None
        if skew:
            slope = getattr(surface, "dvol_dk", None)
            if callable(slope):
                sk = np.array(slope(Kx, T), dtype=np.float64)
            else:
                h = 1e-3
                up = np.asarray(surface.vol(Kx * np.exp(h), T), dtype=np.float64)
                dn = np.asarray(surface.vol(Kx * np.exp(-h), T), dtype=np.float64)
                sk = (up - dn) / (2 * h)
            sk.setflags(write=False)
        zeros = np.zeros_like(sig) if sk is None else sk
        book = replace(self, sigma=sig, skew=zeros, surface=surface)
        # (surface, ts_ns, sigma, skew or None, the book with them, sigma all finite)
        self._memo["surface"] = (surface, market.ts_ns, sig, sk, book, finite)
        return book, finite

    def _slot_forwards(self, market: MarketState) -> FloatArray:
        fwd = np.empty(self.slot_exp.size)
        for u, (lo, hi) in enumerate(self.slot_bounds):
            if hi > lo:
                st = market.underlyings[self.underlyings[u]]
                fwd[lo:hi] = K.slot_forwards_kernel(
                    self.slot_exp[lo:hi], st.expiries_ns, st.forwards, st.index, market.ts_ns
                )
        return fwd

    def _linear_prices(self, market: MarketState, index: FloatArray) -> FloatArray:
        out = np.empty(len(self.lin_src))
        for j, (kind, venue, sym, exp) in enumerate(self.lin_src):
            u = int(self.lin_und[j])
            st = market.underlyings[self.underlyings[u]]
            if kind == "index":
                out[j] = index[u]
            else:
                mark = st.marks.get((venue, sym))
                if mark is not None:
                    out[j] = mark
                elif kind == "future":
                    out[j] = st.forward(exp, market.ts_ns)
                else:
                    out[j] = index[u]
        return out

    def risk(
        self,
        market: MarketState,
        numeraire: str = "usd",
        delta_model: str = "black76",
        min_variance: tuple[float, float, float] | None = None,
    ) -> BookRisk:
        """Reprice the book on ``market``; see ``book_risk`` for the arguments."""
        coin = _numeraire(numeraire)
        model = _BUILTIN_MODELS.get(delta_model, -1)
        if model < 0 and delta_model not in _EXTERNAL_MODELS:
            raise InvalidInput(f"unknown delta_model {delta_model!r}; allowed: {delta_models()}")
        mv = (0.0, 0.0, 0.0)
        if model == K.MODEL_MIN_VARIANCE:
            if min_variance is None:
                raise InvalidInput(
                    "delta_model 'min_variance' needs min_variance=(a, b, c), the Hull-White "
                    "(2017) coefficients fitted on data"
                )
            mv = min_variance
        try:
            states = [market.underlyings[u] for u in self.underlyings]
        except KeyError as exc:
            raise InvalidInput(
                f"market state has no underlying {exc.args[0]!r}; the book needs {self.underlyings}"
            ) from None
        index = np.array([st.index for st in states])
        if model >= 0 and len(states) == 1:  # the engine's case: one fused call, nothing else
            st = states[0]
            rows, sums, slot_vega, theta_day = K.book_kernel_curve(
                self.opt_units, self.opt_strike, self.opt_logk, self.opt_phi, self.sigma,
                self.opt_slot, self.skew, self.slot_exp, self.slot_und, st.expiries_ns,
                st.forwards, index, market.ts_ns, self.lin_a, self.lin_b,
                self._linear_prices(market, index), self.lin_und, coin, model, *mv,
            )  # fmt: skip
        else:
            rows, sums, slot_vega = self._risk_arrays(market, index, coin, model, delta_model, mv)
            theta_day = sums[:, 4] / 365.0
        funding = np.zeros(index.size)
        for u, venue, sym, units, inverse, per_day in self.funding:
            st = states[u]
            rate = st.funding.get((venue, sym), 0.0)
            if rate:
                price = st.marks.get((venue, sym), st.index)
                notional = units if inverse else units * price
                funding[u] -= notional * rate * per_day
        yld = np.zeros(index.size)
        for u, per_year, is_usd in self.yields:
            yld[u] += per_year / 365.0 * (1.0 if is_usd else index[u])
        return _new_risk(  # BookRisk's fields in order
            market.ts_ns, "coin" if coin else "usd", delta_model, self.underlyings, index,
            sums[:, 0], sums[:, 1], sums[:, 2], sums[:, 3], theta_day, funding, yld, sums[:, 5],
            self.slot_und, self.slot_exp, slot_vega, self.symbols, self.row_underlying, rows,
        )  # fmt: skip

    def _risk_arrays(
        self,
        market: MarketState,
        index: FloatArray,
        coin: bool,
        model: int,
        delta_model: str,
        mv: tuple[float, float, float],
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``book_kernel``'s arrays for any book: several underlyings, external models."""
        slot_fwd = self._slot_forwards(market)
        slot_T = (self.slot_exp - market.ts_ns) / _YEAR_NS
        aux = self.skew
        if model < 0:
            model = K.MODEL_EXTERNAL
            F = slot_fwd[self.opt_slot]
            aux = np.asarray(
                _EXTERNAL_MODELS[delta_model](
                    self.surface,
                    self.opt_phi,
                    F,
                    self.opt_strike,
                    slot_T[self.opt_slot],
                    self.sigma,
                ),
                dtype=np.float64,
            )
        lin_price = self._linear_prices(market, index)
        return K.book_kernel(  # type: ignore[no-any-return]
            self.opt_units,
            self.opt_strike,
            self.opt_logk,
            self.opt_phi,
            self.sigma,
            self.opt_slot,
            aux,
            slot_fwd,
            slot_T,
            self.slot_und,
            self.lin_a,
            self.lin_b,
            lin_price,
            self.lin_und,
            index,
            coin,
            model,
            mv[0],
            mv[1],
            mv[2],
        )


def _all_finite(x: FloatArray) -> bool:
    # a NaN or inf makes the sum non-finite: one pass, no temporary array
    return math.isfinite(float(x.sum()))


def _numeraire(numeraire: str | Numeraire) -> bool:
    if numeraire == "usd" or numeraire is Numeraire.USD:
        return False
    if numeraire == "coin" or numeraire is Numeraire.COIN:
        return True
    raise InvalidInput(f"unknown numeraire {numeraire!r}; allowed: 'usd', 'coin'")


def _vols_for(
    options: list[Position], vols: Mapping[str, float] | Sequence[float] | FloatArray | None
) -> FloatArray:
    if vols is None:
        return np.full(len(options), np.nan)
    if isinstance(vols, Mapping):
        missing = [p.symbol for p in options if p.symbol not in vols]
        if missing:
            raise InvalidInput(f"no implied vol given for {missing[:5]} (of {len(missing)})")
        return np.array([float(vols[p.symbol]) for p in options])
    arr = np.asarray(vols, dtype=np.float64)
    if arr.shape != (len(options),):
        raise InvalidInput(f"need {len(options)} vols (one per option), got shape {arr.shape}")
    return arr


def compile_book(
    positions: Sequence[Position],
    collateral: Sequence[Collateral] = (),
    vols: Mapping[str, float] | Sequence[float] | FloatArray | None = None,
    usd_underlying: str | None = None,
) -> CompiledBook:
    """Turn positions and collateral into the arrays ``CompiledBook.risk`` reprices.

    Parameters
    ----------
    positions : sequence of Position
    collateral : sequence of Collateral
        Coin balances count as delta ``Q`` (usd numeraire); USD-like balances as value;
        their ``yield_per_year`` as ``BookRisk.yield_usd_per_day``.
    vols : mapping symbol -> vol, or one vol per option (in order), or None
        Implied vols (decimals); with None, call ``with_vols``/``with_surface`` before
        ``risk``.
    usd_underlying : str, optional
        Underlying whose coin numeraire USD balances are measured in (default: the first
        underlying of the book).

    Returns
    -------
    CompiledBook
    """
    options = [p for p in positions if isinstance(p.instrument, Option)]
    linear = [p for p in positions if not isinstance(p.instrument, Option)]
    coins = [c for c in collateral if not c.is_usd]
    unders: list[str] = []
    for name in [p.underlying for p in positions] + [c.coin.upper() for c in coins]:
        if name not in unders:
            unders.append(name)
    usd = [c for c in collateral if c.is_usd]
    if usd:
        base = usd_underlying or (unders[0] if unders else None)
        if base is None:
            raise InvalidInput("a book of USD balances only needs usd_underlying")
        if base not in unders:
            unders.append(base)
    uidx = {u: i for i, u in enumerate(unders)}

    slot_keys = sorted({(uidx[p.underlying], p.instrument.expiry_ns) for p in options})  # type: ignore[union-attr]
    slot_of = {k: i for i, k in enumerate(slot_keys)}
    slot_und = np.array([k[0] for k in slot_keys], dtype=np.int64)
    slot_exp = np.array([k[1] for k in slot_keys], dtype=np.int64)
    bounds = tuple(
        (int(np.searchsorted(slot_und, u)), int(np.searchsorted(slot_und, u, side="right")))
        for u in range(len(unders))
    )
    opt_units = np.array([p.quantity * p.instrument.contract_size for p in options])
    strike = np.array([p.instrument.strike for p in options])  # type: ignore[union-attr]
    phi = np.array([float(int(p.instrument.kind)) for p in options])  # type: ignore[union-attr]
    slots = np.array(
        [slot_of[(uidx[p.underlying], p.instrument.expiry_ns)] for p in options],  # type: ignore[union-attr]
        dtype=np.int64,
    )

    a: list[float] = []
    b: list[float] = []
    lund: list[int] = []
    src: list[tuple[str, str, str, int]] = []
    fund: list[tuple[int, str, str, float, bool, float]] = []
    yields: list[tuple[int, float, bool]] = []
    symbols = [p.symbol for p in options]
    for p in linear:
        ins = p.instrument
        n = p.quantity * ins.contract_size
        u = uidx[p.underlying]
        if isinstance(ins, Spot):
            a.append(0.0)
            b.append(n)
            src.append(("index", ins.venue, ins.symbol, 0))
        else:
            if ins.is_inverse:  # V = n c (P/P0 - 1)
                a.append(-n)
                b.append(n / p.entry_price)
            else:  # V = n s (P - P0)
                a.append(-n * p.entry_price)
                b.append(n)
            if isinstance(ins, Perpetual):
                src.append(("perp", ins.venue, ins.symbol, 0))
                per_day = 86_400.0 / ins.funding_interval_s
                fund.append((u, ins.venue, ins.symbol, n, ins.is_inverse, per_day))
            elif isinstance(ins, Future):
                src.append(("future", ins.venue, ins.symbol, ins.expiry_ns))
        lund.append(u)
        symbols.append(p.symbol)
    for c in collateral:
        if c.is_usd:
            a.append(c.amount)
            b.append(0.0)
            lund.append(uidx[usd_underlying or unders[0]])
        else:
            a.append(0.0)
            b.append(c.amount)
            lund.append(uidx[c.coin.upper()])
        src.append(("index", c.venue, c.coin, 0))
        if c.yield_per_year:
            yields.append((lund[-1], c.amount * c.yield_per_year, c.is_usd))
        symbols.append(f"collateral:{c.coin}@{c.venue}" if c.venue else f"collateral:{c.coin}")

    sigma = _vols_for(options, vols)
    row_und = np.array([uidx[p.underlying] for p in options] + lund, dtype=np.int64)
    return CompiledBook(
        underlyings=tuple(unders),
        symbols=tuple(symbols),
        row_underlying=row_und,
        opt_units=opt_units.astype(np.float64),
        opt_strike=strike.astype(np.float64),
        opt_logk=np.log(strike.astype(np.float64)),
        opt_phi=phi.astype(np.float64),
        opt_slot=slots,
        sigma=sigma,
        skew=np.zeros(len(options)),
        slot_und=slot_und,
        slot_exp=slot_exp,
        slot_bounds=bounds,
        lin_a=np.array(a, dtype=np.float64),
        lin_b=np.array(b, dtype=np.float64),
        lin_und=np.array(lund, dtype=np.int64),
        lin_src=tuple(src),
        funding=tuple(fund),
        yields=tuple(yields),
    )


def book_risk(
    positions: Sequence[Position] | CompiledBook,
    market: MarketState,
    surface: VolSurface | None = None,
    numeraire: str = "usd",
    delta_model: str = "black76",
    *,
    collateral: Sequence[Collateral] = (),
    vols: Mapping[str, float] | Sequence[float] | FloatArray | None = None,
    min_variance: tuple[float, float, float] | None = None,
) -> BookRisk:
    """Net delta, gamma, vega, theta and funding of a book, per underlying and per position.

    Parameters
    ----------
    positions : sequence of Position, or a CompiledBook
        Pass a ``CompiledBook`` (``compile_book``) on the hot path: nothing is rebuilt.
    market : MarketState
    surface : VolSurface, optional
        Implied vols (and, for ``sticky_moneyness``, skews) come from it; else ``vols``.
        With a ``CompiledBook``, a spot move under the same surface object at the same
        ``ts_ns`` reuses the last lookup (``CompiledBook.with_surface``).
    numeraire : {"usd", "coin"}
    delta_model : str
        One of ``delta_models()``.
    collateral : sequence of Collateral
    vols : mapping symbol -> vol, or one vol per option
        Used when ``surface`` is None (or the compiled book has no vols).
    min_variance : (a, b, c)
        Hull-White coefficients, required by ``delta_model="min_variance"``.

    Returns
    -------
    BookRisk
    """
    book = (
        positions
        if isinstance(positions, CompiledBook)
        else compile_book(positions, collateral, vols)
    )
    if surface is not None:  # skews are read by the sticky_moneyness model only
        # a reused lookup comes with its vols' check: after a spot move nothing is re-read
        book, finite = book._surface_lookup(surface, market, delta_model == "sticky_moneyness")
    else:
        finite = book.n_options == 0 or _all_finite(book.sigma)
    if not finite:
        raise InvalidInput("options in the book have no implied vol: pass surface= or vols=")
    return book.risk(market, numeraire, delta_model, min_variance)


__all__ = [
    "BookRisk",
    "CompiledBook",
    "DeltaModelFn",
    "VolSurface",
    "book_risk",
    "compile_book",
    "delta_models",
    "register_delta_model",
]
