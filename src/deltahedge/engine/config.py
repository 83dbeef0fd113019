"""Configuration: one TOML file, validated by frozen pydantic models, one per component.

::

    [engine]        name, underlying, numeraire, clock, cadences, refit triggers
    [market]        feed kind (simulated | replay | live) and its settings
    [book]          where the options book comes from (a positions file, a ccxt venue's
                    option positions, or the embedded demo book)
    [policy]        name = "...", [policy.params] the policy's own numbers
    [volatility]    the realised-vol forecast the vol-dependent policies read (EWMA, GARCH)
    [[venues]]      name, kind (paper | ccxt | amm), testnet, settlement, margin rates,
                    *names* of the environment variables holding API keys
    [risk]          staleness, jumps, order / notional / position / loss limits, margin
    [journal]       url (SQLite path or PostgreSQL URL; default: the user data folder)
    [dashboard]     host, port, the environment variable holding its token
    [observability] log level, JSON logs, metrics port

Unknown keys are errors. Every error names the key path, the bad value and what is
allowed (``risk.max_staleness_s = -1: must be > 0``). Secrets are never in the file: the
file names environment variables (``api_key_env = "DERIBIT_KEY"``) and ``credentials()``
reads them into ``SecretStr`` values that never appear in a repr, a log or the journal.
"""

from __future__ import annotations

import itertools
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from deltahedge.core.enums import Numeraire, Settlement
from deltahedge.core.errors import ConfigError
from deltahedge.engine.liquidation import LiquidationThresholds, MarginModel
from deltahedge.engine.risk_guard import RiskLimits
from deltahedge.store.redact import SECRET_KEY_PATTERN

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _env_name(value: str | None) -> str | None:
    if value is None:
        return None
    if not _ENV_NAME.match(value):
        raise ValueError(
            "must be the NAME of an environment variable (A-Z, 0-9, _), not a secret itself; "
            "export the secret in that variable"
        )
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class EngineConfig(_Model):
    """The engine loop."""

    name: str = "deltahedge"
    underlying: str = "BTC"
    numeraire: Numeraire = Numeraire.USD
    clock: Literal["live", "sim"] = "live"
    surface_refit_s: float = Field(default=60.0, gt=0, description="seconds between surface refits")
    surface_refit_iv_move: float = Field(
        default=0.01, ge=0, description="refit sooner when the option quotes' mark IVs moved "
        "this much on average since the last fit (decimal vol, 0.01 = 1 vol point); 0: off",
    )  # fmt: skip
    surface_refit_index_move: float = Field(
        default=0.02, ge=0, description="refit sooner when the index moved this fraction since "
        "the last fit; 0: off",
    )  # fmt: skip
    surface_refit_min_s: float = Field(
        default=5.0, ge=0, description="fewest seconds between two refits started by moves"
    )
    funding_poll_s: float = Field(
        default=60.0, ge=0, description="seconds between polls of the perpetuals' funding rates"
    )
    greeks_snapshot_s: float = Field(
        default=5.0, gt=0, description="seconds between journal snapshots"
    )


class MarketConfig(_Model):
    """Where ticks come from."""

    feed: Literal["simulated", "replay", "live"] = "simulated"
    venue: str | None = Field(
        default=None, description="venue the live feed reads; one of [[venues]]"
    )
    instruments: tuple[str, ...] = ()
    options: tuple[str, ...] = Field(
        default=(),
        description="live: option tickers to subscribe besides the book's own options "
        "(more quotes for the surface refits)",
    )
    replay_path: Path | None = None
    model: Literal["gbm", "merton", "heston", "bates"] = "gbm"
    seed: int = 0
    speed: float = Field(default=1.0, gt=0, description="simulated seconds per real second")
    ticks_per_second: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _replay_needs_a_path(self) -> MarketConfig:
        if self.feed == "replay" and self.replay_path is None:
            raise ValueError("feed = 'replay' needs replay_path (a recorded data file or folder)")
        return self


class BookConfig(_Model):
    """The options book to hedge."""

    positions_file: Path | None = Field(
        default=None, description="CSV/JSON of positions; None: embedded"
    )
    venue: str | None = Field(
        default=None,
        description="a ccxt venue of [[venues]] whose option positions are the book, read "
        "at start; None: positions_file, else the embedded demo book",
    )


_Scalar = float | int | str | bool
_Params = dict[str, _Scalar | dict[str, _Scalar]]


def _default_params() -> _Params:
    return {"threshold": 1.0}


class PolicyConfig(_Model):
    """The hedging policy, by name (``deltahedge.hedging.policies.POLICIES``), and its
    own parameters (the policy's fields, e.g. ``threshold`` of ``fixed_threshold``)."""

    name: str = "fixed_threshold"
    params: _Params | None = Field(
        default=None,
        description="the policy's own fields; omitted: the policy's defaults "
        "(fixed_threshold: threshold = 1.0)",
    )

    @model_validator(mode="after")
    def _buildable(self) -> PolicyConfig:
        try:
            self.build()
        except ImportError:  # pragma: no cover - the hedging layer is always installed
            pass
        except (ConfigError, TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return self

    def effective_params(self) -> dict[str, Any]:
        """``params`` as given, else the defaults of the named policy."""
        if self.params is None:
            return _default_params() if self.name in ("fixed_threshold", "fixed_band") else {}
        return dict(self.params)

    def build(self, underlying: str | None = None) -> Any:
        """The policy object (``deltahedge.hedging.policies.make_policy``)."""
        from deltahedge.hedging.policies import make_policy

        params = self.effective_params()
        if underlying is not None:
            params.setdefault("underlying", underlying)
        return make_policy(self.name, **params)


class VolatilityConfig(_Model):
    """The realised-vol forecast of the index (``deltahedge.engine.volforecast``)."""

    model: Literal["ewma", "garch"] = "ewma"
    sample_s: float = Field(default=1.0, ge=0, description="least seconds between index samples")
    half_life_s: float = Field(default=600.0, gt=0, description="EWMA half-life, seconds")
    min_returns: int = Field(
        default=30, ge=1, description="returns before the forecast replaces the surface ATM vol"
    )
    garch_refit_s: float = Field(default=300.0, gt=0, description="seconds between GARCH fits")
    garch_window: int = Field(default=2000, ge=100, description="returns kept for a GARCH fit")

    def settings(self) -> Any:
        """The engine's ``VolSettings``."""
        from deltahedge.engine.volforecast import VolSettings

        return VolSettings(
            model=self.model, sample_s=self.sample_s, half_life_s=self.half_life_s,
            min_returns=self.min_returns, garch_refit_s=self.garch_refit_s,
            garch_window=self.garch_window,
        )  # fmt: skip


class VenueConfig(_Model):
    """One venue: what it is, how it settles, its margin model, and where its keys are."""

    name: str = Field(min_length=1)
    kind: Literal["paper", "ccxt", "amm"] = "paper"
    exchange: str | None = Field(default=None, description="ccxt exchange id, e.g. 'deribit'")
    testnet: bool = True
    settlement: Settlement = Settlement.INVERSE
    hedge_instrument: str = "BTC-PERPETUAL"
    contract_size: float = Field(default=10.0, gt=0, description="USD (inverse) or coin (linear)")
    api_key_env: str | None = None
    api_secret_env: str | None = None
    initial_margin_rate: float = Field(default=0.02, gt=0, le=1)
    maintenance_margin_rate: float = Field(default=0.01, gt=0, le=1)
    collateral: float = Field(default=0.0, ge=0, description="paper collateral, coin or USD")
    fee_bps: float = Field(default=5.0, ge=0)
    liquidity_usd: float = Field(
        default=20_000_000.0,
        gt=0,
        description="kind = 'amm': the simulated constant-product pool's value, USD (both sides)",
    )

    _env_names = field_validator("api_key_env", "api_secret_env")(_env_name)

    @model_validator(mode="after")
    def _check(self) -> VenueConfig:
        if self.kind == "ccxt" and not self.exchange:
            raise ValueError("kind = 'ccxt' needs exchange (a ccxt exchange id such as 'deribit')")
        if self.kind == "ccxt" and not (self.api_key_env and self.api_secret_env):
            raise ValueError(
                "kind = 'ccxt' needs api_key_env and api_secret_env "
                "(names of environment variables holding the keys)"
            )
        if self.kind == "amm" and (self.fee_bps != int(self.fee_bps) or self.fee_bps < 1):
            raise ValueError(
                f"kind = 'amm' takes fee_bps as the pool's fee tier, a whole number of basis "
                f"points >= 1 (e.g. 30 for a Uniswap v2 pool), got {self.fee_bps}"
            )
        if self.maintenance_margin_rate >= self.initial_margin_rate:
            raise ValueError(
                f"maintenance_margin_rate {self.maintenance_margin_rate} must be below "
                f"initial_margin_rate {self.initial_margin_rate}"
            )
        return self

    def margin_model(self) -> MarginModel:
        """The venue's margin model for the liquidation-distance monitor."""
        return MarginModel(
            settlement=self.settlement,
            contract_size=self.contract_size,
            initial_margin_rate=self.initial_margin_rate,
            maintenance_margin_rate=self.maintenance_margin_rate,
        )

    def credentials(self, environ: Mapping[str, str] | None = None) -> VenueCredentials | None:
        """Read the API key and secret from the environment (None for keyless venues).

        Raises
        ------
        ConfigError
            Naming the variable that is not set.
        """
        if not self.api_key_env and not self.api_secret_env:
            return None
        key = read_secret(self.api_key_env, f"venues '{self.name}' api_key_env", environ)
        sec = read_secret(self.api_secret_env, f"venues '{self.name}' api_secret_env", environ)
        return VenueCredentials(api_key=key, api_secret=sec)


@dataclass(frozen=True, slots=True)
class VenueCredentials:
    """API credentials; their repr shows ``'**********'``."""

    api_key: SecretStr
    api_secret: SecretStr


class RiskConfig(_Model):
    """Risk limits and the margin thresholds of the liquidation-distance monitor."""

    max_staleness_s: float = Field(default=2.0, gt=0)
    max_jump_fraction: float = Field(
        default=0.10, gt=0, description="relative jump rejected as implausible"
    )
    jump_confirm_ticks: int = Field(default=3, ge=1)
    max_order_coin: float = Field(default=5.0, gt=0)
    max_notional_per_minute_usd: float = Field(default=2_000_000.0, gt=0)
    max_position_coin: float = Field(default=50.0, gt=0)
    max_daily_loss_usd: float = Field(default=250_000.0, gt=0)
    margin_target_ratio: float = Field(default=0.4, gt=0, lt=1)
    margin_warn_ratio: float = Field(default=0.5, gt=0, lt=1)
    margin_derisk_ratio: float = Field(default=0.7, gt=0, lt=1)
    margin_emergency_ratio: float = Field(default=0.9, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> RiskConfig:
        r = (
            self.margin_target_ratio,
            self.margin_warn_ratio,
            self.margin_derisk_ratio,
            self.margin_emergency_ratio,
        )
        if not all(a < b for a, b in itertools.pairwise(r)):
            raise ValueError(
                "margin ratios must increase: margin_target_ratio < margin_warn_ratio < "
                f"margin_derisk_ratio < margin_emergency_ratio, got {r}"
            )
        return self

    def limits(self) -> RiskLimits:
        """The limits of ``RiskGuard``."""
        return RiskLimits(
            max_staleness_s=self.max_staleness_s,
            max_jump_fraction=self.max_jump_fraction,
            jump_confirm_ticks=self.jump_confirm_ticks,
            max_order_coin=self.max_order_coin,
            max_notional_per_minute_usd=self.max_notional_per_minute_usd,
            max_position_coin=self.max_position_coin,
            max_daily_loss_usd=self.max_daily_loss_usd,
        )

    def thresholds(self) -> LiquidationThresholds:
        """The thresholds of ``LiquidationMonitor``."""
        return LiquidationThresholds(
            target_ratio=self.margin_target_ratio,
            warn_ratio=self.margin_warn_ratio,
            derisk_ratio=self.margin_derisk_ratio,
            emergency_ratio=self.margin_emergency_ratio,
        )


class JournalConfig(_Model):
    """Where the journal lives."""

    url: str | None = Field(default=None, description="SQLite path or URL; None: user data folder")
    synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite: NORMAL survives a killed process; FULL also a power cut (slower)",
    )


class DashboardConfig(_Model):
    """The web dashboard (read-only without its token)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=0, le=65535)
    token_env: str = "DELTAHEDGE_DASHBOARD_TOKEN"

    _env_names = field_validator("token_env")(_env_name)

    def token(self, environ: Mapping[str, str] | None = None) -> SecretStr | None:
        """The token that allows changes, or None (read-only) when the variable is unset."""
        env = os.environ if environ is None else environ
        value = env.get(self.token_env)
        return SecretStr(value) if value else None


class ObservabilityConfig(_Model):
    """Logs and metrics."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="None: no endpoint")


class DeltaHedgeConfig(_Model):
    """The whole configuration of one engine (one account, one underlying)."""

    engine: EngineConfig = EngineConfig()
    market: MarketConfig = MarketConfig()
    book: BookConfig = BookConfig()
    policy: PolicyConfig = PolicyConfig()
    volatility: VolatilityConfig = VolatilityConfig()
    venues: tuple[VenueConfig, ...] = Field(default=(VenueConfig(name="paper"),), min_length=1)
    risk: RiskConfig = RiskConfig()
    journal: JournalConfig = JournalConfig()
    dashboard: DashboardConfig = DashboardConfig()
    observability: ObservabilityConfig = ObservabilityConfig()

    @model_validator(mode="after")
    def _cross(self) -> DeltaHedgeConfig:
        names = [v.name for v in self.venues]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"venue names must be unique; repeated: {', '.join(dupes)}")
        if self.market.venue is not None and self.market.venue not in names:
            raise ValueError(
                f"market.venue = {self.market.venue!r} is not a configured venue; "
                f"allowed: {', '.join(repr(n) for n in names)}"
            )
        b = self.book
        if b.venue is not None:
            ccxt = [v.name for v in self.venues if v.kind == "ccxt"]
            if b.venue not in ccxt:
                raise ValueError(
                    f"book.venue = {b.venue!r} must name a venue of kind 'ccxt' (the option "
                    f"positions are read from it); allowed: {', '.join(map(repr, ccxt)) or 'none'}"
                )
            if b.positions_file is not None:
                raise ValueError("set book.venue or book.positions_file, not both")
        return self

    def venue(self, name: str) -> VenueConfig:
        """The venue called ``name``."""
        for v in self.venues:
            if v.name == name:
                return v
        raise ConfigError(
            f"no venue named {name!r}; configured: {', '.join(v.name for v in self.venues)}"
        )


# --------------------------------------------------------------------------- secrets
def read_secret(
    env_name: str | None, what: str, environ: Mapping[str, str] | None = None
) -> SecretStr:
    """Read a secret from the environment variable ``env_name``.

    Raises
    ------
    ConfigError
        When ``env_name`` is None or the variable is unset or empty.
    """
    if not env_name:
        raise ConfigError(f"{what} is not set: name the environment variable holding the secret")
    env = os.environ if environ is None else environ
    value = env.get(env_name, "")
    if not value:
        raise ConfigError(
            f"environment variable {env_name} is not set ({what}); export it before starting: "
            "secrets are read from the environment only, never from files"
        )
    return SecretStr(value)


# --------------------------------------------------------------------------- errors
def _loc_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _model_at(cls: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    current: Any = cls
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _unwrap(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (tuple, list, typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            inner = _unwrap(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return tp


def _allowed(err: Mapping[str, Any], root: type[BaseModel]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        model = _model_at(root, tuple(err["loc"][:-1]))
        keys = ", ".join(model.model_fields) if model else "see the documentation"
        return f"unknown key; allowed keys here: {keys}"
    if kind in ("literal_error", "enum"):
        return f"allowed: {ctx.get('expected', err['msg'])}"
    bounds = {
        "greater_than": ("> ", "gt"),
        "greater_than_equal": (">= ", "ge"),
        "less_than": ("< ", "lt"),
        "less_than_equal": ("<= ", "le"),
    }
    if kind in bounds:
        op, key = bounds[kind]
        return f"must be {op}{ctx.get(key)}"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _shown(err: Mapping[str, Any]) -> str:
    loc = err["loc"]
    last = str(loc[-1]) if loc else ""
    value = err.get("input")
    if SECRET_KEY_PATTERN.search(last) and isinstance(value, str):
        return f"<hidden, {len(value)} characters>"  # might be a pasted secret
    return repr(value)


def format_validation_error(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per problem: ``key.path = value: what is allowed``.

    Parameters
    ----------
    exc : ValidationError
        Raised by ``root.model_validate``.
    root : type of BaseModel
        The model validated (to list the keys allowed where an unknown key was found).

    Returns
    -------
    list of str
    """
    errors = exc.errors()
    locs = [tuple(e["loc"]) for e in errors]
    lines = []
    for err, loc in zip(errors, locs, strict=True):
        if err["type"] == "too_short" and any(o[: len(loc)] == loc and o != loc for o in locs):
            continue  # a list made short by its own invalid items: those are reported
        path = _loc_path(loc)
        if err["type"] == "missing" or isinstance(err.get("input"), (Mapping, list, tuple)):
            # Whole sections are not echoed (they may hold secrets): name the problem only.
            lines.append(f"{path}: {_allowed(err, root)}")
        else:
            lines.append(f"{path} = {_shown(err)}: {_allowed(err, root)}")
    return lines


def parse_config(data: Mapping[str, Any], source: str = "<config>") -> DeltaHedgeConfig:
    """Validate a parsed TOML document.

    Raises
    ------
    ConfigError
        Listing every problem, one per line, each naming its key path.
    """
    try:
        return DeltaHedgeConfig.model_validate(dict(data))
    except ValidationError as exc:
        lines = format_validation_error(exc, DeltaHedgeConfig)
        raise ConfigError(f"invalid configuration {source}:\n  " + "\n  ".join(lines)) from None


def load_config(path: str | Path) -> DeltaHedgeConfig:
    """Read and validate a TOML configuration file.

    Raises
    ------
    ConfigError
        When the file is missing, is not TOML, or has invalid values.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}") from None
    return parse_config(data, str(p))


__all__ = [
    "BookConfig",
    "DashboardConfig",
    "DeltaHedgeConfig",
    "EngineConfig",
    "JournalConfig",
    "MarketConfig",
    "ObservabilityConfig",
    "PolicyConfig",
    "RiskConfig",
    "VenueConfig",
    "VenueCredentials",
    "VolatilityConfig",
    "format_validation_error",
    "load_config",
    "parse_config",
    "read_secret",
]
