"""Resuming half-done atomic option + hedge trades after a restart.

:meth:`~deltahedge.execution.atomic.AtomicExecutor.execute_atomic` journals a *plan* (the
intent ``<id>:atomic``) before it sends anything: both legs with their limits (the option's
limit price, the hedge's fill-or-kill limit, the reference mid and the slippage limit) and
an optional validity time. The legs themselves are journaled as the intents ``<id>:hedge``,
``<id>:option`` and ``<id>:unwind`` by the order manager, journal first.

After a crash, :func:`recover_atomic` settles every plan from what the journal and the
venues say (it reconciles first, so an order whose answer was lost is looked up, never
sent twice):

===========================================  =============================================
state found                                  action
===========================================  =============================================
no ``:hedge`` intent                         nothing was sent: aborted, nothing to undo
hedge journaled, never placed, plan expired  hedge abandoned (never sent): aborted
hedge not (yet) done                         driven to its end (same client order ids)
hedge unfilled                               aborted, nothing stands
hedge filled, option filled                  committed: both legs stand
hedge filled, option absent, plan valid      option sent fill-or-kill at its recorded
                                             limit; filled: committed, else unwind
hedge filled, option failed or plan expired  hedge unwound at the market (``:unwind``)
``:unwind`` journaled                        unwind driven to its end
===========================================  =============================================

Every step goes through the order manager, whose client order ids derive from the intent
ids, so running the recovery again after another crash resumes the same orders instead of
sending new ones: it is idempotent. The decision and its reason are journaled as the
intent ``<id>:atomic:decision``, once: a repeated run finds it and leaves it as it is
(a durable journal refuses to record an intent id twice with other values).

On a live CEX the same caveat as for the atomic executor applies: the unwind trades at the
market and may cost more than the slippage limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from deltahedge.core.enums import OrderSide, OrderType, TimeInForce
from deltahedge.core.events import HedgeIntent, OrderRequest
from deltahedge.core.ids import client_order_id
from deltahedge.execution.journal import Journal
from deltahedge.execution.orders import ExecutionReport, OrderManager

_PREFIX = "atomic option+hedge plan "
_EPS = 1e-9


def leg_intent(intent_id: str, ts_ns: int, reason: str = "atomic option+hedge leg") -> HedgeIntent:
    """The intent of one atomic leg: its own exposure for the in-flight guard."""
    return HedgeIntent(intent_id, ts_ns, intent_id, 0.0, reason)


@dataclass(frozen=True, slots=True)
class AtomicPlan:
    """An atomic trade as journaled before its first order, with the limits it must keep.

    Attributes
    ----------
    base : str
        Intent id of the trade; the legs are ``<base>:hedge``, ``:option``, ``:unwind``.
    option : OrderRequest
        The option leg, fill-or-kill at its limit price (quote currency of the option).
    hedge : OrderRequest
        The hedge leg, fill-or-kill at ``reference * (1 +/- max_slippage_bps)``.
    reference : float
        Mid of the hedge book when the trade was decided.
    max_slippage_bps : float
    valid_until_ns : int or None
        After this time (clock ns) a recovery no longer completes the option leg.
    """

    base: str
    option: OrderRequest
    hedge: OrderRequest
    reference: float
    max_slippage_bps: float
    valid_until_ns: int | None = None

    @property
    def intent_id(self) -> str:
        return self.base + ":atomic"

    def expired(self, now_ns: int) -> bool:
        return self.valid_until_ns is not None and now_ns > self.valid_until_ns

    def to_intent(self, ts_ns: int) -> HedgeIntent:
        """The plan as a journal intent (numbers in ``inputs``, names in ``reason``)."""
        o, h = self.option, self.hedge
        names = {
            "base": self.base,
            "option_venue": o.venue,
            "option_instrument": o.instrument,
            "hedge_venue": h.venue,
            "hedge_instrument": h.instrument,
            "valid_until_ns": self.valid_until_ns,
        }
        return HedgeIntent(
            self.intent_id,
            ts_ns,
            self.intent_id,
            0.0,
            _PREFIX + json.dumps(names, sort_keys=True),
            policy="atomic",
            inputs={
                "option_qty": o.side.sign * o.quantity,
                "option_limit": float(o.price if o.price is not None else float("nan")),
                "hedge_qty": h.side.sign * h.quantity,
                "hedge_limit": float(h.price if h.price is not None else float("nan")),
                "reference": self.reference,
                "max_slippage_bps": self.max_slippage_bps,
            },
            instrument=o.instrument,
            quantity=o.side.sign * o.quantity,
            max_slippage_bps=self.max_slippage_bps,
        )

    @classmethod
    def from_intent(cls, intent: HedgeIntent) -> AtomicPlan | None:
        """The plan journaled as ``intent``; None when it is not a plan."""
        if intent.policy != "atomic" or not intent.reason.startswith(_PREFIX):
            return None
        names = json.loads(intent.reason[len(_PREFIX) :])
        x = intent.inputs
        base = names["base"]

        def leg(venue: str, instrument: str, qty: float, price: float, k: int) -> OrderRequest:
            return OrderRequest(
                client_order_id(base, k),
                venue,
                instrument,
                OrderSide.BUY if qty > 0 else OrderSide.SELL,
                abs(qty),
                OrderType.LIMIT,
                price,
                TimeInForce.FOK,
                intent_id=base,
            )

        return cls(
            base,
            leg(
                names["option_venue"],
                names["option_instrument"],
                x["option_qty"],
                x["option_limit"],
                0,
            ),
            leg(
                names["hedge_venue"], names["hedge_instrument"], x["hedge_qty"], x["hedge_limit"], 1
            ),
            float(x["reference"]),
            float(x["max_slippage_bps"]),
            names["valid_until_ns"],
        )

    def unwind_request(self, quantity: float) -> OrderRequest:
        """A market order closing ``quantity`` contracts of the hedge."""
        h = self.hedge
        return OrderRequest(
            client_order_id(self.base, 2),
            h.venue,
            h.instrument,
            OrderSide.SELL if h.side is OrderSide.BUY else OrderSide.BUY,
            quantity,
            OrderType.MARKET,
            None,
            TimeInForce.GTC,
            intent_id=self.base,
        )


@dataclass(frozen=True, slots=True)
class AtomicRecovery:
    """What :func:`recover_atomic` found and did for one plan.

    ``action`` is ``"none"`` (already settled), ``"completed_option"``, ``"unwound"``,
    ``"abandoned"`` (the hedge was journaled but never sent) or ``"nothing_sent"``;
    ``committed`` is True when both legs stand, False when neither does.
    """

    base: str
    committed: bool
    action: str
    reason: str
    hedge_filled: float = 0.0
    option_filled: float = 0.0
    unwound: float = 0.0


def record_decision(
    journal: Journal, base: str, ts_ns: int, committed: bool, reason: str
) -> HedgeIntent:
    """Journal the outcome of an atomic trade as ``<base>:atomic:decision``; return it."""
    iid = base + ":atomic:decision"
    decision = HedgeIntent(
        iid,
        ts_ns,
        iid,
        0.0,
        reason,
        policy="atomic-decision",
        inputs={"committed": 1.0 if committed else 0.0},
    )
    journal.record_intent(decision)
    return decision


async def recover_atomic(
    manager: OrderManager, journal: Journal | None = None, now_ns: int | None = None
) -> list[AtomicRecovery]:
    """Settle every journaled atomic trade: both legs stand, or neither does.

    Parameters
    ----------
    manager : OrderManager
        Rebuilt from ``journal`` (:meth:`OrderManager.recover`); it is reconciled here first.
    journal : Journal, optional
        Where the plans are read and the decisions written (the manager's by default).
    now_ns : int, optional
        Time checked against each plan's validity (the manager's clock by default).

    Raises
    ------
    ExecutionError
        When a venue cannot be reached; nothing was sent twice, run it again later.
    """
    journal = journal if journal is not None else manager.journal
    journaled = journal.load().intents
    plans = [p for p in (AtomicPlan.from_intent(i) for i in journaled.values()) if p]
    if not plans:
        return []
    await manager.reconcile()
    out = []
    for plan in plans:
        now = manager.clock.now_ns() if now_ns is None else now_ns
        res = await _settle(manager, plan, now)
        did = plan.base + ":atomic:decision"
        if did not in journaled and did not in manager.intents:
            # journaled once, when first settled (a journal may refuse to rewrite an intent)
            manager.intents[did] = record_decision(
                journal, plan.base, now, res.committed, res.reason
            )
        out.append(res)
    return out


async def _settle(om: OrderManager, plan: AtomicPlan, now: int) -> AtomicRecovery:
    base = plan.base
    known = om.intents
    hedge_id, option_id, unwind_id = base + ":hedge", base + ":option", base + ":unwind"
    if hedge_id not in known:
        return AtomicRecovery(
            base, False, "nothing_sent", "no hedge was journaled; nothing was sent"
        )
    if plan.expired(now) and await om.abandon_unsent(hedge_id):
        return AtomicRecovery(
            base, False, "abandoned", "plan expired before its hedge reached the venue; not sent"
        )
    # a hedge intent journaled without its order (nothing sent) is sent now if still valid
    hedge_rep = await om.execute(known[hedge_id], [] if plan.expired(now) else [plan.hedge])
    h_filled = hedge_rep.filled.get(0, 0.0) if hedge_rep.targets else 0.0
    if h_filled <= _EPS:
        return AtomicRecovery(
            base,
            False,
            "none",
            f"hedge {hedge_rep.status} ({hedge_rep.reason or 'no fill'}); option not traded",
        )
    opt_rep: ExecutionReport | None = None
    action = "none"
    may_send = unwind_id not in known and hedge_rep.status == "filled" and not plan.expired(now)
    if option_id in known:
        if plan.expired(now):
            await om.abandon_unsent(option_id)  # journaled but never sent: too late now
        opt_rep = await om.execute(known[option_id], [])
        if not opt_rep.targets and may_send:
            # the option intent was journaled, its order not (nothing sent): send it now
            opt_rep = await om.execute(known[option_id], [plan.option])
            action = "completed_option"
    elif may_send:
        opt_rep = await om.execute(leg_intent(option_id, now), [plan.option])
        action = "completed_option"
    option_stands = opt_rep is not None and opt_rep.status == "filled" and bool(opt_rep.targets)
    if unwind_id not in known and option_stands and opt_rep is not None:
        return AtomicRecovery(base, True, action, "filled", h_filled, opt_rep.filled.get(0, 0.0))
    if opt_rep is None:
        why = (
            "plan expired before the option leg was sent"
            if plan.expired(now)
            else "hedge incomplete"
        )
    else:
        why = f"option leg {opt_rep.status} ({opt_rep.reason or 'no fill'})"
    if unwind_id in known:
        un_rep = await om.execute(known[unwind_id], [plan.unwind_request(h_filled)])
    else:
        un_rep = await om.execute(
            leg_intent(unwind_id, now, "atomic: unwind a lone hedge"),
            [plan.unwind_request(h_filled)],
        )
        action = "unwound"
    return AtomicRecovery(
        base,
        False,
        action,
        f"{why}; hedge unwound ({un_rep.status})",
        h_filled,
        opt_rep.filled.get(0, 0.0) if opt_rep is not None else 0.0,
        un_rep.filled.get(0, 0.0),
    )


__all__ = ["AtomicPlan", "AtomicRecovery", "leg_intent", "record_decision", "recover_atomic"]
