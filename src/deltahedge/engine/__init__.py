"""The real-time engine: one asyncio loop from market tick to hedge, and its wiring.

Modules (imported directly; this package imports nothing eagerly so that
``deltahedge.engine.config`` stays light):

- ``engine``: :class:`~deltahedge.engine.engine.Engine` (tick -> MarketState -> book
  Greeks -> policy -> risk guard -> router -> order manager -> fills), recovery on start,
  kill switch, dashboard publishing; ``EngineControls`` for the dashboard.
- ``accounts``, ``records``: hedge legs' positions/PnL, latency histogram, counters.
- ``margin``: liquidation-distance watch per venue (de-risk, unwind).
- ``refit``: surface refits from option ticks, run off the loop.
- ``publish``, ``view``: the dashboard update and the Rich terminal view.
- ``runner``: run an engine with signals, a time limit and the live view.
- ``scenario``: the embedded demo (surface fitted once from a real Deribit snapshot,
  short-strangle book, paper venues) and the engine of a ``DeltaHedgeConfig``.
- ``durable_venue``: a paper venue whose exchange-side state survives the engine.
- ``config``, ``risk_guard``, ``observability``: configuration, risk guard and kill
  switch, logs and metrics.
"""
