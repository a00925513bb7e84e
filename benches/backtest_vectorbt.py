"""vectorbt (PyPI `vectorbt`) running dipwatch's strategy on the market of
benches/backtest.rs, checked to make the same trades as ours.

Run by `scripts/bench-backtest`, after `cargo bench --bench backtest` has
written the market (close, open, high), our fills (`orders.csv`) and the
parameters (`meta.json`) to $BACKTEST_EXPORT.

1. The strategy in vectorbt: the ranking signal vectorised (rolling peak of
   the highs over the lookback with `min_history` periods, the drawdown of
   the close rounded half away from zero to 4 decimals as the screen does,
   the weekly decision mask: the first session of each ISO week), then
   `Portfolio.from_order_func` in flexible mode with numba callbacks for the
   path-dependent rules, one cash pool over every symbol:
   - the order function fills, at each session's open, yesterday's sales
     (first, for the cash) and then yesterday's purchases, each for
     min(its amount, the cash left) at the open plus slippage;
   - the post-order callback keeps each position's fill price and the order
     the positions were bought in;
   - the post-segment callback, on each session's close: a position's
     take-profit from its fill price, then the portfolio rule (the best `top`
     positions, those past their own take-profit included, ties to the earlier purchase, averaging
     at least the target: sell them), then, on a decision session, the
     best-ranked names (deepest drawdown first, ties by symbol) at or below
     the entry threshold that are not held, up to the free slots
     (max_positions - positions staying), each for equity / max_positions
     (equity = cash + positions at the close, vectorbt's group value).
   Checked: the same fills as ours (symbol, date, side, shares and price
   within 1e-9 relative) and the same final value (1e-9 relative), with a
   few trades printed side by side; and again, untimed, for a busier
   parameter set (`orders_busy.csv`: many more trades, the take-profit and
   the portfolio rule both firing often). The timed run is the signal (pandas'
   rolling max or vectorbt's `rolling_max`, whichever is faster, checked
   equal), the simulation and the equity curve (`pf.value()`, since ours
   returns one); each part is also timed alone. numba's compilation (the
   first call) is reported on its own line, not counted. The frames are
   held as 2D blocks (consolidated after read_csv, not timed).
   Not expressed: a symbol whose bars stop (sold at its last close): the
   benchmark's market has every bar of every symbol (checked below), so the
   rule never fires in ours either.
2. The previous lower bound, kept as a second line: vectorbt's
   `Portfolio.from_orders` replaying our fills (no strategy logic at all).
"""

import json
import os
import sys
import time

import numpy as np
import pandas as pd
import vectorbt as vbt
from numba import njit
from vectorbt.portfolio import nb as pnb
from vectorbt.portfolio.enums import Direction, NoOrder, OrderStatus, SizeType

RUNS = 5
d = os.environ.get("BACKTEST_EXPORT", "target/backtest-export")
meta = json.load(open(f"{d}/meta.json"))
P = meta["params"]


def load(name):
    # read_csv gives one block per column; a 2D frame (one block) is how the
    # data would sit in memory, and what vectorbt and pandas work fastest on.
    df = pd.read_csv(f"{d}/{name}.csv", index_col=0, parse_dates=True)
    return pd.DataFrame(df.to_numpy(), index=df.index, columns=df.columns)


close, open_, high = load("close"), load("open"), load("high")
# The CSVs hold shortest round-trip floats: pandas must parse them exactly
# (a last-digit difference could move a drawdown across a rounding edge).
with open(f"{d}/close.csv") as f:
    next(f)
    exact = np.array([[float(x) for x in line.rstrip("\n").split(",")[1:]] for line in f])
assert np.array_equal(exact, close.to_numpy()), "pandas did not parse close.csv exactly"
orders = pd.read_csv(f"{d}/orders.csv", parse_dates=["date"])
busy_orders = pd.read_csv(f"{d}/orders_busy.csv", parse_dates=["date"])
if close.isna().any().any() or open_.isna().any().any() or high.isna().any().any():
    sys.exit("the market has missing bars: the bars-ended rule would matter, and it is not expressed here")
lookback, min_history = meta["lookback"], meta["min_history"]
start = close.index.get_loc(pd.Timestamp(meta["start"]))
assert list(close.columns) == sorted(close.columns), "symbols sorted: ties by position are ties by ticker"
for p_ in (P, meta["busy"]["params"]):  # the rules expressed below, and only those
    assert p_["fill"] == "next_open" and p_["sizing"] == "equal" and p_["rebalance"] == "weekly"
    assert p_["exits"]["stop_loss_pct"] is None and p_["exits"]["max_hold"] is None and p_["commission"] == 0.0

# ---------------------------------------------------------------------------
# 1. The ranking signal


def round4(x):
    """Half away from zero to 4 decimals, as the screen (Rust's f64::round)."""
    s = x * 10_000.0
    return np.sign(s) * np.floor(np.abs(s) + 0.5) / 10_000.0 + 0.0


def decisions(index):
    """First session of each ISO week (session 0 decides too)."""
    iso = index.isocalendar()
    key = iso.year.to_numpy() * 100 + iso.week.to_numpy()
    return np.r_[True, key[1:] != key[:-1]]


def signal_pandas():
    peak = high.rolling(lookback, min_periods=min_history).max()
    return round4((close - peak) / peak * 100.0).to_numpy(), decisions(close.index)


def signal_vbt():
    peak = high.vbt.rolling_max(lookback, minp=min_history)  # vectorbt's numba rolling window
    c = close.to_numpy()
    return round4((c - peak.to_numpy()) / peak.to_numpy() * 100.0), decisions(close.index)


# ---------------------------------------------------------------------------
# 2. The strategy's callbacks (numba)

# st: [sales pending, purchases pending, positions held]
N_SELL, N_BUY, N_HELD = 0, 1, 2


@njit
def order_func_nb(c, open_, slip, st, sells, buys, amounts):
    """At the open: yesterday's sales, then yesterday's purchases."""
    k = c.call_idx
    if k < st[N_SELL]:
        col = sells[k]
        return col, pnb.order_nb(
            size=-c.last_position[col],
            price=open_[c.i, col],
            size_type=SizeType.Amount,
            direction=Direction.LongOnly,
            slippage=slip,
        )
    k -= st[N_SELL]
    if k < st[N_BUY]:
        col = buys[k]
        amount = min(amounts[k], c.last_cash[c.group])
        price = open_[c.i, col] * (1.0 + slip)
        if amount <= 0.0:
            return col, NoOrder
        return col, pnb.order_nb(
            size=amount / price,
            price=open_[c.i, col],
            size_type=SizeType.Amount,
            direction=Direction.LongOnly,
            slippage=slip,
        )
    return -1, NoOrder


@njit
def post_order_nb(c, st, held, entry_price):
    """Keep each position's fill price and the order of purchase."""
    if c.order_result.status != OrderStatus.Filled:
        return
    n = st[N_HELD]
    if c.position_now > 0 and c.position_before == 0:
        held[n] = c.col
        entry_price[c.col] = c.order_result.price  # slippage included
        st[N_HELD] = n + 1
    elif c.position_now == 0:
        j = 0
        while held[j] != c.col:
            j += 1
        held[j : n - 1] = held[j + 1 : n]
        st[N_HELD] = n - 1


@njit
def post_segment_nb(
    c, close, dd, decision, entry_pct, max_positions, take_profit, top, target,
    st, held, entry_price, sells, buys, amounts, leaving, returns,
):
    """On the close: exits, then (on a decision session) entries, for the next open."""
    i = c.i
    n = st[N_HELD]
    n_sell = 0
    for j in range(n):
        col = held[j]
        returns[j] = (close[i, col] / entry_price[col] - 1.0) * 100.0
        leaving[j] = returns[j] >= take_profit
        if leaving[j]:
            sells[n_sell] = col
            n_sell += 1
    if top > 0:
        # The best `top` positions, those leaving on their own take-profit
        # included (strategy::decide_exits), ties to the earlier purchase.
        picked = np.zeros(n, dtype=np.bool_)
        total, m = 0.0, 0
        chosen = np.empty(top, dtype=np.int64)
        while m < top:
            best = -1
            for j in range(n):
                if picked[j] or np.isnan(returns[j]):
                    continue
                if best == -1 or returns[j] > returns[best]:
                    best = j
            if best == -1:
                break
            picked[best] = True
            chosen[m] = best
            total += returns[best]
            m += 1
        if m > 0 and total / m >= target:
            for k in range(m):
                if not leaving[chosen[k]]:  # sold once, on its take-profit
                    sells[n_sell] = held[chosen[k]]
                    n_sell += 1
    st[N_SELL] = n_sell
    n_buy = 0
    if decision[i]:
        slots = max_positions - (n - n_sell)
        if slots > 0:
            cols = np.empty(c.to_col - c.from_col, dtype=np.int64)
            vals = np.empty(c.to_col - c.from_col, dtype=np.float64)
            m = 0
            for col in range(c.from_col, c.to_col):
                v = dd[i, col]
                if v <= entry_pct and c.last_position[col] == 0:  # NaN: not ranked
                    cols[m] = col
                    vals[m] = v
                    m += 1
            order = np.argsort(vals[:m], kind="mergesort")  # stable: ties by symbol
            amount = c.last_value[c.group] / max_positions  # cash + positions at the close
            for k in range(min(slots, m)):
                buys[n_buy] = cols[order[k]]
                amounts[n_buy] = amount
                n_buy += 1
    st[N_BUY] = n_buy


def strategy(signal, equity=True, P=P):
    dd, decision = signal()
    cols = close.shape[1]
    st = np.zeros(3, dtype=np.int64)
    held, sells, buys = (np.zeros(cols, dtype=np.int64) for _ in range(3))
    entry_price, amounts, returns = (np.zeros(cols) for _ in range(3))
    leaving = np.zeros(cols, dtype=np.bool_)
    rule = P["portfolio_rule"] or {"top": 0, "target_pct": np.inf}
    pf = vbt.Portfolio.from_order_func(
        close.iloc[start:],
        order_func_nb,
        open_.to_numpy()[start:], P["slippage_bps"] / 10_000.0, st, sells, buys, amounts,
        flexible=True,
        init_cash=P["initial_capital"],
        cash_sharing=True,
        group_by=True,
        call_post_segment=True,
        post_order_func_nb=post_order_nb,
        post_order_args=(st, held, entry_price),
        post_segment_func_nb=post_segment_nb,
        post_segment_args=(
            close.to_numpy()[start:], dd[start:], decision[start:], float(P["entry_pct"]),
            int(P["max_positions"]), float(P["exits"]["take_profit_pct"]), int(rule["top"]), float(rule["target_pct"]),
            st, held, entry_price, sells, buys, amounts, leaving, returns,
        ),
        freq="1D",
    )
    return pf, (pf.value() if equity else None)


# ---------------------------------------------------------------------------
# 3. The previous lower bound: our fills replayed


def replay():
    size = pd.DataFrame(np.nan, index=close.index, columns=close.columns)
    price = size.copy()
    for row in orders.itertuples():
        size.at[row.date, row.symbol] = row.shares
        price.at[row.date, row.symbol] = row.price
    window = close.index >= close.index[start]
    # Our prices include slippage, so vectorbt adds none here.
    return vbt.Portfolio.from_orders(
        close[window], size=size[window], price=price[window], init_cash=P["initial_capital"],
        cash_sharing=True, group_by=True, call_seq="auto", freq="1D",
    )


def timed(f):
    times, out = [], None
    for _ in range(RUNS):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[0], times[len(times) // 2], out


def fills(pf):
    """vectorbt's fills as (date, symbol, signed shares, price), in time order."""
    r = pf.orders.values
    dates = close.index[start:][r["idx"]]
    syms = close.columns[r["col"]]
    sign = np.where(r["side"] == 0, 1.0, -1.0)
    return sorted(zip(dates, syms, sign * r["size"], r["price"]), key=lambda x: (x[0], x[2] > 0, x[1]))


def ours(orders=orders):
    """Our fills, in the same order: by date, sales first, by symbol."""
    return sorted(zip(orders.date, orders.symbol, orders.shares, orders.price), key=lambda x: (x[0], x[2] > 0, x[1]))


def compare(a, b):
    problems = []
    if len(a) != len(b):
        problems.append(f"{len(a)} fills, ours {len(b)}")
    for x, y in zip(a, b):
        if x[:2] != y[:2] or (x[2] > 0) != (y[2] > 0) or not np.isclose(x[2], y[2], rtol=1e-9, atol=0) \
                or not np.isclose(x[3], y[3], rtol=1e-9, atol=0):
            problems.append(f"vectorbt {x} != ours {y}")
            if len(problems) > 5:
                break
    return problems


t = time.perf_counter()
strategy(signal_pandas)  # numba compiles the callbacks and the simulator here
compile_s = time.perf_counter() - t
t = time.perf_counter()
strategy(signal_pandas)
compile_s -= time.perf_counter() - t

vb_sig_fast, vb_sig_med, sig_v = timed(signal_vbt)
pd_sig_fast, pd_sig_med, sig_p = timed(signal_pandas)
same_signal = np.array_equal(sig_v[0], sig_p[0], equal_nan=True) and np.array_equal(sig_v[1], sig_p[1])
signal = signal_vbt if vb_sig_med <= pd_sig_med else signal_pandas
run_fast, run_med, (pf, value) = timed(lambda: strategy(signal))
sim_fast, sim_med, _ = timed(lambda: strategy(lambda: sig_v, equity=False))  # the simulation alone
fresh = iter([strategy(lambda: sig_v, equity=False)[0] for _ in range(RUNS)])  # value() is cached per portfolio
eq_fast, eq_med, _ = timed(lambda: next(fresh).value())  # the equity curve from the records

got, want = fills(pf), ours()
problems = compare(got, want)
final = float(value.iloc[-1])
if abs(final - meta["final_equity"]) > 1e-9 * abs(meta["final_equity"]):
    problems.append(f"final value {final!r} != ours {meta['final_equity']!r}")
if not same_signal:
    problems.append("the pandas and vectorbt signals differ")

# The busier parameter set: a wider check of the same rules, not timed.
busy_pf, busy_value = strategy(lambda: sig_p, P=meta["busy"]["params"])
busy_got, busy_want = fills(busy_pf), ours(busy_orders)
busy_problems = compare(busy_got, busy_want)
busy_final = float(busy_value.iloc[-1])
if abs(busy_final - meta["busy"]["final_equity"]) > 1e-9 * abs(meta["busy"]["final_equity"]):
    busy_problems.append(f"final value {busy_final!r} != ours {meta['busy']['final_equity']!r}")
problems += [f"busy parameters: {p}" for p in busy_problems]

rp_fast, rp_med, rpf = timed(replay)
replay_final = float(rpf.final_value())

bars = (len(close) - start) * close.shape[1]
print(f"vectorbt {vbt.__version__}, numba {__import__('numba').__version__}, pandas {pd.__version__}, numpy {np.__version__}")
print(f"market: {len(close)} sessions x {close.shape[1]} symbols; simulated from {close.index[start].date()} ({bars:,} bars)")
print(f"numba compilation (first call, not counted):       {compile_s * 1e3:8.0f} ms")
print(f"signal, pandas rolling max:                  fastest {pd_sig_fast * 1e3:8.1f} ms  median {pd_sig_med * 1e3:8.1f} ms")
print(f"signal, vectorbt rolling_max (numba):        fastest {vb_sig_fast * 1e3:8.1f} ms  median {vb_sig_med * 1e3:8.1f} ms")
print(f"simulation (from_order_func, the rules):     fastest {sim_fast * 1e3:8.1f} ms  median {sim_med * 1e3:8.1f} ms")
print(f"equity curve (pf.value(), from the records): fastest {eq_fast * 1e3:8.1f} ms  median {eq_med * 1e3:8.1f} ms")
print(f"strategy total (faster signal + simulation + equity curve, one run):"
      f" fastest {run_fast * 1e3:.1f} ms  median {run_med * 1e3:.1f} ms  ({bars / run_med / 1e6:.2f} M bars/s)")
print(f"replay of our fills (from_orders, no rules): fastest {rp_fast * 1e3:8.1f} ms  median {rp_med * 1e3:8.1f} ms")
print(f"final value: vectorbt strategy {final:.6f}, ours {meta['final_equity']:.6f}, replay {replay_final:.6f}")
opened = int((orders.shares > 0).sum())
reasons = {k: int(v) for k, v in orders.reason.value_counts().items()}
print(f"fills: vectorbt {len(got)}, ours {len(want)} ({opened} purchases, {len(want) - opened} sales; ours by reason {reasons})")
bp = meta["busy"]["params"]
busy_reasons = {k: int(v) for k, v in busy_orders.reason.value_counts().items()}
print(f"busier parameters (entry {bp['entry_pct']}, {bp['max_positions']} positions, take-profit {bp['exits']['take_profit_pct']}%,"
      f" rule {bp['portfolio_rule']}), not timed: vectorbt {len(busy_got)} fills, ours {len(busy_want)}"
      f" (by reason {busy_reasons}); final value vectorbt {busy_final:.6f},"
      f" ours {meta['busy']['final_equity']:.6f}: {'same' if not busy_problems else 'DIFFERENT'}")
print("first and last fills side by side (date, symbol, shares, price):")
for x, y in list(zip(got, want))[:4] + list(zip(got, want))[-3:]:
    print(f"  vectorbt {x[0].date()} {x[1]} {x[2]:>14.6f} @ {x[3]:>10.4f}   ours {y[0].date()} {y[1]} {y[2]:>14.6f} @ {y[3]:>10.4f}")
summary = {
    "vectorbt": vbt.__version__,
    "compile_s": compile_s,
    "signal_pandas_median_s": pd_sig_med,
    "signal_vbt_median_s": vb_sig_med,
    "simulation_median_s": sim_med,
    "equity_curve_median_s": eq_med,
    "strategy_fastest_s": run_fast,
    "strategy_median_s": run_med,
    "replay_median_s": rp_med,
    "final_value": final,
    "ours_final_value": meta["final_equity"],
    "fills": len(got),
    "busy_fills": len(busy_got),
    "busy_same_trades": not busy_problems,
    "same_trades": not problems,
}
json.dump(summary, open(f"{d}/vectorbt.json", "w"), indent=2)
if problems:
    print("MISMATCH: vectorbt's strategy did not make our trades:", file=sys.stderr)
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    sys.exit(1)
print("same trades: every fill (symbol, date, side, shares, price) and the final value equal ours, in both parameter sets")
