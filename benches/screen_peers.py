#!/usr/bin/env python3
"""dipwatch's drawdown screen in polars and in DuckDB SQL: two more peers
for the engine benchmark, next to the pandas reference (screen_reference.py).

Same input (the dump of `benches/screen.rs`, see screen_reference.py for the
format), same definition, same checks: before a peer is timed, its answer
is compared with the Rust result of the case (same ranked symbols in the
same order, ranks, peak dates, days since peak, drawdowns within 1e-4, and
the same skipped symbols with the same reasons). A peer that differs is
reported as such and the script exits non-zero.

The definition (src/screen.rs, DESIGN.md "Drawdown definition"): for screen
date D the window is the last `lookback` sessions of the calendar ending at
D (a symbol with gaps has fewer bars in it, never an older window); no bar
on or before D: no_bars; last bar before D: stale; fewer than `min_history`
bars in the window: insufficient_history; otherwise peak = highest high in
the window, peak_date = the most recent bar at it, drawdown = (close on D -
peak) / peak * 100 rounded half away from zero to 4 decimals,
days_since_peak = calendar sessions from peak_date to D, rank 1 the deepest,
ties by ticker. When the calendar is shorter than the lookback, the window is
the symbol's own last `lookback` bars (as the Rust engine and pandas do).

What is timed, per peer: the screen only, with the data already in memory
as the library's native structure, built once outside the timing (as the
pandas reference times its screen on a DataFrame already loaded):
- polars: a `pl.DataFrame` of the bars (symbol as `pl.Enum` of the tickers,
  the analogue of pandas' categorical, flagged sorted since the bars are,
  checked; date as `pl.Date`; high, close f64). Timed: one lazy query
  (date-range filter, one `group_by().agg` with the peak date as the latest
  `arg_max` of the highs inside the aggregation, `search_sorted` on the
  calendar for the session distance, a sort for the ranks) collected into a
  DataFrame, plus the skipped symbols as a dict.
- DuckDB: a table `bars` in an in-memory database (symbol as an ENUM of the
  tickers, date DATE, high and close DOUBLE), loaded once, and the calendar
  as a table. Timed: one SQL query (the window's rows by date range, one
  GROUP BY with the peak date as `max(struct(high, date))`, a join to the
  calendar, `row_number()` for the ranks) whose every row (ranked and
  skipped symbols) is fetched into Python with `fetchall()`.
A rolling window function (`max(high) OVER (PARTITION BY symbol ORDER BY
date ROWS BETWEEN ...)`) would count bars, not calendar sessions, so it would
reach back past a halt; for one screen date a date-range filter and a
GROUP BY is the same definition and cheaper (the backtest benchmark is where
a rolling peak per cell is needed).
Symbols with no bar in the window (stale or no_bars) are looked up in the
rest of the bars only when there are any, as pandas does.

Threads: one. POLARS_MAX_THREADS=1 is set before polars is imported, DuckDB
gets `SET threads = 1`; scripts/bench-engine also pins the process to core 0.

Usage: screen_peers.py DIR [--repeat N] [--json OUT] [--only polars|duckdb] [CASE ...]
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import argparse
import datetime as dt
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl

UNIX_EPOCH = dt.date(1970, 1, 1)


def day(n: int) -> dt.date:
    return UNIX_EPOCH + dt.timedelta(days=int(n))


# ---------------------------------------------------------------------------
# Data


class Dataset:
    """One dump dataset: raw columns, tickers and calendar, and the bars as
    each peer's native structure (built on first use, outside any timing)."""

    def __init__(self, path: Path):
        meta = json.loads((path / "meta.json").read_text())
        self.tickers: list[str] = meta["tickers"]
        self.calendar = np.asarray(meta["calendar"], dtype=np.int32)
        self.sym = np.fromfile(path / "sym.i32", dtype="<i4")
        self.date = np.fromfile(path / "date.i32", dtype="<i4")
        self.high = np.fromfile(path / "high.f64", dtype="<f8")
        self.close = np.fromfile(path / "close.f64", dtype="<f8")
        if not (len(self.sym) == len(self.date) == len(self.high) == len(self.close) == meta["bars"]):
            raise SystemExit(f"{path}: column lengths disagree with meta.json")
        self._polars = None
        self._duckdb = None

    def polars(self) -> pl.DataFrame:
        if self._polars is None:
            # The dump is sorted by symbol (tickers in order), then date:
            # checked here, so telling polars is true (its group_by then
            # takes the sorted-key path, as a user who knows would let it).
            assert self.tickers == sorted(self.tickers), "tickers in order"
            step = np.diff(self.sym)
            assert (step >= 0).all() and (np.diff(self.date)[step == 0] > 0).all(), "sorted by symbol, date"
            enum = pl.Enum(self.tickers)
            self._polars = pl.DataFrame(
                {
                    "symbol": pl.Series(self.tickers, dtype=enum).gather(self.sym),
                    "date": pl.Series(self.date, dtype=pl.Int32).cast(pl.Date),
                    "high": self.high,
                    "close": self.close,
                }
            ).with_columns(pl.col("symbol").set_sorted())
        return self._polars

    def duckdb(self) -> duckdb.DuckDBPyConnection:
        if self._duckdb is None:
            con = duckdb.connect(":memory:")
            con.execute("SET threads = 1")
            con.execute("SET enable_progress_bar = false")
            con.execute("CREATE TYPE ticker AS ENUM (SELECT unnest($1::VARCHAR[]))", [self.tickers])
            # Handed over through pandas (numpy buffers; the categorical
            # arrives as an ENUM): no pyarrow needed.
            frame = pd.DataFrame(  # noqa: F841 (read by DuckDB by name)
                {
                    "symbol": pd.Categorical.from_codes(self.sym, categories=self.tickers),
                    "date": np.datetime64("1970-01-01", "D") + self.date.astype("timedelta64[D]"),
                    "high": self.high,
                    "close": self.close,
                }
            )
            con.execute("CREATE TABLE bars AS SELECT symbol::ticker AS symbol, date::DATE AS date, high, close FROM frame")
            del frame
            con.execute("CREATE TABLE tickers AS SELECT unnest($1::VARCHAR[])::ticker AS symbol", [self.tickers])
            con.execute(
                "CREATE TABLE calendar AS SELECT pos::INTEGER - 1 AS pos, DATE '1970-01-01' + day AS date "
                "FROM unnest($1::INTEGER[]) WITH ORDINALITY AS c(day, pos)",
                [self.calendar.tolist()],
            )
            self._duckdb = con
        return self._duckdb

    def free(self) -> None:
        if self._duckdb is not None:
            self._duckdb.close()
        self._polars = self._duckdb = None


def window(ds: Dataset, date: dt.date, lookback: int) -> tuple[dt.date | None, int]:
    """The window's first session (None when the calendar is too short) and
    D's position in the calendar."""
    d = (date - UNIX_EPOCH).days
    end = int(np.searchsorted(ds.calendar, d, side="right"))
    start = day(ds.calendar[end - lookback]) if end >= lookback else None
    return start, end - 1


# ---------------------------------------------------------------------------
# polars


def screen_polars(
    bars: pl.DataFrame, calendar: pl.Series, date: dt.date, lookback: int, min_history: int
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Ranked rows (symbol, peak_date, drawdown_pct, days_since_peak, rank,
    current_price, peak_price) and {symbol: skip reason}."""
    lookback = max(lookback, 1)
    end = calendar.search_sorted(date, side="right")
    lazy = bars.lazy()
    if end >= lookback:
        win = lazy.filter(pl.col("date").is_between(calendar[end - lookback], date))
    else:  # calendar too short for the window: the symbol's own last bars
        win = lazy.filter(pl.col("date") <= date).group_by("symbol", maintain_order=True).tail(lookback)
    high, dates = pl.col("high"), pl.col("date")
    per = (
        win.group_by("symbol")
        .agg(
            bars=pl.len(),
            last_date=dates.last(),  # bars are sorted by date within a symbol
            peak_price=high.max(),
            current_price=pl.col("close").last(),
            # The latest bar at the peak: arg_max gives the first, so look
            # from the end (measured faster than a filtered max).
            peak_date=dates.reverse().get(high.reverse().arg_max()),
        )
        .collect()
    )
    stale = per["last_date"] < date
    short = ~stale & (per["bars"] < min_history)
    skipped = dict.fromkeys(per.filter(stale)["symbol"].cast(pl.String).to_list(), "stale")
    skipped.update(dict.fromkeys(per.filter(short)["symbol"].cast(pl.String).to_list(), "insufficient_history"))

    # Symbols with no bar in the window: stale if they have an older one.
    everyone = pl.Series("symbol", bars.schema["symbol"].categories, dtype=bars.schema["symbol"])
    absent = everyone.filter(~everyone.is_in(per["symbol"].implode()))
    if len(absent):
        older = set(
            bars.lazy()
            .filter(pl.col("symbol").is_in(absent.implode()) & (pl.col("date") <= date))
            .select(pl.col("symbol").unique().cast(pl.String))
            .collect()["symbol"]
            .to_list()
        )
        skipped.update({s: "stale" if s in older else "no_bars" for s in absent.cast(pl.String).to_list()})

    last_pos = end - 1
    rows = (
        per.lazy()
        .filter(~stale & ~short)
        .select(
            pl.col("symbol").cast(pl.String),
            "peak_date",
            drawdown_pct=(((pl.col("current_price") - pl.col("peak_price")) / pl.col("peak_price") * 100.0) * 10_000.0)
            .round(0, mode="half_away_from_zero")
            / 10_000.0
            + 0.0,
            days_since_peak=last_pos - pl.lit(calendar).search_sorted(pl.col("peak_date")).cast(pl.Int64),
            current_price="current_price",
            peak_price="peak_price",
        )
        .sort("drawdown_pct", "symbol")
        .with_row_index("rank", offset=1)
        .collect()
    )
    return rows, skipped


def polars_answer(rows: pl.DataFrame, skipped: dict[str, str]):
    got = list(
        zip(
            rows["symbol"].to_list(),
            [d.isoformat() for d in rows["peak_date"].to_list()],
            rows["drawdown_pct"].to_list(),
            rows["days_since_peak"].to_list(),
            rows["rank"].to_list(),
        )
    )
    return got, skipped


# ---------------------------------------------------------------------------
# DuckDB

# The window's bars: by date range, or (the calendar too short for the
# lookback) each symbol's own last $lookback bars.
DUCKDB_WINDOW = "SELECT symbol, date, high, close FROM bars WHERE date BETWEEN $start::DATE AND $date::DATE"
DUCKDB_OWN_BARS = """SELECT symbol, date, high, close FROM bars WHERE date <= $date::DATE
    QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY date DESC) <= $lookback"""

# $start the window's first session, $date the screen date, $last_pos D's
# calendar position.
DUCKDB_SCREEN = """
WITH win AS ({window}),
per AS (
    SELECT symbol,
           count(*) AS n,
           max(date) AS last_date,
           max(high) AS peak_price,
           arg_max(close, date) AS current_price,
           max(struct_pack(h := high, d := date)).d AS peak_date  -- the latest bar at the peak
    FROM win
    GROUP BY symbol
),
judged AS (
    SELECT *,
           CASE WHEN last_date < $date::DATE THEN 'stale'
                WHEN n < $min_history THEN 'insufficient_history' END AS reason,
           round((current_price - peak_price) / peak_price * 100.0 * 10000.0) / 10000.0 + 0.0 AS drawdown_pct
    FROM per
)
SELECT j.symbol::VARCHAR AS symbol, j.peak_date, j.drawdown_pct, $last_pos - c.pos AS days_since_peak,
       row_number() OVER (ORDER BY j.drawdown_pct, j.symbol::VARCHAR) AS rank, NULL AS reason
FROM judged j JOIN calendar c ON c.date = j.peak_date
WHERE j.reason IS NULL
UNION ALL
SELECT symbol::VARCHAR, NULL, NULL, NULL, NULL, reason FROM judged WHERE reason IS NOT NULL
UNION ALL
SELECT t.symbol::VARCHAR, NULL, NULL, NULL, NULL, 'absent' FROM tickers t ANTI JOIN per p ON p.symbol = t.symbol
ORDER BY rank NULLS LAST
"""

DUCKDB_SCREEN_RANGE = DUCKDB_SCREEN.format(window=DUCKDB_WINDOW)
DUCKDB_SCREEN_OWN = DUCKDB_SCREEN.format(window=DUCKDB_OWN_BARS)

# Symbols without a bar in the window that have one on or before D.
DUCKDB_OLDER = """
SELECT DISTINCT symbol::VARCHAR FROM bars
WHERE symbol::VARCHAR IN (SELECT unnest($1::VARCHAR[])) AND date <= $2::DATE
"""


def screen_duckdb(con, date: dt.date, start: dt.date | None, last_pos: int, lookback: int, min_history: int):
    """Every symbol as (symbol, peak_date, drawdown_pct, days_since_peak,
    rank, reason): ranked ones first by rank, then the skipped; and
    {symbol: reason} of the skipped."""
    sql = DUCKDB_SCREEN_RANGE if start is not None else DUCKDB_SCREEN_OWN
    params = {"start": start, "date": date, "lookback": max(lookback, 1), "min_history": min_history, "last_pos": last_pos}
    rows = con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()
    skipped = {r[0]: r[5] for r in rows if r[5] is not None}
    absent = [s for s, reason in skipped.items() if reason == "absent"]
    if absent:
        older = {r[0] for r in con.execute(DUCKDB_OLDER, [absent, date]).fetchall()}
        skipped.update({s: "stale" if s in older else "no_bars" for s in absent})
    return rows, skipped


def duckdb_answer(rows, skipped):
    got = [(r[0], r[1].isoformat(), r[2], r[3], r[4]) for r in rows if r[5] is None]
    return got, skipped


# ---------------------------------------------------------------------------
# Checks


def check(got, skipped: dict[str, str], rust: dict, who: str) -> list[str]:
    """Differences from the Rust result (empty when they agree)."""
    problems = []
    want = rust["rows"]
    if len(want) != len(got):
        problems.append(f"{len(got)} rows, Rust has {len(want)}")
    for (sym, peak, dd, days, rank), (r_sym, r_peak, r_dd, r_days, r_rank) in zip(got, want):
        if (sym, peak, int(days), int(rank)) != (r_sym, r_peak, r_days, r_rank) or abs(dd - r_dd) > 1e-4:
            problems.append(
                f"rank {r_rank}: {who} ({sym}, {peak}, {dd}, {days}, {rank}) "
                f"!= Rust ({r_sym}, {r_peak}, {r_dd}, {r_days}, {r_rank})"
            )
            if len(problems) > 10:
                break
    want_skipped = dict(rust["skipped"])
    if skipped != want_skipped:
        diff = set(skipped.items()) ^ set(want_skipped.items())
        problems.append(f"skipped differ: {sorted(diff)[:10]}")
    return problems


def self_test() -> None:
    """The pandas reference's hand-computed case (stale, no bars on or
    before D, a tie between peaks, a halt) through both peers."""
    cal = [dt.date(2026, 1, 5) + dt.timedelta(days=i + 2 * (i // 5)) for i in range(40)]  # weekdays
    d = cal[-1]
    fut = d + dt.timedelta(days=1)
    tie_high = [10.0] * 40
    tie_high[5] = tie_high[20] = 12.0
    halt_days = cal[:31] + cal[36:]
    halt_high = [10.0] * 35
    halt_high[30] = 20.0
    series = [
        ("FUT", [fut], [5.0], [5.0]),
        ("GAP", halt_days, halt_high, [10.0] * 34 + [15.0]),
        ("NEW", cal[11:], [10.0] * 29, [10.0] * 29),
        ("OLD", cal[:39], [10.0] * 39, [10.0] * 39),
        ("TIE", cal, tie_high, [10.0] * 39 + [9.0]),
    ]
    ds = Dataset.__new__(Dataset)
    ds.tickers = [s[0] for s in series]
    ds.calendar = np.array([(c - UNIX_EPOCH).days for c in cal + [fut]], dtype=np.int32)
    ds.sym = np.concatenate([np.full(len(s[1]), i, np.int32) for i, s in enumerate(series)])
    ds.date = np.concatenate([[(x - UNIX_EPOCH).days for x in s[1]] for s in series]).astype(np.int32)
    ds.high = np.concatenate([s[2] for s in series])
    ds.close = np.concatenate([s[3] for s in series])
    ds._polars = ds._duckdb = None
    want = [("GAP", cal[30].isoformat(), -25.0, 9, 1), ("TIE", cal[20].isoformat(), -25.0, 19, 2)]
    want_skipped = {"OLD": "stale", "NEW": "insufficient_history", "FUT": "no_bars"}
    cal_series = pl.Series(ds.calendar, dtype=pl.Int32).cast(pl.Date)
    for lookback in (180, 36):  # 180: the calendar is too short, own bars
        got, skipped = polars_answer(*screen_polars(ds.polars(), cal_series, d, lookback, 30))
        assert (got, skipped) == (want, want_skipped), ("polars", lookback, got, skipped)
        start, last_pos = window(ds, d, lookback)
        got, skipped = duckdb_answer(*screen_duckdb(ds.duckdb(), d, start, last_pos, lookback, 30))
        assert (got, skipped) == (want, want_skipped), ("duckdb", lookback, got, skipped)
    ds.free()


# ---------------------------------------------------------------------------
# Timing


def timed(f, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return times


def run_case(ds: Dataset, case: dict, repeat: int, peers: list[str]) -> list[dict]:
    date = dt.date.fromisoformat(case["date"])
    lookback, min_history = case["lookback"], case["min_history"]
    results = []
    for peer in peers:
        if peer == "polars":
            bars = ds.polars()
            cal = pl.Series(ds.calendar, dtype=pl.Int32).cast(pl.Date)
            call = lambda: screen_polars(bars, cal, date, lookback, min_history)  # noqa: E731
            answer = polars_answer
        else:
            con = ds.duckdb()
            start, last_pos = window(ds, date, lookback)
            call = lambda: screen_duckdb(con, date, start, last_pos, lookback, min_history)  # noqa: E731
            answer = duckdb_answer
        got, skipped = answer(*call())  # warm-up, and the answer checked before timing
        problems = check(got, skipped, case, peer)
        times = timed(call, repeat) if not problems else []
        r = {
            "peer": peer,
            "case": case["case"],
            "symbols": case["symbols"],
            "bars": case["bars"],
            "repeat": len(times),
            "median_s": statistics.median(times) if times else None,
            "best_s": min(times) if times else None,
            "times_s": times,
            "ranked": len(got),
            "skipped": len(skipped),
            "matches_rust": not problems,
        }
        results.append(r)
        if times:
            print(
                f"{peer:<7} {case['case']:<26} median {r['median_s'] * 1e3:9.2f} ms  best {r['best_s'] * 1e3:9.2f} ms"
                f"  ({repeat} runs; {len(got)} ranked, {len(skipped)} skipped; matches Rust)",
                flush=True,
            )
        else:
            print(f"{peer:<7} {case['case']:<26} DIFFERS from Rust: not timed", flush=True)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dump", type=Path, help="directory written with DIPWATCH_BENCH_DUMP")
    ap.add_argument("cases", nargs="*", help="case ids (default: every DIR/*.json case)")
    ap.add_argument("--repeat", type=int, default=0, help="timed runs per case (default: by size)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--only", choices=["polars", "duckdb"], action="append", help="run only this peer")
    args = ap.parse_args()
    peers = args.only or ["polars", "duckdb"]
    self_test()
    threads = duckdb.connect().execute("SET threads = 1; SELECT current_setting('threads')").fetchall()[0][0]
    print(
        f"polars {pl.__version__} (thread pool {pl.thread_pool_size()}), duckdb {duckdb.__version__} "
        f"(threads {threads}), numpy {np.__version__}, Python {sys.version.split()[0]}",
        flush=True,
    )

    paths = [args.dump / f"{c}.json" for c in args.cases] or sorted(args.dump.glob("*x*_lookback*.json"))
    cases = [json.loads(p.read_text()) for p in paths]
    cases.sort(key=lambda c: (c["bars"], c["lookback"]))
    ds, ds_name, results = None, None, []
    for case in cases:
        if case["dataset"] != ds_name:
            if ds is not None:
                ds.free()  # one large dataset in memory at a time
            t = time.perf_counter()
            ds, ds_name = Dataset(args.dump / case["dataset"]), case["dataset"]
            ds.polars(), ds.duckdb()
            print(f"loaded {ds_name}: {len(ds.sym):,} bars into polars and DuckDB in {time.perf_counter() - t:.2f} s", flush=True)
        repeat = args.repeat or (30 if case["bars"] < 1_000_000 else 7)
        results += run_case(ds, case, repeat, peers)
    if args.json:
        doc = {
            "polars": pl.__version__,
            "duckdb": duckdb.__version__,
            "python": sys.version.split()[0],
            "cases": results,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0 if all(r["matches_rust"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
