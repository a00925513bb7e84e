"""The backtest's metrics, computed independently by empyrical-reloaded
(PyPI), for tests/analytics/backtest.rs to compare with ours.

Input (stdin): JSON {"initial", "rf_pct", "equity": [...], "benchmark": [...]}.
Output (stdout): JSON of the same figures under our names.
"""

import json
import sys

import empyrical as ep
import numpy as np

doc = json.load(sys.stdin)
initial = doc["initial"]
equity = np.array(doc["equity"], dtype=float)
bench = np.array(doc["benchmark"], dtype=float)
rf = doc["rf_pct"] / 100.0 / 252.0

# Daily returns, the first from the initial capital (the benchmark's first
# from its own first value).
r = np.diff(np.concatenate([[initial], equity])) / np.concatenate([[initial], equity[:-1]])
b = np.diff(np.concatenate([[bench[0]], bench])) / np.concatenate([[bench[0]], bench[:-1]])

alpha, beta = ep.alpha_beta(r, b, risk_free=rf)
out = {
    "total_return_pct": ep.cum_returns_final(r) * 100.0,
    "cagr_pct": ep.annual_return(r) * 100.0,
    "annual_volatility_pct": ep.annual_volatility(r) * 100.0,
    "sharpe": ep.sharpe_ratio(r, risk_free=rf),
    "sortino": ep.sortino_ratio(r, required_return=rf),
    "max_drawdown_pct": ep.max_drawdown(r) * 100.0,
    "calmar": ep.calmar_ratio(r),
    "beta": beta,
    "alpha_pct": alpha * 100.0,
    "correlation": float(np.corrcoef(r, b)[0, 1]),
}
json.dump({k: float(v) for k, v in out.items()}, sys.stdout)
