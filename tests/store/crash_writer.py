"""A process that journals intents, orders and fills until it is killed (for the crash test).

Usage: ``python crash_writer.py DB [--finish]``. On start it recovers like the engine: every
order in flight is settled from the "venue" (here: each order is filled in full by fill
``f-<n>``) without sending anything again, then it continues with the next intent number.
After each durable write it prints an acknowledgement line and flushes, so the parent knows
what the journal has promised: ``I n`` (intent), ``O n`` (order), ``F n`` (fill), ``U n``
(filled), ``D n`` (a duplicate fill recognised). With ``--finish`` it exits after recovery.
"""

from __future__ import annotations

import sys

from deltahedge.core import (
    Fill,
    HedgeIntent,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    client_order_id,
)
from deltahedge.store import Journal

T0 = 1_767_225_600_000_000_000
QTY = 0.5


def ack(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def venue_fill(n: int, coid: str) -> Fill:
    return Fill(
        f"f-{n}",
        coid,
        "paper",
        "BTC-PERPETUAL",
        OrderSide.BUY,
        QTY,
        93_000.0 + n,
        0.01,
        "USD",
        T0 + 10 * n + 3,
    )


def main() -> None:
    db = sys.argv[1]
    j = Journal(db)
    # Recovery: settle what may have reached the venue; never send it again.
    for o in j.in_flight_orders():
        n = int(o.request.intent_id.split("-")[1])
        j.record_fill(venue_fill(n, o.request.client_order_id))
        j.record_order_update(
            OrderUpdate(
                o.request.client_order_id, "paper", OrderStatus.FILLED, QTY, T0 + 10 * n + 4
            )
        )
    ids = [int(e["key"].split("-")[1]) for e in j.events(kinds=["intent"])]
    n = max(ids, default=-1) + 1
    ack(f"R {n}")
    if "--finish" in sys.argv:
        return
    last: Fill | None = None
    while True:
        iid = f"int-{n}"
        coid = client_order_id(iid)
        j.record_intent(HedgeIntent(iid, T0 + 10 * n, "BTC", QTY, "crash test"))
        ack(f"I {n}")
        j.record_order(
            OrderRequest(
                coid,
                "paper",
                "BTC-PERPETUAL",
                OrderSide.BUY,
                QTY,
                intent_id=iid,
                ts_ns=T0 + 10 * n + 1,
            )
        )
        ack(f"O {n}")
        j.record_order_update(OrderUpdate(coid, "paper", OrderStatus.ACKED, 0.0, T0 + 10 * n + 2))
        fill = venue_fill(n, coid)
        assert j.record_fill(fill)
        ack(f"F {n}")
        j.record_order_update(OrderUpdate(coid, "paper", OrderStatus.FILLED, QTY, T0 + 10 * n + 4))
        ack(f"U {n}")
        if n % 3 == 0 and last is not None:  # the venue resends an earlier fill
            assert not j.record_fill(last)
            ack(f"D {n}")
        last = fill
        n += 1


if __name__ == "__main__":
    main()
