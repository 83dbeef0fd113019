"""Contract specifications (option, perpetual, future, spot; linear or inverse) and the
parsing of venues' instrument names."""

from deltahedge.instruments.parse import FORMS, parse_hedge_instrument, parse_instrument
from deltahedge.instruments.specs import (
    Future,
    Instrument,
    Option,
    Perpetual,
    Spot,
    delta_per_contract,
)

__all__ = [
    "FORMS",
    "Future",
    "Instrument",
    "Option",
    "Perpetual",
    "Spot",
    "delta_per_contract",
    "parse_hedge_instrument",
    "parse_instrument",
]
