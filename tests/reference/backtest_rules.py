"""The backtest's figures and rules recomputed independently from the lake's
own files (the published dates' bars CSVs, read with the csv module) and a
run's JSON document, for tests/analytics/backtest.rs to compare with ours.

Input (stdin): JSON {"data_dir", "universe": [tickers], "doc": the output
of `dipwatch backtest --format json`}.

Output (stdout): JSON
  "benchmark_equity": the equal-weight universe (the universe's names only,
      each session's mean close-to-close return over those with a bar on
      both sessions, compounded from the capital), or null for a ticker;
  "exposure_pct": share of sessions ending with any position held;
  "capital_deployed_pct": mean over sessions of the positions' value at
      the close (shares x the last close up to that session) over equity;
  "turnover_pct": every fill's value before costs (the price with the
      slippage taken back out), over 2, over the mean equity, per 252
      sessions;
  "delisted": trades sold as delisted;
  "violations": every breach of the delisting rule, judged from the bars up
      to each session only: a name sold as delisted must have had no bar
      for exactly `delist_after` sessions, at its last close less the
      haircut (and the slippage); a name held must never have been missing
      that long without being sold; any other sale needs a bar that day.
"""

import csv
import glob
import json
import math
import os
import sys

doc_in = json.load(sys.stdin)
data_dir = doc_in["data_dir"]
universe = set(doc_in["universe"])
doc = doc_in["doc"]
strategy = doc["parameters"]["strategy"]
slip = strategy["slippage_bps"] / 10_000.0
delist_after = strategy["delist_after"]
haircut = strategy["delist_haircut_pct"] / 100.0
initial = strategy["initial_capital"]

# Published dates: those with a run manifest.
published = sorted(
    os.path.basename(os.path.dirname(p)).split("=", 1)[1]
    for p in glob.glob(os.path.join(data_dir, "runs", "date=*", "run.json"))
)
close = {}  # symbol -> {date: close}
sessions = []
for date in published:
    path = os.path.join(data_dir, "bars", f"date={date}", "bars.csv")
    if not os.path.exists(path):
        continue
    sessions.append(date)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            close.setdefault(row["symbol"], {})[date] = float(row["close"])
index = {d: i for i, d in enumerate(sessions)}

equity = [p["equity"] for p in doc["equity"]]
dates = [p["date"] for p in doc["equity"]]
out = {}

# The equal-weight universe.
if doc["benchmark"] == "equal-weight universe":
    value, curve = initial, [initial]
    for prev_date, date in zip(dates, dates[1:]):
        prev = sessions[index[date] - 1]
        moves = [
            c[date] / c[prev] - 1.0
            for s, c in close.items()
            if s in universe and date in c and prev in c
        ]
        if moves:
            value *= 1.0 + sum(moves) / len(moves)
        curve.append(value)
    out["benchmark_equity"] = curve
else:
    out["benchmark_equity"] = None


def last_close(symbol, date):
    """The symbol's close on the last session at or before `date`."""
    c = close[symbol]
    i = index[date]
    while sessions[i] not in c:
        i -= 1
    return c[sessions[i]]


def missing(symbol, date):
    """Sessions in a row up to `date` without a bar (0 with one)."""
    c = close[symbol]
    i, n = index[date], 0
    while i >= 0 and sessions[i] not in c:
        i, n = i - 1, n + 1
    return n


# Positions held at each close: entered on or before it, sold after it.
held_spans = [(t["symbol"], t["shares"], t["entry_date"], t["exit_date"]) for t in doc["trades"]]
held_spans += [(o["symbol"], o["shares"], o["entry_date"], None) for o in doc["open"]]
invested, deployed = 0, []
for date, eq in zip(dates, equity):
    value, any_held = 0.0, False
    for symbol, shares, entry, exit_ in held_spans:
        if entry <= date and (exit_ is None or date < exit_):
            any_held = True
            value += shares * last_close(symbol, date)
    invested += any_held
    deployed.append(value / eq)
out["exposure_pct"] = invested / len(dates) * 100.0
out["capital_deployed_pct"] = sum(deployed) / len(deployed) * 100.0

traded = sum(t["shares"] * (t["entry_price"] / (1 + slip) + t["exit_price"] / (1 - slip)) for t in doc["trades"])
traded += sum(o["shares"] * o["entry_price"] / (1 + slip) for o in doc["open"])
out["turnover_pct"] = traded / 2.0 / (sum(equity) / len(equity)) / (len(dates) / 252.0) * 100.0

violations, delisted = [], 0
for t in doc["trades"]:
    s, exit_date = t["symbol"], t["exit_date"]
    if t["reason"] == "bars_ended":
        delisted += 1
        gone = missing(s, exit_date)
        if gone != delist_after:
            violations.append(f"{s} sold as delisted on {exit_date} after {gone} sessions without a bar")
        want = last_close(s, exit_date) * (1 - haircut) * (1 - slip)
        if not math.isclose(t["exit_price"], want, rel_tol=1e-12):
            violations.append(f"{s} delisted at {t['exit_price']}, not {want}")
    elif exit_date not in close[s]:
        violations.append(f"{s} sold on {exit_date} without a bar")
last = dates[-1]
for symbol, _, entry, exit_ in held_spans:
    for date in sessions[index[entry] : index[exit_ or last]]:
        if index[date] >= index[dates[0]] and missing(symbol, date) >= delist_after:
            violations.append(f"{symbol} held on {date} though missing for {missing(symbol, date)} sessions")
out["delisted"] = delisted
out["violations"] = violations
json.dump(out, sys.stdout)
