//! The session loop: fills, exits, entries and the equity curve (the rules
//! are in the module documentation of [`crate::backtest`]).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::query::{Field, PriceHistory};
use crate::screen::DrawdownColumns;
use crate::strategy::{
    ExitReason, ExitRules, Fill, Holding, PortfolioRule, Rebalance, Sizing, decide_exits, is_entry,
};

/// Sessions the inverse-volatility sizing looks back over.
pub const VOL_SESSIONS: usize = 60;

/// The strategy's parameters (the screen's are in the [`DrawdownColumns`]
/// the run ranks from). Stored in each run's `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// When decisions are taken.
    pub rebalance: Rebalance,
    /// Entry threshold, percent (e.g. -30).
    pub entry_pct: f64,
    /// Positions held at most.
    pub max_positions: usize,
    /// How new positions are sized.
    pub sizing: Sizing,
    /// A position's own exits.
    pub exits: ExitRules,
    /// The portfolio rule, when on.
    pub portfolio_rule: Option<PortfolioRule>,
    /// Fill price.
    pub fill: Fill,
    /// Commission per fill, account currency.
    pub commission: f64,
    /// Slippage per fill, basis points.
    pub slippage_bps: f64,
    /// Starting cash.
    pub initial_capital: f64,
    /// Sessions in a row without a bar after which a held name is taken as
    /// delisted (`backtest.delist_after`). Runs stored before the setting
    /// existed sold a name on its first session without a bar: 1.
    #[serde(default = "one")]
    pub delist_after: usize,
    /// What a delisted name is sold for: its last close less this
    /// percentage (`backtest.delist_haircut_pct`; 0 in runs stored before
    /// the setting existed).
    #[serde(default)]
    pub delist_haircut_pct: f64,
}

/// `delist_after` of runs stored before it was a setting.
fn one() -> usize {
    1
}

/// One round trip, closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// The name.
    pub symbol: String,
    /// Session of the purchase fill.
    pub entry_date: NaiveDate,
    /// Fill price paid, slippage included.
    pub entry_price: f64,
    /// Session of the sale's fill (for [`ExitReason::BarsEnded`], the session
    /// it was taken as delisted, priced from its last close).
    pub exit_date: NaiveDate,
    /// Fill price received, slippage included.
    pub exit_price: f64,
    /// Shares (fractional).
    pub shares: f64,
    /// Profit after both commissions, account currency.
    pub pnl: f64,
    /// `pnl` over the purchase's cost (commission included), percent.
    pub return_pct: f64,
    /// Sessions from purchase fill to sale fill.
    pub sessions: usize,
    /// Why it was sold.
    pub reason: ExitReason,
}

/// A position still open at the end, valued at its last close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenPosition {
    /// The name.
    pub symbol: String,
    /// Session of the purchase fill.
    pub entry_date: NaiveDate,
    /// Fill price paid.
    pub entry_price: f64,
    /// Shares.
    pub shares: f64,
    /// Value at the last session's (or its last) close.
    pub value: f64,
}

/// What a backtest produced.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Run {
    /// The sessions simulated, oldest first.
    pub dates: Vec<NaiveDate>,
    /// Equity at each session's close (cash plus positions at their last close).
    pub equity: Vec<f64>,
    /// Whether any position was held at each session's close.
    pub invested: Vec<bool>,
    /// The share of equity in positions at each session's close (0 to 1).
    pub deployed: Vec<f64>,
    /// Closed trades, in the order they closed.
    pub trades: Vec<Trade>,
    /// Positions open at the end.
    pub open: Vec<OpenPosition>,
    /// Value of every fill, purchases and sales, before costs.
    pub traded_value: f64,
    /// Things the reader must know (names taken as delisted).
    pub warnings: Vec<String>,
}

struct Position {
    symbol: usize,
    shares: f64,
    price: f64,
    cost: f64,
    entered: usize,
}

/// Replay the strategy over sessions `start..=end` of `history` (positions
/// in its dates), ranking from `ranks` (computed on the same history) and
/// never buying a symbol in `excluded` (the benchmark). Sessions before
/// `start` only warm up the ranking. Panics never: an empty or inverted
/// range gives an empty run.
pub fn run(
    history: &PriceHistory,
    ranks: &DrawdownColumns,
    params: &Params,
    excluded: &[usize],
    start: usize,
    end: usize,
) -> Run {
    let mut sim = Sim {
        history,
        params,
        cash: params.initial_capital,
        positions: Vec::new(),
        out: Run::default(),
        slip: params.slippage_bps / 10_000.0,
        pending_sells: Vec::new(),
        pending_buys: Vec::new(),
    };
    if history.dates().is_empty() || start > end || end >= history.dates().len() {
        return sim.out;
    }
    for d in start..=end {
        sim.delist(d);
        if params.fill == Fill::NextOpen {
            sim.fill_at_open(d);
        }
        let sold_today = sim.exit(d);
        if is_decision(history.dates(), d, params.rebalance) {
            let picks = sim.picks(d, ranks, excluded, &sold_today);
            sim.enter(d, picks);
        }
        sim.record(d);
    }
    sim.finish(end)
}

/// The cash and positions as the loop changes them.
struct Sim<'a> {
    history: &'a PriceHistory,
    params: &'a Params,
    cash: f64,
    positions: Vec<Position>,
    out: Run,
    slip: f64,
    /// Sales ordered on a close, filled at the next open.
    pending_sells: Vec<(usize, ExitReason)>,
    /// Purchases (symbol, amount) ordered on a close, filled at the next open.
    pending_buys: Vec<(usize, f64)>,
}

impl Sim<'_> {
    /// Names without a bar for `delist_after` sessions in a row, counted
    /// from the bars up to `d` only (a later bar is not known yet): taken
    /// as delisted, sold at the last close less the haircut.
    fn delist(&mut self, d: usize) {
        let (history, params) = (self.history, self.params);
        let mut i = 0;
        while i < self.positions.len() {
            let s = self.positions[i].symbol;
            match missing_since(history.present(s), d) {
                Some(last) if d - last >= params.delist_after.max(1) => {
                    let close = history.series(s, Field::Close)[last];
                    let price = close * (1.0 - params.delist_haircut_pct / 100.0);
                    self.out.warnings.push(format!(
                        "{}: no bar for {} sessions after {}: taken as delisted on {}, \
                         sold at its last close {close} less {}% ({price})",
                        history.symbols()[s],
                        d - last,
                        history.dates()[last],
                        history.dates()[d],
                        params.delist_haircut_pct
                    ));
                    self.sell(i, price, d, ExitReason::BarsEnded);
                    self.pending_sells.retain(|(ps, _)| *ps != s);
                }
                _ => i += 1,
            }
        }
    }

    /// Yesterday's orders at `d`'s open: sales first, for the cash. A sale
    /// of a name without a bar waits; a purchase lapses.
    fn fill_at_open(&mut self, d: usize) {
        let history = self.history;
        let mut waiting = std::mem::take(&mut self.pending_sells);
        waiting.retain(|&(s, reason)| {
            if !history.present(s)[d] {
                return true;
            }
            if let Some(i) = self.positions.iter().position(|p| p.symbol == s) {
                self.sell(i, history.series(s, Field::Open)[d], d, reason);
            }
            false
        });
        self.pending_sells = waiting;
        for (s, amount) in std::mem::take(&mut self.pending_buys) {
            if history.present(s)[d] {
                self.buy(s, amount, history.series(s, Field::Open)[d], d);
            }
        }
    }

    /// Exits on `d`'s close, by the strategy's one decision: sold at the
    /// close, or ordered for the next open. A name without a bar today has
    /// no price to judge (held at its last close); one already being sold
    /// is out of the portfolio. The names sold, not bought back today.
    fn exit(&mut self, d: usize) -> Vec<usize> {
        let (history, params) = (self.history, self.params);
        let holdings: Vec<Holding> = self
            .positions
            .iter()
            .map(|p| {
                let judged = history.present(p.symbol)[d]
                    && !self.pending_sells.iter().any(|(s, _)| *s == p.symbol);
                Holding {
                    return_pct: judged.then(|| {
                        (history.series(p.symbol, Field::Close)[d] / p.price - 1.0) * 100.0
                    }),
                    held_sessions: Some(u32::try_from(d - p.entered).unwrap_or(u32::MAX)),
                    in_portfolio_rule: judged,
                }
            })
            .collect();
        let exits: Vec<(usize, ExitReason)> =
            decide_exits(&holdings, &params.exits, params.portfolio_rule.as_ref())
                .into_iter()
                .map(|e| (self.positions[e.index].symbol, e.reasons[0]))
                .collect();
        let sold: Vec<usize> = exits.iter().map(|e| e.0).collect();
        match params.fill {
            Fill::Close => {
                for (s, reason) in exits {
                    if let Some(i) = self.positions.iter().position(|p| p.symbol == s) {
                        self.sell(i, history.series(s, Field::Close)[d], d, reason);
                    }
                }
            }
            Fill::NextOpen => self.pending_sells.extend(exits),
        }
        sold
    }

    /// The names to buy on decision session `d`: the best-ranked entries
    /// not excluded, not sold today and not held, for the free slots.
    fn picks(
        &self,
        d: usize,
        ranks: &DrawdownColumns,
        excluded: &[usize],
        sold_today: &[usize],
    ) -> Vec<usize> {
        let params = self.params;
        let staying = self.positions.len() - self.pending_sells.len().min(self.positions.len());
        let slots = params
            .max_positions
            .saturating_sub(staying + self.pending_buys.len());
        if slots == 0 {
            return Vec::new();
        }
        ranks
            .ranked_at(d, params.entry_pct)
            .into_iter()
            .filter(|(s, dd)| {
                is_entry(*dd, params.entry_pct)
                    && !excluded.contains(s)
                    && !sold_today.contains(s)
                    && !self.positions.iter().any(|p| p.symbol == *s)
            })
            .map(|(s, _)| s)
            .take(slots)
            .collect()
    }

    /// Buy `picks` on decision session `d`, sized from the equity: at the
    /// close, or ordered for the next open.
    fn enter(&mut self, d: usize, picks: Vec<usize>) {
        if picks.is_empty() {
            return;
        }
        let history = self.history;
        let amounts = sizes(history, &picks, d, self.equity(d), self.params);
        for (s, amount) in picks.into_iter().zip(amounts) {
            match self.params.fill {
                Fill::Close => self.buy(s, amount, history.series(s, Field::Close)[d], d),
                Fill::NextOpen => self.pending_buys.push((s, amount)),
            }
        }
    }

    /// `d`'s close in the curves: equity, invested, the share deployed.
    fn record(&mut self, d: usize) {
        let equity = self.equity(d);
        self.out.dates.push(self.history.dates()[d]);
        self.out.equity.push(equity);
        self.out.invested.push(!self.positions.is_empty());
        self.out.deployed.push(if equity > 0.0 {
            (equity - self.cash) / equity
        } else {
            0.0
        });
    }

    /// The run, with the positions still open at `end` valued at their
    /// last close.
    fn finish(mut self, end: usize) -> Run {
        let history = self.history;
        self.out.open = self
            .positions
            .iter()
            .map(|p| OpenPosition {
                symbol: history.symbols()[p.symbol].to_string(),
                entry_date: history.dates()[p.entered],
                entry_price: p.price,
                shares: p.shares,
                value: p.shares * self.mark(p.symbol, end),
            })
            .collect();
        self.out
    }

    /// Symbol `s`'s close at `d`, or its last close before (held through a gap).
    fn mark(&self, s: usize, d: usize) -> f64 {
        let close = self.history.series(s, Field::Close);
        let present = self.history.present(s);
        (0..=d)
            .rev()
            .find(|&i| present[i])
            .map_or(f64::NAN, |i| close[i])
    }

    fn equity(&self, d: usize) -> f64 {
        self.cash
            + self
                .positions
                .iter()
                .map(|p| p.shares * self.mark(p.symbol, d))
                .sum::<f64>()
    }

    /// Buy `amount` (at most the cash) of `s` at `raw` plus slippage.
    fn buy(&mut self, s: usize, amount: f64, raw: f64, d: usize) {
        let amount = amount.min(self.cash);
        let price = raw * (1.0 + self.slip);
        if amount <= self.params.commission || price.is_nan() || price <= 0.0 {
            return;
        }
        let shares = (amount - self.params.commission) / price;
        self.cash -= amount;
        self.out.traded_value += shares * raw;
        self.positions.push(Position {
            symbol: s,
            shares,
            price,
            cost: amount,
            entered: d,
        });
    }

    /// Sell position `i` at `raw` less slippage, filled on session `d`.
    fn sell(&mut self, i: usize, raw: f64, d: usize, reason: ExitReason) {
        let p = self.positions.remove(i);
        let price = raw * (1.0 - self.slip);
        let proceeds = p.shares * price - self.params.commission;
        self.cash += proceeds;
        self.out.traded_value += p.shares * raw;
        let pnl = proceeds - p.cost;
        self.out.trades.push(Trade {
            symbol: self.history.symbols()[p.symbol].to_string(),
            entry_date: self.history.dates()[p.entered],
            entry_price: p.price,
            exit_date: self.history.dates()[d],
            exit_price: price,
            shares: p.shares,
            pnl,
            return_pct: pnl / p.cost * 100.0,
            sessions: d - p.entered,
            reason,
        });
    }
}

/// The last session at or before `d` with a bar when `d` has none (`None`
/// when `d` has a bar, or no bar came before it): how long a name has been
/// missing, from the bars up to `d` only.
pub fn missing_since(present: &[bool], d: usize) -> Option<usize> {
    if present[d] {
        return None;
    }
    (0..d).rev().find(|&i| present[i])
}

/// Whether session `d` of `dates` takes decisions.
pub fn is_decision(dates: &[NaiveDate], d: usize, rebalance: Rebalance) -> bool {
    let Some(prev) = d.checked_sub(1).map(|p| dates[p]) else {
        return true;
    };
    let date = dates[d];
    match rebalance {
        Rebalance::Daily => true,
        Rebalance::Weekly => date.iso_week() != prev.iso_week(),
        Rebalance::Monthly => (date.year(), date.month()) != (prev.year(), prev.month()),
    }
}

/// The amounts to buy of each pick at decision session `d`.
fn sizes(
    history: &PriceHistory,
    picks: &[usize],
    d: usize,
    equity: f64,
    params: &Params,
) -> Vec<f64> {
    let slot = equity / params.max_positions as f64;
    match params.sizing {
        Sizing::Equal => vec![slot; picks.len()],
        Sizing::InverseVol => {
            let inverse: Vec<f64> = picks
                .iter()
                .map(|&s| match volatility(history, s, d) {
                    Some(v) if v > 0.0 => 1.0 / v,
                    // Too few returns to measure: an average weight.
                    _ => f64::NAN,
                })
                .collect();
            let known: Vec<f64> = inverse.iter().copied().filter(|v| !v.is_nan()).collect();
            let fallback = if known.is_empty() {
                1.0
            } else {
                known.iter().sum::<f64>() / known.len() as f64
            };
            let weights: Vec<f64> = inverse
                .iter()
                .map(|v| if v.is_nan() { fallback } else { *v })
                .collect();
            let total: f64 = weights.iter().sum();
            let budget = slot * picks.len() as f64;
            weights.iter().map(|w| budget * w / total).collect()
        }
    }
}

/// Standard deviation (sample) of symbol `s`'s daily close-to-close
/// returns over its last [`VOL_SESSIONS`] bars up to `d`; `None` with
/// fewer than two returns.
pub fn volatility(history: &PriceHistory, s: usize, d: usize) -> Option<f64> {
    let close = history.series(s, Field::Close);
    let present = history.present(s);
    let mut closes: Vec<f64> = (0..=d)
        .rev()
        .filter(|&i| present[i])
        .take(VOL_SESSIONS + 1)
        .map(|i| close[i])
        .collect();
    closes.reverse();
    let returns: Vec<f64> = closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    if returns.len() < 2 {
        return None;
    }
    let mean = returns.iter().sum::<f64>() / returns.len() as f64;
    let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (returns.len() - 1) as f64;
    Some(var.sqrt())
}
