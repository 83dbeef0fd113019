"""Positions, collateral, vectorised book Greeks in USD or coin, and PnL attribution."""

from deltahedge.portfolio.attribution import PnLAttribution, attribute_pnl
from deltahedge.portfolio.book import (
    BookRisk,
    CompiledBook,
    DeltaModelFn,
    VolSurface,
    book_risk,
    compile_book,
    delta_models,
    register_delta_model,
)
from deltahedge.portfolio.positions import USD_LIKE, Collateral, Position
from deltahedge.portfolio.positions_file import load_positions

__all__ = [
    "USD_LIKE",
    "BookRisk",
    "Collateral",
    "CompiledBook",
    "DeltaModelFn",
    "PnLAttribution",
    "Position",
    "VolSurface",
    "attribute_pnl",
    "book_risk",
    "compile_book",
    "delta_models",
    "load_positions",
    "register_delta_model",
]
