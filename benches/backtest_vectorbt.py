"""vectorbt (PyPI `vectorbt`) on the market and strategy of benches/backtest.rs.

Run by `scripts/bench-backtest`, after `cargo bench --bench backtest` has
written the market and our fills to $BACKTEST_EXPORT:
  1. the ranking signal, vectorised in pandas the way vectorbt users write
     it: rolling 180-session peak of the highs, drawdown of the close, the
     entry mask (drawdown <= -30% on the first session of each week);
     checked equal to the drawdowns our engine ranked on;
  2. vectorbt's simulator (`Portfolio.from_orders`, one cash pool, sells
     before buys) replaying our fills; its final value and trade count are
     checked equal to ours: the same trades.
The strategy's path-dependent rules (10 free slots, the take-profit from
each fill price, the portfolio rule) have no vectorised form in vectorbt;
here they come from our engine's fills for free, so vectorbt's time below
is a lower bound for it running the whole strategy.
"""

import json
import os
import sys
import time

import numpy as np
import pandas as pd
import vectorbt as vbt

RUNS = 5
d = os.environ.get("BACKTEST_EXPORT", "target/backtest-export")
meta = json.load(open(f"{d}/meta.json"))
close = pd.read_csv(f"{d}/close.csv", index_col=0, parse_dates=True)
high = pd.read_csv(f"{d}/high.csv", index_col=0, parse_dates=True)
orders = pd.read_csv(f"{d}/orders.csv", parse_dates=["date"])
lookback = meta["lookback"]
start = pd.Timestamp(meta["start"])


def signal():
    peak = high.rolling(lookback, min_periods=30).max()
    dd = ((close - peak) / peak * 100).round(4)
    week = close.index.to_series().dt.isocalendar()
    first = (week.week != week.week.shift()).to_numpy()
    entries = (dd <= -30) & first[:, None]
    return dd, entries


def simulate():
    size = pd.DataFrame(np.nan, index=close.index, columns=close.columns)
    price = size.copy()
    for row in orders.itertuples():
        size.at[row.date, row.symbol] = row.shares
        price.at[row.date, row.symbol] = row.price
    window = close.index >= start
    return vbt.Portfolio.from_orders(
        close[window],
        size=size[window],
        price=price[window],
        init_cash=100_000.0,
        cash_sharing=True,
        group_by=True,
        call_seq="auto",
        freq="1D",
    )


def timed(f):
    times, out = [], None
    for _ in range(RUNS):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[0], times[len(times) // 2], out


simulate()  # numba compiles on the first call: not timed
sig_fast, sig_med, (dd, entries) = timed(signal)
sim_fast, sim_med, pf = timed(simulate)
final = float(pf.final_value())
trades = int(pf.trades.count())
print(f"vectorbt {vbt.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
print(f"signal (rolling peak, drawdown, entry mask): fastest {sig_fast*1e3:.1f} ms  median {sig_med*1e3:.1f} ms")
print(f"simulation replaying our fills:             fastest {sim_fast*1e3:.1f} ms  median {sim_med*1e3:.1f} ms")
print(f"total (lower bound for the whole strategy):  median {(sig_med+sim_med)*1e3:.1f} ms")
print(f"final value {final:.6f} (ours {meta['final_equity']:.6f}); trades {trades} (ours: {int((orders.shares > 0).sum())} positions opened)")
ok = abs(final - meta["final_equity"]) <= 1e-6 * abs(meta["final_equity"]) and trades == int((orders.shares > 0).sum())
if not ok:
    print("MISMATCH: vectorbt did not reproduce our trades", file=sys.stderr)
    sys.exit(1)
print("same trades: final value and trade count equal")
