"""Kill-switch requests through the journal: command line -> journal -> engine's switch."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from deltahedge.cli import app
from deltahedge.core import SimClock
from deltahedge.engine.risk_guard import KillState, KillSwitch
from deltahedge.store import (
    Journal,
    last_kill_switch_state,
    pending_kill_switch_requests,
    request_kill_switch,
)


def test_requests_are_polled_applied_journaled_and_restored(journal: Journal) -> None:
    ks = KillSwitch(SimClock(0))
    ks.journal_to(journal)
    assert last_kill_switch_state(journal) is None
    request_kill_switch(journal, "frozen", "dashboard", "venue incident")
    request_kill_switch(journal, "flattening", "cli", engine="other-engine")
    pending = pending_kill_switch_requests(journal, after_seq=0, engine="paper-btc")
    assert [(r.state, r.source, r.reason) for r in pending] == [
        ("frozen", "dashboard", "venue incident")
    ]
    for r in pending:
        ks.set(r.state, r.source, r.reason)
    assert ks.state is KillState.FROZEN
    # Nothing new after the last seen request; the other engine's request is not ours.
    assert pending_kill_switch_requests(journal, pending[-1].seq, "paper-btc") == []
    # After a restart the switch comes back frozen.
    assert KillSwitch(SimClock(0), last_kill_switch_state(journal)).state is KillState.FROZEN


def test_bad_state_is_refused(journal: Journal) -> None:
    with pytest.raises(ValueError, match="allowed: running, frozen, flattening"):
        request_kill_switch(journal, "stop")


def test_kill_switch_command_journals_a_request(tmp_path) -> None:
    db = str(tmp_path / "j.sqlite")
    Journal(db).close()
    runner = CliRunner()
    res = runner.invoke(app, ["journal", "kill-switch", "flatten", "--db", db, "--reason", "x"])
    assert res.exit_code == 0, res.output
    (req,) = pending_kill_switch_requests(Journal(db), after_seq=0)
    assert (req.state, req.source, req.reason, req.engine) == ("flattening", "cli", "x", "")
    res = runner.invoke(app, ["journal", "kill-switch", "stop", "--db", db])
    assert res.exit_code == 2 and "allowed: freeze, flatten, resume" in res.output
