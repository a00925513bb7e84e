//! The simulated paper portfolio: a few position slots, each holding one
//! symbol of the universe for a while and rolling over to a fresh entry,
//! so positions, returns and equity change day by day and are a pure
//! function of the universe and the date.

use chrono::NaiveDate;
use rand::{RngCore, SeedableRng};
use rand_pcg::Pcg64;
use rust_decimal::Decimal;

use super::factors::factors;
use super::{EPOCH, cents, fnv1a};
use crate::domain::{Account, Position, Symbol};
use crate::market::calendar;

/// Cash of the simulated paper account, in cents.
const CASH_CENTS: i64 = 2_500_000;
/// Positions the simulated account holds (when the universe allows).
pub(super) const POSITION_SLOTS: usize = 8;
/// A position is entered at least this many sessions before the as-of date.
pub(super) const MIN_HOLD_SESSIONS: usize = 40;
/// Candidate symbols tried per slot before the slot is left empty.
const SLOT_CANDIDATES: usize = 8;
/// Mixed into the universe hash so the portfolio stream is not the stream
/// of any symbol's prices.
const PORTFOLIO_SALT: u64 = 0x5eed_d1b5_0f01_10de;

/// The paper account and its positions at the close of the latest session
/// on or before `as_of`, positions sorted by symbol.
pub(super) fn portfolio(universe: &[Symbol], as_of: NaiveDate) -> (Account, Vec<Position>) {
    let days = calendar::trading_days(EPOCH, as_of);
    let Some(today) = days.len().checked_sub(1) else {
        // Before the epoch: nothing bought yet.
        let cash = cents(CASH_CENTS);
        return (account(cash, cash), Vec::new());
    };
    let plan = PaperPortfolio::new(universe, &days);
    let positions = plan.positions_at(today);
    let equity = equity_of(&positions);
    let last_equity = match today.checked_sub(1) {
        Some(prev) => equity_of(&plan.positions_at(prev)),
        None => equity_of(&[]),
    };
    (account(equity, last_equity), positions)
}

/// One position slot of the paper portfolio: a holding period that rolls
/// over (sell and buy back) every `hold` sessions, a phase so slots do not
/// roll together, a budget, and the symbols it may hold, in preference order.
struct Slot {
    hold: usize,
    phase: usize,
    budget_cents: i64,
    candidates: Vec<usize>,
}

/// The paper portfolio's plan (its slots) over one calendar, with the closes of every
/// candidate symbol computed once.
pub(super) struct PaperPortfolio<'a> {
    universe: &'a [Symbol],
    slots: Vec<Slot>,
    /// Closes per universe index, for the candidates only.
    closes: Vec<Option<Vec<Option<i64>>>>,
}

impl<'a> PaperPortfolio<'a> {
    fn new(universe: &'a [Symbol], days: &[NaiveDate]) -> Self {
        let seed = universe.iter().fold(PORTFOLIO_SALT, |h, s| {
            fnv1a(s.as_str().as_bytes()) ^ h.rotate_left(5).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        });
        let mut rng = Pcg64::seed_from_u64(seed);
        // Fisher-Yates on raw `next_u64` rather than `SliceRandom::shuffle`,
        // whose draws rand does not promise to keep across releases.
        let mut order: Vec<usize> = (0..universe.len()).collect();
        for i in (1..order.len()).rev() {
            let j = usize::try_from(rng.next_u64() % (i as u64 + 1)).unwrap_or(0);
            order.swap(i, j);
        }
        let slots: Vec<Slot> = (0..POSITION_SLOTS)
            .map(|k| Slot {
                hold: 40 + usize::try_from(rng.next_u32() % 321).unwrap_or(0),
                phase: usize::try_from(rng.next_u32() % 1000).unwrap_or(0),
                budget_cents: 150_000 + i64::from(rng.next_u32() % 450_000),
                // Slot k takes every POSITION_SLOTS-th symbol of the
                // shuffled order, so slots never share a symbol and a
                // replacement in one slot does not cascade into the others.
                candidates: order
                    .iter()
                    .skip(k)
                    .step_by(POSITION_SLOTS)
                    .take(SLOT_CANDIDATES)
                    .copied()
                    .collect(),
            })
            .collect();
        let mut closes = vec![None; universe.len()];
        let f = factors(days.len());
        for slot in &slots {
            for &c in &slot.candidates {
                closes[c] = Some(super::closes(&universe[c], days, &f));
            }
        }
        Self {
            universe,
            slots,
            closes,
        }
    }

    /// Positions at the close of session `today` (an index into the
    /// calendar the book was built on), sorted by symbol.
    fn positions_at(&self, today: usize) -> Vec<Position> {
        let mut out: Vec<Position> = self
            .slots
            .iter()
            .filter_map(|slot| {
                // The entry stays put for `hold` sessions, so returns evolve
                // day by day, then rolls forward to a fresh entry.
                let back = MIN_HOLD_SESSIONS + (today + slot.phase) % slot.hold;
                let entry = today.checked_sub(back)?;
                slot.candidates.iter().find_map(|&c| {
                    let series = self.closes[c].as_ref()?;
                    let entry_cents = (*series.get(entry)?)?;
                    let now_cents = (*series.get(today)?)?;
                    let quantity = (slot.budget_cents / entry_cents).max(1);
                    Some(Position::from_prices(
                        self.universe[c].clone(),
                        Decimal::from(quantity),
                        cents(entry_cents),
                        cents(now_cents),
                    ))
                })
            })
            .collect();
        out.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        out
    }
}

/// Cash plus the market value of `positions` (all long).
fn equity_of(positions: &[Position]) -> Decimal {
    cents(CASH_CENTS)
        + positions
            .iter()
            .filter_map(|p| p.market_value)
            .sum::<Decimal>()
}

/// The account snapshot for a given equity and previous-close equity.
fn account(equity: Decimal, last_equity: Decimal) -> Account {
    let cash = cents(CASH_CENTS);
    Account {
        equity: Some(equity),
        cash: Some(cash),
        // Reg T margin account: twice the cash.
        buying_power: Some(cash * Decimal::TWO),
        status: "ACTIVE".into(),
        currency: Some("USD".into()),
        last_equity: Some(last_equity),
        long_market_value: Some(equity - cash),
        // The simulated book never day-trades: a fact of the simulation,
        // not a default.
        daytrade_count: Some(0),
        pattern_day_trader: Some(false),
    }
}
