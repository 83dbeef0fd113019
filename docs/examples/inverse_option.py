"""One inverse (coin-settled) option: both deltas, Greeks, IV from Deribit's mark.

Run from the repository root: PYTHONPATH=src python docs/examples/inverse_option.py
"""

from deltahedge.pricing import implied_vol_inverse, inverse_black76

g = inverse_black76("call", F=93636.6, K=90000.0, T=0.221604, sigma=0.4349)
print(float(g.price_coin), float(g.delta), float(g.delta_premium_adjusted))
print(float(g.gamma_usd), float(g.gamma_coin), float(g.vega_usd) / 100, float(g.theta_usd) / 365)
print(float(implied_vol_inverse(0.10088, "call", 93636.6, 90000.0, 0.221604)))
