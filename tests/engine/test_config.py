"""Configuration: the examples validate; errors name the key path, the value, what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from deltahedge.core import ConfigError, Numeraire, Settlement
from deltahedge.engine.config import (
    DeltaHedgeConfig,
    load_config,
    parse_config,
    read_secret,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["paper.toml", "deribit-testnet.toml"])
def test_example_config_validates(name: str) -> None:
    cfg = load_config(EXAMPLES / name)
    assert cfg.venues and cfg.risk.max_staleness_s > 0
    assert cfg.dashboard.host == "127.0.0.1"


def test_paper_example_has_linear_and_inverse_venues() -> None:
    cfg = load_config(EXAMPLES / "paper.toml")
    assert {v.settlement for v in cfg.venues} == {Settlement.LINEAR, Settlement.INVERSE}
    assert cfg.policy.params == {"threshold": 2.0}
    assert cfg.policy.build("BTC").threshold == 2.0
    assert cfg.venue("paper-linear").contract_size == 0.001


def test_deribit_example_names_env_vars_and_reads_keys_from_them() -> None:
    cfg = load_config(EXAMPLES / "deribit-testnet.toml")
    v = cfg.venue("deribit")
    assert (v.kind, v.testnet, cfg.engine.numeraire) == ("ccxt", True, Numeraire.COIN)
    env = {"DERIBIT_TESTNET_KEY": "key-123456", "DERIBIT_TESTNET_SECRET": "sec-abcdef"}
    creds = v.credentials(env)
    assert creds is not None and creds.api_secret.get_secret_value() == "sec-abcdef"
    assert "sec-abcdef" not in repr(creds) and "key-123456" not in repr(creds)
    with pytest.raises(ConfigError, match="DERIBIT_TESTNET_KEY is not set"):
        v.credentials({})


def _errors(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.toml")
    text = str(info.value)
    assert text.startswith("invalid configuration test.toml:")
    return [line.strip() for line in text.splitlines()[1:]]


def test_negative_limit_names_key_value_and_bound() -> None:
    assert _errors({"risk": {"max_staleness_s": -1}}) == [
        "risk.max_staleness_s = -1: must be > 0.0"
    ]


def test_unknown_key_lists_allowed_keys_of_its_section() -> None:
    (line,) = _errors({"dashboard": {"prot": 8050}})
    assert (
        line
        == "dashboard.prot = 8050: unknown key; allowed keys here: enabled, host, port, token_env"
    )
    (top,) = _errors({"riks": {}})
    assert top.startswith("riks: unknown key; allowed keys here: engine, market, book, policy")


def test_bad_choice_in_a_list_item_names_the_index_and_choices() -> None:
    lines = _errors({"venues": [{"name": "a"}, {"name": "b", "kind": "ftx"}]})
    assert lines == ["venues[1].kind = 'ftx': allowed: 'paper', 'ccxt' or 'amm'"]


def test_enum_and_type_errors_say_what_is_allowed() -> None:
    lines = _errors({"engine": {"numeraire": "eur"}, "dashboard": {"port": "x"}})
    assert "engine.numeraire = 'eur': allowed: 'usd' or 'coin'" in lines
    assert any(s.startswith("dashboard.port = 'x': Input should be a valid integer") for s in lines)


def test_pasted_secret_in_env_name_is_refused_and_not_echoed() -> None:
    secret = "aB3dE6gH9jK2mN5pQ8"
    (line,) = _errors({"venues": [{"name": "d", "api_key_env": secret}]})
    assert secret not in line
    assert line.startswith("venues[0].api_key_env = <hidden, 18 characters>: must be the NAME")


def test_secret_key_in_file_is_unknown_and_not_echoed() -> None:
    (line,) = _errors({"venues": [{"name": "d", "api_secret": "s3cr3t-value"}]})
    assert "s3cr3t-value" not in line
    assert line.startswith("venues[0].api_secret = <hidden, 12 characters>: unknown key")


def test_cross_field_rules_are_explained() -> None:
    (ccxt,) = _errors({"venues": [{"name": "d", "kind": "ccxt", "exchange": "deribit"}]})
    assert ccxt == (
        "venues[0]: kind = 'ccxt' needs api_key_env and api_secret_env "
        "(names of environment variables holding the keys)"
    )
    (mm,) = _errors({"venues": [{"name": "d", "maintenance_margin_rate": 0.05}]})
    assert mm == "venues[0]: maintenance_margin_rate 0.05 must be below initial_margin_rate 0.02"
    (dup,) = _errors({"venues": [{"name": "d"}, {"name": "d"}]})
    assert dup == "(top level): venue names must be unique; repeated: d"
    (mv,) = _errors({"market": {"venue": "nope"}})
    assert mv == "(top level): market.venue = 'nope' is not a configured venue; allowed: 'paper'"
    (rt,) = _errors({"risk": {"margin_warn_ratio": 0.8}})
    assert rt.startswith("risk: margin ratios must increase")


def test_policy_is_checked_against_the_policy_registry() -> None:
    (unknown,) = _errors({"policy": {"name": "delta_band"}})
    assert unknown.startswith("policy: unknown hedging policy 'delta_band'; allowed: [")
    (field,) = _errors({"policy": {"name": "fixed_threshold", "params": {"thresh": 2.0}}})
    assert field.startswith("policy: policy 'fixed_threshold': ") and "'thresh'" in field
    (bad,) = _errors({"policy": {"name": "fixed_threshold", "params": {"threshold": -2.0}}})
    assert bad == "policy: fixed_threshold.threshold must be a finite number > 0, got -2.0"


def test_a_policy_without_params_gets_its_own_defaults(tmp_path: Path) -> None:
    # the default params (threshold = 1.0) belong to fixed_threshold; whalley_wilmott has no
    # 'threshold' field, so applying them to it was an error the user had not made
    p = tmp_path / "ww.toml"
    p.write_text('[policy]\nname = "whalley_wilmott"\n')
    policy = load_config(p).policy.build("BTC")
    assert type(policy).__name__ == "WhalleyWilmott"
    assert policy.cost == 0.0005 and policy.risk_aversion == 1e-4
    p.write_text('[policy]\nname = "fixed_threshold"\n')
    assert load_config(p).policy.build("BTC").threshold == 1.0


def test_every_problem_is_reported_at_once() -> None:
    lines = _errors({"risk": {"max_order_coin": 0, "jump_confirm_ticks": 0}, "engine": {"x": 1}})
    assert len(lines) == 3


def test_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    p = tmp_path / "empty.toml"
    p.write_text("")
    assert load_config(p) == DeltaHedgeConfig()


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("[risk\nmax_staleness_s = 1\n")
    with pytest.raises(ConfigError, match=r"bad.toml is not valid TOML: .*line 1"):
        load_config(p)
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_config(tmp_path / "absent.toml")


def test_config_is_frozen() -> None:
    cfg = DeltaHedgeConfig()
    with pytest.raises(ValidationError):
        cfg.risk.max_order_coin = 1.0  # type: ignore[misc]


def test_secrets_come_only_from_the_environment() -> None:
    assert read_secret("X_TOKEN", "t", {"X_TOKEN": "abc"}).get_secret_value() == "abc"
    with pytest.raises(ConfigError, match="X_TOKEN is not set"):
        read_secret("X_TOKEN", "t", {"X_TOKEN": ""})
    cfg = DeltaHedgeConfig()
    assert cfg.dashboard.token({}) is None
    tok = cfg.dashboard.token({"DELTAHEDGE_DASHBOARD_TOKEN": "tok-999"})
    assert tok is not None and "tok-999" not in repr(tok) and "tok-999" not in repr(cfg)


def test_risk_config_builds_guard_limits_and_margin_models() -> None:
    cfg = load_config(EXAMPLES / "deribit-testnet.toml")
    assert cfg.risk.limits().max_order_coin == 1.0
    assert cfg.risk.thresholds().derisk_ratio == 0.7
    m = cfg.venue("deribit").margin_model()
    assert (m.settlement, m.contract_size, m.maintenance_margin_rate) == (
        Settlement.INVERSE,
        10.0,
        0.01,
    )


def test_book_venue_must_be_a_ccxt_venue_and_not_beside_a_positions_file() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"book": {"venue": "paper"}})  # the default venue is a paper one
    assert "book.venue = 'paper' must name a venue of kind 'ccxt'" in str(err.value)
    assert "allowed: none" in str(err.value)
    deribit = {"name": "deribit", "kind": "ccxt", "exchange": "deribit",
               "api_key_env": "K", "api_secret_env": "S"}  # fmt: skip
    with pytest.raises(ConfigError, match=r"set book\.venue or book\.positions_file, not both"):
        parse_config({"venues": [deribit], "book": {"venue": "deribit", "positions_file": "b.csv"}})
    cfg = load_config(EXAMPLES / "deribit-testnet.toml")
    assert cfg.book.venue == "deribit" and cfg.book.positions_file is None


def test_volatility_section_builds_the_engines_forecast_settings() -> None:
    cfg = parse_config({"volatility": {"model": "garch", "half_life_s": 120.0}})
    s = cfg.volatility.settings()
    assert (s.model, s.half_life_s, s.garch_window) == ("garch", 120.0, 2000)
    with pytest.raises(ConfigError) as err:
        parse_config({"volatility": {"model": "arch", "garch_window": 10}})
    text = str(err.value)
    assert "volatility.model = 'arch': allowed: 'ewma' or 'garch'" in text
    assert "volatility.garch_window = 10: must be >= 100" in text
