"""Secrets are masked before anything is stored or logged; variable names are kept."""

from __future__ import annotations

from pydantic import SecretStr

from deltahedge.store import MASK, is_secret_key, redact_secrets


def test_secret_values_masked_at_any_depth_env_names_kept() -> None:
    cfg = {
        "venues": [
            {"name": "d", "api_key": "k-1", "api_key_env": "DERIBIT_KEY", "apiSecret": "s"},
            {"name": "p", "password": SecretStr("pw")},
        ],
        "dashboard": {"token_env": "TOK", "token": "t-9", "port": 8050},
        "note": SecretStr("anything"),
        "empty_secret": "",
    }
    assert redact_secrets(cfg) == {
        "venues": [
            {"name": "d", "api_key": MASK, "api_key_env": "DERIBIT_KEY", "apiSecret": MASK},
            {"name": "p", "password": MASK},
        ],
        "dashboard": {"token_env": "TOK", "token": MASK, "port": 8050},
        "note": MASK,
        "empty_secret": "",
    }


def test_secret_key_names() -> None:
    for key in ("api_key", "API-KEY", "apikey", "secret", "client_secret", "passphrase",
                "private_key", "auth_token", "credentials"):  # fmt: skip
        assert is_secret_key(key), key
    for key in ("api_key_env", "token_env", "name", "port", "max_order_coin"):
        assert not is_secret_key(key), key
