#!/usr/bin/env python3
"""Reference implementation of dipwatch's drawdown screen in pandas/numpy.

It exists to put a number next to the Rust engine's: the same screen, on the
same generated data, computed the way a competent pandas user would write it,
timed the same way (the screen computation only, not loading the data).

Input: the dump written by `benches/screen.rs` when run with
`DIPWATCH_BENCH_DUMP=DIR` (`scripts/bench-engine` does both):

  DIR/<dataset>/sym.i32 date.i32 high.f64 close.f64   raw little-endian columns,
                                                      one row per bar, sorted by
                                                      symbol then date
  DIR/<dataset>/meta.json                             tickers, trading calendar
  DIR/<case>.json                                     parameters, Rust result

The definition (DESIGN.md "Drawdown definition", src/screen.rs): for screen
date D, the window is the last `lookback` trading days of the calendar ending
at D. A symbol with no bar on or before D is skipped (no_bars); one whose last
bar is before D is skipped (stale); one with fewer than `min_history` bars in
the window is skipped (insufficient_history). Otherwise peak = highest high in
the window, peak_date = the most recent bar reaching it, current = the close
on D, drawdown_pct = (current - peak) / peak * 100 rounded half away from zero
to 4 decimals, days_since_peak = calendar sessions from peak_date to D. Rank 1
is the most negative drawdown, ties broken by ticker.

Why this is the idiomatic pandas version, not a strawman:
- the bars are one long DataFrame (the shape of `bars.csv`, and of any
  `read_csv`/`read_parquet` of daily bars), with the ticker as a categorical
  column (cheaper to group on than strings; building it is part of loading,
  not of the timed screen) and dates as datetime64;
- everything is vectorized: boolean masks for the window, one groupby for the
  per-symbol figures, `transform("max")` plus a mask for the most recent peak
  date, `DatetimeIndex.get_indexer` for trading-day distances, `sort_values`
  for the ranking. No Python-level loop touches a bar or a symbol;
- `groupby(..., observed=True, sort=False)` skips the work of sorting and of
  materializing empty categories, which a careful user would also do.
A wide (dates x symbols) matrix would make the max a single numpy call, but
getting there from the long layout is a pivot that costs more than the
screen itself, and the engine is benchmarked from per-symbol bar lists, not
from a pre-pivoted matrix.

Usage: screen_reference.py DIR [--repeat N] [--json OUT] [CASE ...]
Threads: pandas groupby is single-threaded; scripts/bench-engine also pins the
process to one core and sets the BLAS/OpenMP thread counts to 1.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

UNIX_EPOCH = np.datetime64("1970-01-01", "D")


def load_dataset(path: Path) -> tuple[pd.DataFrame, pd.DatetimeIndex, list[str]]:
    """The bars as a long DataFrame, the trading calendar, the tickers."""
    meta = json.loads((path / "meta.json").read_text())
    tickers = meta["tickers"]
    sym = np.fromfile(path / "sym.i32", dtype="<i4")
    days = np.fromfile(path / "date.i32", dtype="<i4")
    high = np.fromfile(path / "high.f64", dtype="<f8")
    close = np.fromfile(path / "close.f64", dtype="<f8")
    if not (len(sym) == len(days) == len(high) == len(close) == meta["bars"]):
        raise SystemExit(f"{path}: column lengths disagree with meta.json")
    bars = pd.DataFrame(
        {
            "symbol": pd.Categorical.from_codes(sym, categories=tickers),
            "date": pd.to_datetime(UNIX_EPOCH + days.astype("timedelta64[D]")),
            "high": high,
            "close": close,
        }
    )
    calendar = pd.DatetimeIndex(UNIX_EPOCH + np.asarray(meta["calendar"], dtype="timedelta64[D]"))
    return bars, calendar, tickers


def round4(x: pd.Series) -> pd.Series:
    """Round half away from zero to 4 decimals, as Rust's f64::round does
    (numpy's round is half-to-even); + 0.0 turns -0.0 into 0.0."""
    scaled = x * 10_000.0
    return np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) / 10_000.0 + 0.0


def screen(
    bars: pd.DataFrame,
    date: pd.Timestamp,
    calendar: pd.DatetimeIndex,
    lookback: int,
    min_history: int,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Ranked rows (symbol, current_price, peak_price, peak_date,
    drawdown_pct, days_since_peak, rank) and {symbol: skip reason}."""
    lookback = max(lookback, 1)
    end = calendar.searchsorted(date, side="right")
    window_start = calendar[end - lookback] if end >= lookback else None

    dates = bars["date"]
    if window_start is not None:
        win = bars[(dates >= window_start) & (dates <= date)]
    else:
        # Calendar too short for the window: count the symbol's own bars.
        win = bars[dates <= date].groupby("symbol", observed=True, sort=False).tail(lookback)

    g = win.groupby("symbol", observed=True, sort=False)
    per = g.agg(
        bars=("high", "size"),
        last_date=("date", "max"),
        peak_price=("high", "max"),
        current_price=("close", "last"),  # series are sorted by date
    )
    # Most recent bar at the peak: keep the bars equal to their symbol's max
    # high, then take the latest date among them.
    at_peak = win[win["high"] == g["high"].transform("max")]
    per["peak_date"] = at_peak.groupby("symbol", observed=True, sort=False)["date"].max()

    # Symbols with no bar in the window: stale if they have an older bar,
    # else no bars at all. Only looked up when there are any.
    absent = bars["symbol"].cat.categories.difference(per.index)
    older = set()
    if len(absent):
        older = set(bars.loc[bars["symbol"].isin(absent) & (dates <= date), "symbol"].unique())
    stale = per["last_date"] < date
    short = ~stale & (per["bars"] < min_history)
    skipped = {str(s): "stale" if s in older else "no_bars" for s in absent}
    skipped.update({str(s): "stale" for s in per.index[stale]})
    skipped.update({str(s): "insufficient_history" for s in per.index[short]})

    rows = per[~stale & ~short].copy()
    rows["drawdown_pct"] = round4((rows["current_price"] - rows["peak_price"]) / rows["peak_price"] * 100.0)
    peak_pos = calendar.get_indexer(rows["peak_date"])
    last_pos = calendar.get_indexer([date])[0]
    rows["days_since_peak"] = last_pos - peak_pos
    rows.index = rows.index.astype(str)
    rows = rows.rename_axis("symbol").reset_index()
    rows = rows.sort_values(["drawdown_pct", "symbol"], kind="mergesort", ignore_index=True)
    rows["rank"] = np.arange(1, len(rows) + 1)
    return rows, skipped


def self_test() -> None:
    """Hand-computed cases for the paths the simulated data rarely takes:
    stale, no bars on or before D, a tie between peaks, a halt."""
    cal = pd.bdate_range("2026-01-05", periods=40)
    d = cal[-1]

    def series(sym, days, highs, closes):
        return pd.DataFrame({"symbol": sym, "date": days, "high": highs, "close": closes})

    tie_high = [10.0] * 40
    tie_high[5] = tie_high[20] = 12.0
    halt_days = cal.delete(range(31, 36))
    halt_high = [10.0] * 35
    halt_high[30] = 20.0
    frames = [
        series("TIE", cal, tie_high, [10.0] * 39 + [9.0]),
        series("GAP", halt_days, halt_high, [10.0] * 34 + [15.0]),
        series("OLD", cal[:39], [10.0] * 39, [10.0] * 39),
        series("NEW", cal[11:], [10.0] * 29, [10.0] * 29),
        series("FUT", pd.DatetimeIndex([d + pd.Timedelta(days=1)]), [5.0], [5.0]),
    ]
    bars = pd.concat(frames, ignore_index=True)
    bars["symbol"] = bars["symbol"].astype("category")
    rows, skipped = screen(bars, d, cal.append(pd.DatetimeIndex([d + pd.Timedelta(days=1)])), 180, 30)
    got = [(r.symbol, r.peak_date, r.drawdown_pct, r.days_since_peak, r.rank) for r in rows.itertuples()]
    want = [("GAP", cal[30], -25.0, 9, 1), ("TIE", cal[20], -25.0, 19, 2)]  # tie: by symbol
    assert got == want, got
    assert skipped == {"OLD": "stale", "NEW": "insufficient_history", "FUT": "no_bars"}, skipped


def check(rows: pd.DataFrame, skipped: dict[str, str], rust: dict) -> list[str]:
    """Differences from the Rust result (empty when they agree)."""
    problems = []
    want = rust["rows"]
    if len(want) != len(rows):
        problems.append(f"{len(rows)} rows, Rust has {len(want)}")
    got = zip(
        rows["symbol"],
        rows["peak_date"].dt.strftime("%Y-%m-%d"),
        rows["drawdown_pct"],
        rows["days_since_peak"],
        rows["rank"],
    )
    for (sym, peak_date, dd, days, rank), (r_sym, r_peak, r_dd, r_days, r_rank) in zip(got, want):
        if (sym, peak_date, int(days), int(rank)) != (r_sym, r_peak, r_days, r_rank) or abs(dd - r_dd) > 1e-4:
            problems.append(
                f"rank {r_rank}: pandas ({sym}, {peak_date}, {dd}, {days}, {rank}) "
                f"!= Rust ({r_sym}, {r_peak}, {r_dd}, {r_days}, {r_rank})"
            )
            if len(problems) > 10:
                break
    want_skipped = dict(rust["skipped"])
    if skipped != want_skipped:
        diff = set(skipped.items()) ^ set(want_skipped.items())
        problems.append(f"skipped differ: {sorted(diff)[:10]}")
    return problems


def run_case(dump: Path, case: dict, repeat: int, cache: dict) -> dict:
    name = case["dataset"]
    if name not in cache:
        cache.clear()  # one large dataset in memory at a time
        t = time.perf_counter()
        cache[name] = load_dataset(dump / name)
        print(f"loaded {name}: {len(cache[name][0]):,} bars in {time.perf_counter() - t:.2f} s", flush=True)
    bars, calendar, _ = cache[name]
    date = pd.Timestamp(case["date"])
    args = (bars, date, calendar, case["lookback"], case["min_history"])

    rows, skipped = screen(*args)  # warm-up, and the result checked below
    problems = check(rows, skipped, case)
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        screen(*args)
        times.append(time.perf_counter() - t)
    result = {
        "case": case["case"],
        "symbols": case["symbols"],
        "bars": case["bars"],
        "repeat": repeat,
        "median_s": statistics.median(times),
        "best_s": min(times),
        "times_s": times,
        "ranked": len(rows),
        "skipped": len(skipped),
        "matches_rust": not problems,
    }
    status = "matches Rust" if not problems else "DIFFERS from Rust"
    print(
        f"pandas {case['case']:<26} median {result['median_s'] * 1e3:9.2f} ms  best {result['best_s'] * 1e3:9.2f} ms"
        f"  ({repeat} runs; {len(rows)} ranked, {len(skipped)} skipped; {status})",
        flush=True,
    )
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dump", type=Path, help="directory written with DIPWATCH_BENCH_DUMP")
    ap.add_argument("cases", nargs="*", help="case ids (default: every DIR/*.json case)")
    ap.add_argument("--repeat", type=int, default=0, help="timed runs per case (default: by size)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    self_test()

    paths = [args.dump / f"{c}.json" for c in args.cases] or sorted(args.dump.glob("*x*_lookback*.json"))
    cases = [json.loads(p.read_text()) for p in paths]
    # Group by dataset so each is loaded once.
    cases.sort(key=lambda c: (c["bars"], c["lookback"]))
    print(f"pandas {pd.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}", flush=True)
    cache: dict = {}
    results = []
    for case in cases:
        repeat = args.repeat or (30 if case["bars"] < 1_000_000 else 7)
        results.append(run_case(args.dump, case, repeat, cache))
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the Python process (data included): {peak_rss_mib:,.0f} MiB")
    if args.json:
        doc = {
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "peak_rss_mib": math.ceil(peak_rss_mib),
            "cases": results,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0 if all(r["matches_rust"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
