"""The scripts in docs/examples run, and print what the README quotes from them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.py"))
README = (ROOT / "README.md").read_text()

#: a line of each script's output that the README shows verbatim (it would rot otherwise)
QUOTED = {
    "basis_funding.py": "delta +0.000000 BTC  funding +2,776.06 USD/day  value 9,253,532 USD",
    "paper_hedge.py": "usdm {'BTCUSDT': -2.687} fees 83.035 USDT",
    "vault_atomic.py": "rfq-1 True exact filled slippage 0.16 bp",
}


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, shared_data: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), DELTAHEDGE_SHARED=str(shared_data.parent))
    res = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip(), "an example that prints nothing shows nothing"
    quoted = QUOTED.get(script.name)
    if quoted is not None:
        assert quoted in README, f"README no longer quotes {quoted!r}"
        assert quoted in res.stdout, f"{script.name} no longer prints what the README quotes"
