"""Configuration of a ccxt-backed venue: which exchange, testnet or not, where the keys are."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

from deltahedge.core.errors import ConfigError

#: Exchanges supported first (ccxt ids), with the order parameter that carries our client id.
CLIENT_ID_PARAM: dict[str, str] = {
    "deribit": "label",
    "okx": "clOrdId",
    "bybit": "orderLinkId",
    "binanceusdm": "newClientOrderId",
    "binancecoinm": "newClientOrderId",
    "hyperliquid": "clientOrderId",
}

#: Exchanges whose ccxt class signs with a wallet (``walletAddress`` + ``privateKey``).
WALLET_EXCHANGES = frozenset({"hyperliquid"})


class CcxtVenueConfig(BaseModel):
    """A live venue through ccxt / ccxt.pro.

    Attributes
    ----------
    exchange : str
        ccxt id: ``deribit``, ``okx``, ``bybit``, ``binanceusdm``, ``binancecoinm``, ``hyperliquid``.
    name : str
        Venue name used in orders and fills (defaults to ``exchange``).
    testnet : bool
        Use the exchange's sandbox (``set_sandbox_mode(True)``).
    api_key_env, secret_env, password_env : str
        Names of the environment variables holding the credentials (never the values).
    wallet_address_env, private_key_env : str
        Hyperliquid signs with a wallet: names of the variables holding its address
        (``walletAddress``, public) and its private key (``privateKey``, secret). Read
        only for exchanges that sign with a wallet (:data:`WALLET_EXCHANGES`).
    stale_after_s : float
        ``is_healthy`` is False when no stream message arrived for this long.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange: str
    name: str = ""
    testnet: bool = True
    api_key_env: str = "DELTAHEDGE_API_KEY"
    secret_env: str = "DELTAHEDGE_API_SECRET"
    password_env: str = ""
    wallet_address_env: str = "DELTAHEDGE_WALLET_ADDRESS"
    private_key_env: str = "DELTAHEDGE_PRIVATE_KEY"
    stale_after_s: float = Field(10.0, gt=0)

    @property
    def venue_name(self) -> str:
        return self.name or self.exchange

    def credentials(self) -> dict[str, str]:
        """ccxt credential options read from the environment (empty strings skipped).

        Keys are ccxt's: ``apiKey``, ``secret``, ``password``, and for Hyperliquid
        ``walletAddress`` and ``privateKey``. The values are handed to ccxt only; they are
        never logged (``privateKey``, ``secret`` ... are masked by
        :func:`deltahedge.store.redact.redact_secrets`).
        """
        if self.exchange not in CLIENT_ID_PARAM:
            raise ConfigError(
                f"exchange {self.exchange!r} not supported; allowed: {sorted(CLIENT_ID_PARAM)}"
            )
        out: dict[str, str] = {}
        names = [
            ("apiKey", self.api_key_env),
            ("secret", self.secret_env),
            ("password", self.password_env),
        ]
        if self.exchange in WALLET_EXCHANGES:
            names += [
                ("walletAddress", self.wallet_address_env),
                ("privateKey", self.private_key_env),
            ]
        for key, env in names:
            if env and os.environ.get(env):
                out[key] = os.environ[env]
        return out


__all__ = ["CLIENT_ID_PARAM", "WALLET_EXCHANGES", "CcxtVenueConfig"]
