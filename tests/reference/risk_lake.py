"""The risk view's effective bets, Herfindahl index and holding periods,
recomputed with numpy from a dipwatch lake's own CSV files (no dipwatch
code), for tests/analytics/risk.rs to compare with `dipwatch portfolio --format json`.

Usage: risk_lake.py DATA_DIR LOOKBACK REPORT_JSON
Output (stdout): JSON with the figures under the report's names, and the
effective bets rebuilt from the report's own volatilities and correlation
matrix (D C D), as a reader of the JSON would.

The lake must hold a published date for every session of its span (a
`collect --from --to`), so sessions are counted as published dates.
"""

import csv
import glob
import json
import os
import sys
from decimal import Decimal

import numpy as np

root, lookback, report_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
report = json.load(open(report_path))

# Published dates: those with a manifest.
dates = sorted(
    os.path.basename(os.path.dirname(p))[len("date="):]
    for p in glob.glob(os.path.join(root, "runs", "date=*", "run.json"))
)


def rows(dataset, date):
    path = os.path.join(root, dataset, f"date={date}", f"{dataset}.csv")
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


snapshots = [(d, rows("positions", d)) for d in dates]
snapshots = [(d, r) for d, r in snapshots if r is not None]
latest, now = snapshots[-1]
equity = float(rows("account", latest)[0]["equity"])

# Weights as shown: market value over equity; Herfindahl over them.
weights = {p["symbol"]: float(p["market_value"]) / equity for p in now}
hhi = sum(w * w for w in weights.values())
invested = sum(abs(w) for w in weights.values())

# Holding periods: the unbroken run of snapshots holding the same side at
# the same entry price, back from the latest, over the whole history.
session = {d: i for i, d in enumerate(dates)}
held = {}
for p in now:
    key = (p["side"], Decimal(p["avg_entry_price"]))
    k = len(snapshots) - 1
    while k > 0 and any(
        q["symbol"] == p["symbol"] and (q["side"], Decimal(q["avg_entry_price"])) == key
        for q in snapshots[k - 1][1]
    ):
        k -= 1
    since = snapshots[k][0]
    held[p["symbol"]] = {
        "since": since,
        "sessions": session[latest] - session[since],
        "at_least": k == 0,
    }

# Returns over the window: a stock is measured with a close on each of the
# last max(lookback, 60) + 1 sessions.
window = dates[-(max(lookback, 60) + 1):]
closes = {}
for d in window:
    for b in rows("bars", d) or []:
        closes.setdefault(b["symbol"], {})[d] = float(b["close"])
stocks = {p["symbol"] for p in now if p["asset_class"] == "us_equity"}
measured = sorted(s for s in stocks if len(closes.get(s, {})) == len(window))
prices = np.array([[closes[s][d] for d in window] for s in measured])
r = (prices[:, 1:] / prices[:, :-1] - 1.0)[:, -lookback:]
cov = np.cov(r)
w = np.array([weights[s] for s in measured])


def bets(cov, w):
    lam, e = np.linalg.eigh(cov)
    v = (e.T @ w) ** 2 * np.clip(lam, 0.0, None)
    p = v / v.sum()
    p = p[p > 0]
    return float(np.exp(-np.sum(p * np.log(p))))


# The same from the report's own figures: cov = D C D.
symbols = report["correlation"]["symbols"]
vol_of = {v["symbol"]: v["volatility_pct"] for v in report["volatility"]}
d = np.diag([vol_of[s] for s in symbols])
c = np.array(report["correlation"]["matrix"])
w_report = np.array([weights[s] for s in symbols])

print(json.dumps({
    "herfindahl": hhi,
    "invested_pct": invested * 100.0,
    "effective_positions": invested ** 2 / hhi,
    "measured": measured,
    "volatility_pct": dict(zip(measured, (np.std(r, axis=1, ddof=1) * np.sqrt(252) * 100).tolist())),
    "effective_bets": bets(cov, w),
    "effective_bets_from_report": bets(d @ c @ d, w_report),
    "held": held,
    "snapshots": len(snapshots),
}))
