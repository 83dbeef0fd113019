"""``load_positions``: a book from CSV or JSON, every bad line named at once."""

from __future__ import annotations

import json

import pytest

from deltahedge.core.enums import OptionKind
from deltahedge.core.errors import InvalidInput
from deltahedge.instruments import Option, Perpetual
from deltahedge.portfolio import load_positions


def test_csv_rows_become_positions_with_venue_default_and_entry_prices(tmp_path):
    p = tmp_path / "book.csv"
    p.write_text(
        "# a comment line, then the header\n"
        "instrument,quantity,venue,entry_price\n"
        "BTC-27MAR26-90000-C,-5,deribit,0.1008\n"
        "\n"
        "BTC-26JUN26-95000-P,5,,\n"
        "BTC-PERPETUAL,-2000,deribit,92000\n"
    )
    a, b, c = load_positions(p)
    assert isinstance(a.instrument, Option) and a.instrument.strike == 90_000.0
    assert a.quantity == -5.0 and a.entry_price == pytest.approx(0.1008)
    assert b.instrument.venue == "deribit" and b.entry_price == 0.0  # defaults
    assert isinstance(c.instrument, Perpetual) and c.entry_price == 92_000.0


def test_json_list_of_objects(tmp_path):
    p = tmp_path / "book.json"
    p.write_text(json.dumps([{"instrument": "BTC-27MAR26-90000-P", "quantity": 3}]))
    (pos,) = load_positions(p)
    assert pos.instrument.kind is OptionKind.PUT and pos.quantity == 3.0


def test_every_bad_line_is_named_with_its_value(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(
        "instrument,quantity\n"
        "BTC-27MAR26-90000-C,-5\n"  # line 2: fine
        "BTC-PERPETUAL,5\n"  # line 3: a perp needs its entry price
        "BTC-99XYZ-1-C,1\n"  # line 4: not a Deribit name
        "BTC-27MAR26-90000-P,abc\n"  # line 5: not a number
        "BTC-27MAR26-90000-P,0\n"  # line 6: zero
        "BTC-27MAR26-90000-P,1,x\n"  # line 7: a cell too many
    )
    with pytest.raises(InvalidInput) as err:
        load_positions(p)
    text = str(err.value)
    assert "5 bad position(s)" in text
    assert "line 3: BTC-PERPETUAL: perpetuals and futures need entry_price" in text
    assert "line 4: cannot parse deribit instrument name 'BTC-99XYZ-1-C'" in text
    assert "line 5: quantity = 'abc' is not a number" in text
    assert "line 6: quantity = 0" in text
    assert "line 7: 3 cells for 2 columns" in text
    assert "line 2" not in text


def test_header_problems_list_the_allowed_columns(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("symbol,qty\nBTC-27MAR26-90000-C,1\n")
    with pytest.raises(InvalidInput, match=r"missing column\(s\) \['instrument', 'quantity'\]"):
        load_positions(p)
    with pytest.raises(InvalidInput, match="not found"):
        load_positions(tmp_path / "absent.csv")
    (tmp_path / "e.csv").write_text("# only a comment\n")
    with pytest.raises(InvalidInput, match="no positions"):
        load_positions(tmp_path / "e.csv")


def test_the_shipped_example_book_parses():
    from pathlib import Path

    book = Path(__file__).resolve().parents[2] / "examples" / "book.csv"
    positions = load_positions(book)
    assert len(positions) == 4 and all(p.quantity < 0 for p in positions)
    assert {p.instrument.strike for p in positions} == {100_000.0, 80_000.0, 110_000.0, 70_000.0}
