"""Small helpers of OptionChain."""

from __future__ import annotations

from importlib.resources import as_file

import numpy as np

from deltahedge.commands.demo import demo_chain_path
from deltahedge.marketdata import load_chain


def _chain():
    with as_file(demo_chain_path()) as path:
        return load_chain(path)


def test_by_expiry_partitions_the_chain_in_order():
    chain = _chain()
    parts = list(chain.by_expiry())
    assert [e for e, _ in parts] == sorted(chain.expiries().tolist())
    assert sum(len(p) for _, p in parts) == len(chain)
    assert all(np.all(p.expiry_ns == e) for e, p in parts)


def test_mid_needs_both_quotes_and_usd_uses_the_row_forward():
    chain = _chain()
    mid = chain.mid()
    both = np.isfinite(chain.bid) & np.isfinite(chain.ask)
    np.testing.assert_array_equal(np.isfinite(mid), both)
    assert np.all((mid[both] >= chain.bid[both]) & (mid[both] <= chain.ask[both]))
    np.testing.assert_allclose(chain.to_usd(chain.mark), chain.mark * chain.forward, rtol=0)
    assert "46 options" in repr(chain) and "inverse" in repr(chain)
