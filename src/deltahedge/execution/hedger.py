"""From a policy's :class:`HedgeIntent` to orders: gather books, route, slice, send.

``Hedger.hedge(intent)`` is the execution half of the engine's hot path:

1. if the intent names an instrument (and a quantity in contracts), that single order is
   sent; otherwise
2. the current books of the configured hedge targets are read through the Venue port
   (:func:`book_sources`: a venue that is down, stale or failing is marked unhealthy and
   the router skips it), the :class:`SmartRouter` splits the delta, and the order manager
   sends the legs (IOC limits at the worst routed price);
3. when the intent allows slicing, the router's TWAP clips are sent one after another,
   each as its own sub-intent ``<intent_id>/c<k>`` (idempotent ids), waiting between them
   with the injected ``sleep``. The whole intent holds the exposure: another intent on the
   same underlying is refused until the last clip is done.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from deltahedge.core.enums import OrderSide
from deltahedge.core.errors import InvalidInput, VenueError
from deltahedge.core.events import HedgeIntent, OrderRequest
from deltahedge.execution.orders import ExecutionReport, OrderManager
from deltahedge.execution.router import BookSource, SmartRouter
from deltahedge.execution.venue import InstrumentInfo, Venue


@dataclass(frozen=True, slots=True)
class HedgeTarget:
    """An instrument the router may hedge with.

    ``depth``: book levels read per side; ``max_coin``: per-venue limit (coin delta);
    ``carry_hours``: holding horizon over which perpetual funding is charged.
    """

    venue: str
    instrument: str
    depth: int = 200
    max_coin: float = math.inf
    carry_hours: float = 8.0


async def book_sources(
    venues: Mapping[str, Venue],
    targets: Sequence[HedgeTarget],
    specs: dict[tuple[str, str], InstrumentInfo] | None = None,
) -> list[BookSource]:
    """Read each target's book, spec and funding; failing or unhealthy venues come back unhealthy.

    Funding is handed to the router per 8 h, whatever interval the venue pays it over.

    ``specs``, when given, caches instrument specs by (venue, symbol) across calls: a spec
    is fetched from the venue once (contract size, lot and fees do not change intraday),
    and a target whose spec cannot be fetched is left out, as without a cache.
    """
    out: list[BookSource] = []
    for t in targets:
        venue = venues[t.venue]
        key = (t.venue, t.instrument)
        spec = specs.get(key) if specs is not None else None
        if spec is None:
            try:
                spec = (await venue.instruments())[t.instrument]
            except (VenueError, KeyError):
                continue  # without its spec the target cannot be priced at all
            if specs is not None:
                specs[key] = spec
        try:
            book = await venue.order_book(t.instrument, t.depth)
            funding = 0.0
            if spec.kind == "perpetual":
                fr = await venue.funding_rate(t.instrument)
                # the router charges a rate per 8 h; Hyperliquid's, for one, is per hour
                funding = fr.rate * _EIGHT_HOURS_S / fr.interval_s
            healthy = venue.is_healthy() and len(book.bids) > 0 and len(book.asks) > 0
            ts = book.ts_ns
        except VenueError:
            healthy, funding, ts = False, 0.0, 0
        out.append(
            BookSource(
                t.venue,
                spec,
                book.bids if healthy else _EMPTY,
                book.asks if healthy else _EMPTY,
                ts,
                healthy,
                t.max_coin,
                funding,
                t.carry_hours,
            )
        )
    return out


_EIGHT_HOURS_S = 8 * 3600.0
_EMPTY = np.empty((0, 2))
_EMPTY.flags.writeable = False


class Hedger:
    """Turns hedge intents into routed, journaled orders (see module docstring)."""

    def __init__(
        self,
        manager: OrderManager,
        targets: Sequence[HedgeTarget],
        router: SmartRouter | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if not targets:
            raise InvalidInput("Hedger needs at least one hedge target")
        self.manager = manager
        self.targets = list(targets)
        self.router = router or SmartRouter()
        self._sleep = sleep or asyncio.sleep
        self._active: dict[str, str] = {}
        self._specs: dict[tuple[str, str], InstrumentInfo] = {}

    async def hedge(self, intent: HedgeIntent) -> list[ExecutionReport]:
        """Execute ``intent``; one report per clip (a single ``skipped`` one when refused)."""
        holder = self._active.get(intent.underlying) or self.manager.in_flight(intent.underlying)
        if holder is not None and holder != intent.intent_id:
            reason = f"hedge {holder} on {intent.underlying} is still in flight; not hedging twice"
            return [ExecutionReport(intent.intent_id, "skipped", {}, {}, {}, 0.0, reason)]
        self._active[intent.underlying] = intent.intent_id
        try:
            if intent.instrument is not None:
                return [await self._direct(intent)]
            reports = []
            clips = self.router.clips(intent)
            for k, clip in enumerate(clips):
                wait_s = (clip.start_ns - self.manager.clock.now_ns()) / 1e9
                if wait_s > 0:
                    await self._sleep(wait_s)
                sub = (
                    intent  # one clip is the intent itself (and skips a 13 us replace)
                    if len(clips) == 1
                    else replace(
                        intent,
                        intent_id=f"{intent.intent_id}/c{k}",
                        delta_coin=clip.coin,
                        ts_ns=self.manager.clock.now_ns(),
                    )
                )
                reports.append(await self._routed(sub))
            return reports
        finally:
            self._active.pop(intent.underlying, None)

    async def _routed(self, intent: HedgeIntent) -> ExecutionReport:
        sources = await book_sources(self.manager.venues, self.targets, self._specs)
        route = self.router.route(
            intent.delta_coin, sources, self.manager.clock.now_ns(), intent.max_slippage_bps
        )
        if not route.allocations:
            skipped = "; ".join(f"{v}: {why}" for v, why in route.skipped) or "no liquidity"
            return ExecutionReport(
                intent.intent_id, "failed", {}, {}, {}, 0.0, f"nothing routable ({skipped})"
            )
        return await self.manager.execute(intent, route.to_orders(intent))

    async def _direct(self, intent: HedgeIntent) -> ExecutionReport:
        target = next((t for t in self.targets if t.instrument == intent.instrument), None)
        if target is None or intent.quantity is None or intent.quantity == 0:
            raise InvalidInput(
                f"intent {intent.intent_id} names instrument {intent.instrument!r} with quantity "
                f"{intent.quantity}; it must be one of {[t.instrument for t in self.targets]} with a non-zero quantity"
            )
        side = OrderSide.BUY if intent.quantity > 0 else OrderSide.SELL
        leg = OrderRequest(
            "",
            target.venue,
            target.instrument,
            side,
            abs(intent.quantity),
            intent_id=intent.intent_id,
        )
        return await self.manager.execute(intent, [leg])


__all__ = ["HedgeTarget", "Hedger", "book_sources"]
