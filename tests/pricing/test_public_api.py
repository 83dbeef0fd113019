"""The public names other areas code against exist and keep their signatures."""

from __future__ import annotations

import inspect

import numpy as np
from numba import njit

import deltahedge.pricing as pricing
from deltahedge.pricing import kernels


def test_every_name_in_all_exists_and_the_list_is_the_agreed_one() -> None:
    for module in (pricing, kernels):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
    agreed = {
        "black76",
        "black76_price",
        "black76_delta",
        "black76_risk",
        "bsm",
        "inverse_black76",
        "implied_vol",
        "implied_vol_status",
        "implied_vol_guaranteed",
        "implied_vol_inverse",
        "implied_vol_inverse_status",
        "IVStatus",
        "Greeks",
        "RiskGreeks",
        "InverseGreeks",
    }
    assert agreed <= set(pricing.__all__)
    assert {
        "norm_cdf",
        "b76_price",
        "b76_delta",
        "b76_gamma",
        "b76_vega",
        "b76_implied_vol",
    } <= set(kernels.__all__)


def test_signatures_follow_the_canonical_argument_order() -> None:
    assert list(inspect.signature(pricing.black76).parameters) == [
        "kind",
        "F",
        "K",
        "T",
        "sigma",
        "r",
    ]
    assert list(inspect.signature(pricing.bsm).parameters) == [
        "kind",
        "S",
        "K",
        "T",
        "sigma",
        "r",
        "q",
    ]
    assert list(inspect.signature(pricing.inverse_black76).parameters) == [
        "kind",
        "F",
        "K",
        "T",
        "sigma",
    ]
    assert list(inspect.signature(pricing.implied_vol).parameters) == [
        "price",
        "kind",
        "F",
        "K",
        "T",
        "r",
    ]
    assert list(inspect.signature(pricing.implied_vol_inverse).parameters) == [
        "price_coin",
        "kind",
        "F",
        "K",
        "T",
    ]


def test_scalar_kernels_accept_integer_kinds_inside_user_numba_code() -> None:
    @njit
    def round_trip(kinds, F, K, T, sigma):
        out = np.empty(kinds.size)
        for i in range(kinds.size):
            phi = kinds[i]  # int8, +1 / -1
            p = kernels.b76_price(phi, F, K, T, sigma, 0.0)
            out[i] = kernels.b76_implied_vol(p, phi, F, K, T, 0.0)
        return out

    got = round_trip(np.array([1, -1], dtype=np.int8), 100.0, 110.0, 0.5, 0.45)
    np.testing.assert_allclose(got, 0.45, atol=1e-13)
