"""Atomic option + hedge: the option trade stands only if its hedge fills within the slippage limit.

``AtomicExecutor.execute_atomic(option_trade, hedge, max_slippage_bps)`` chooses, in order:

1. **Combo** - both legs on one venue that has combo orders (``submit_combo``; Deribit
   combos, the paper venue): one all-or-none order, the venue guarantees atomicity.
2. **Hedge first, all-or-none** - the hedge is sent fill-or-kill at a limit of
   ``reference * (1 +/- max_slippage_bps)`` (reference = the hedge book's mid, or the pool
   price). On the paper venue and on AMMs this is exact: FOK matches synchronously and an
   AMM swap reverts past its guard. Only a fully filled hedge lets the option trade be sent.
   The option leg is then sent fill-or-kill at its own limit; if it does not fill, the
   hedge is unwound with a market order and the result says so (``aborted`` with the
   unwind's cost).

What cannot be guaranteed on a live CEX without combos
------------------------------------------------------
Two venues cannot be made atomic from the outside. Between the hedge fill and the option
fill there is a window (network latency, a rejection, a disconnect, a crash) in which the
hedge stands alone. The executor narrows it (FOK on both legs, the option leg's book is
checked before the hedge is sent) and closes it by unwinding, but the unwind trades at the
market: it costs the spread and slippage and, in a fast market, more than the slippage
limit. The legs are journaled as intents ``<id>:hedge``, ``<id>:option`` and
``<id>:unwind``; if the process dies between the hedge and the option, a restarted engine
finds a ``:hedge`` intent with no ``:option`` sibling, i.e. a lone hedge. Unwinding it
after a restart is left to the operator or the engine's next hedge decision (the hedge
is a delta like any other); this executor does not resume half-done atomic trades. The result's ``guarantee`` field says which guarantee applied: ``"combo"``,
``"exact"`` (paper / AMM: the pre-check and both legs run with no other market activity in
between) or ``"best_effort"`` (live CEX legs: unwind on failure).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from deltahedge.core.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from deltahedge.core.errors import InvalidInput, OrderRejected, VenueError
from deltahedge.core.events import HedgeIntent, OrderRequest
from deltahedge.core.ids import client_order_id
from deltahedge.execution.orders import ExecutionReport, OrderManager
from deltahedge.execution.venue import Venue


@dataclass(frozen=True, slots=True)
class AtomicResult:
    """Outcome of an atomic option + hedge.

    Attributes
    ----------
    committed : bool
        True when both legs stand; False when neither does (after an unwind if needed).
    reason : str
        Why it was aborted, or ``"filled"``.
    guarantee : str
        ``"combo"``, ``"exact"`` or ``"best_effort"`` (see module docstring).
    hedge_avg_price, option_avg_price : float
        Average fill prices (0 when the leg did not fill).
    hedge_slippage_bps : float
        Hedge average price against the reference, in basis points (signed, > 0 is a cost).
    unwind_cost : float
        Quote currency lost unwinding a lone hedge (0 when there was none).
    """

    committed: bool
    reason: str
    guarantee: str
    hedge_avg_price: float = 0.0
    option_avg_price: float = 0.0
    hedge_slippage_bps: float = 0.0
    unwind_cost: float = 0.0


def _is_exact(venue: Venue) -> bool:
    # paper and AMM venues match in-process: nothing trades between our check and our legs
    caps = venue.capabilities
    return caps.atomic_fill_or_kill and caps.synchronous


class AtomicExecutor:
    """Executes option + hedge pairs atomically where possible (see module docstring).

    Parameters
    ----------
    manager : OrderManager
        Journals and sends the legs (idempotent ids, reconciliation).
    """

    def __init__(self, manager: OrderManager) -> None:
        self.manager = manager

    @property
    def venues(self) -> Mapping[str, Venue]:
        return self.manager.venues

    async def reference_price(self, request: OrderRequest) -> float:
        """Mid of the request's book, in its quote currency."""
        book = await self.venues[request.venue].order_book(request.instrument, 1)
        return 0.5 * (float(book.bids[0, 0]) + float(book.asks[0, 0]))

    async def execute_atomic(
        self, option_trade: OrderRequest, hedge: OrderRequest, max_slippage_bps: float
    ) -> AtomicResult:
        """Trade ``option_trade`` only if ``hedge`` fills within ``max_slippage_bps`` of its mid.

        ``option_trade.price`` is the option's limit (required); ``hedge.price`` is ignored
        and replaced by the slippage limit. Client order ids derive from
        ``option_trade.intent_id`` (legs 0 and 1; the unwind is leg 2).
        """
        if option_trade.price is None:
            raise InvalidInput(
                "option_trade needs a limit price (the price the option is quoted at)"
            )
        if not max_slippage_bps >= 0:
            raise InvalidInput(f"max_slippage_bps must be >= 0, got {max_slippage_bps}")
        base = option_trade.intent_id or option_trade.client_order_id
        ref = await self.reference_price(hedge)
        limit = ref * (1.0 + hedge.side.sign * max_slippage_bps * 1e-4)
        hedge_fok = replace(
            hedge,
            order_type=OrderType.LIMIT,
            price=limit,
            time_in_force=TimeInForce.FOK,
            client_order_id=client_order_id(base, 1),
            intent_id=base,
        )
        option_fok = replace(
            option_trade,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.FOK,
            client_order_id=client_order_id(base, 0),
            intent_id=base,
        )
        venue = self.venues[hedge.venue]
        if (
            hedge.venue == option_trade.venue
            and venue.capabilities.combo_orders
            and hasattr(venue, "submit_combo")
        ):
            return await self._combo(venue, option_fok, hedge_fok, ref)
        opt_venue = self.venues[option_trade.venue]
        exact = _is_exact(venue) and _is_exact(opt_venue)
        guarantee = "exact" if exact else "best_effort"
        # pre-check the option leg so that a hedge is not bought for an option that cannot trade
        if not await self._option_fillable(option_fok):
            return AtomicResult(
                False, "option leg cannot fill at its limit; nothing sent", guarantee
            )
        hedge_rep = await self.manager.execute(
            self._intent(base + ":hedge", hedge_fok), [hedge_fok]
        )
        if hedge_rep.status != "filled":
            why = hedge_rep.reason or f"hedge {hedge_rep.status}"
            return AtomicResult(
                False,
                f"hedge could not fill within {max_slippage_bps} bp of {ref:.2f} ({why}); option not traded",
                guarantee,
            )
        h_avg = hedge_rep.avg_price[0]
        slip = hedge.side.sign * (h_avg - ref) / ref * 1e4
        opt_rep = await self.manager.execute(
            self._intent(base + ":option", option_fok), [option_fok]
        )
        if opt_rep.status == "filled":
            return AtomicResult(True, "filled", guarantee, h_avg, opt_rep.avg_price[0], slip)
        unwind = replace(
            hedge,
            side=OrderSide.SELL if hedge.side is OrderSide.BUY else OrderSide.BUY,
            order_type=OrderType.MARKET,
            price=None,
            time_in_force=TimeInForce.GTC,
            quantity=hedge_rep.filled[0],
            client_order_id=client_order_id(base, 2),
            intent_id=base,
        )
        un_rep = await self.manager.execute(self._intent(base + ":unwind", unwind), [unwind])
        cost = _unwind_cost(hedge, hedge_rep, un_rep)
        return AtomicResult(
            False,
            f"option leg {opt_rep.status} ({opt_rep.reason or 'no fill'}); hedge unwound "
            f"({un_rep.status}, cost {cost:.4f})",
            guarantee,
            h_avg,
            0.0,
            slip,
            cost,
        )

    async def _combo(
        self, venue: Venue, option: OrderRequest, hedge: OrderRequest, ref: float
    ) -> AtomicResult:
        try:
            updates = await venue.submit_combo([option, hedge])  # type: ignore[attr-defined]
        except (OrderRejected, VenueError) as exc:
            return AtomicResult(False, f"combo refused: {exc}", "combo")
        if all(u.status is OrderStatus.FILLED for u in updates):
            h = updates[1].avg_price
            slip = hedge.side.sign * (h - ref) / ref * 1e4
            return AtomicResult(True, "filled", "combo", h, updates[0].avg_price, slip)
        return AtomicResult(
            False, "combo could not fill every leg within its limit; nothing traded", "combo"
        )

    async def _option_fillable(self, option: OrderRequest) -> bool:
        book = await self.venues[option.venue].order_book(option.instrument, 50)
        rows = book.asks if option.side is OrderSide.BUY else book.bids
        price = option.price if option.price is not None else float("nan")
        ok = rows[:, 0] <= price if option.side is OrderSide.BUY else rows[:, 0] >= price
        return float(rows[ok, 1].sum()) >= option.quantity - 1e-12

    def _intent(self, intent_id: str, leg: OrderRequest) -> HedgeIntent:
        # the option, the hedge and the unwind are separate exposures for the in-flight guard
        return HedgeIntent(
            intent_id, self.manager.clock.now_ns(), intent_id, 0.0, "atomic option+hedge leg"
        )


def _unwind_cost(hedge: OrderRequest, opened: ExecutionReport, closed: ExecutionReport) -> float:
    q = min(opened.filled.get(0, 0.0), closed.filled.get(0, 0.0))
    return (
        hedge.side.sign * (opened.avg_price.get(0, 0.0) - closed.avg_price.get(0, 0.0)) * q
        + closed.fees
    )


__all__ = ["AtomicExecutor", "AtomicResult"]
