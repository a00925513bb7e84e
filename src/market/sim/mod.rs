//! The deterministic simulated market (`market.provider = "sim"`): daily
//! bars and a paper portfolio with no network and no keys, so the whole
//! pipeline (collect, screen, store, bot) can run on a laptop and in tests.
//!
//! A stock's daily log return is `beta x market + loading x sector +
//! its own noise`, like a one-factor model with industry factors:
//! [`factors`] holds the market's and the sectors' returns per session
//! (fixed streams), and each ticker draws its beta (spread around 1), its
//! sector, its loading on it and its own volatility from the head of a
//! PCG64 stream seeded by the FNV-1a hash of the ticker. Simulated `SPY`
//! is the market itself (beta 1, nothing of its own). So stocks move
//! together as real ones do (pairwise correlations of daily returns around
//! 0.3, higher within a sector), betas measured against SPY mean something,
//! and a market crash shows in every name.
//!
//! Every history starts at a fixed epoch and steps once per NYSE session,
//! so the bar for a given date is the same whatever range was asked for,
//! on every run (across platforms too, as far as their libm agrees on
//! `exp` and `ln` to the last bit; a disagreement could at most move a
//! rounded price by a cent).
//!
//! A stock's own part is a random walk pulled weakly toward a slowly
//! growing anchor that follows the market (so twelve years do not drift to
//! absurd prices), with rare gap-downs followed by a partial recovery; the
//! market has crashes and the sectors busts (see [`factors`]). The mix is
//! tuned so that a 180-session drawdown screen over ~930 symbols looks like
//! a real market's: the deepest names down 50-80%, the median a few to
//! twenty percent down depending on the market, and some names within 2%
//! of their high.

mod factors;
mod paper;

use async_trait::async_trait;
use chrono::{Days, NaiveDate};
use rand::{Rng, RngCore, SeedableRng};
use rand_pcg::Pcg64;
use rust_decimal::Decimal;

use super::{BarsAnswer, Broker, MarketData, MarketError, Session, SymbolBars, calendar};
use crate::domain::{Account, Bar, Position, Positions, Symbol};
pub use factors::SECTORS;
use factors::{Factors, factors};

/// Where every simulated history starts: the walk takes its first step on
/// the first NYSE session on or after this date (2015-01-02 itself).
pub const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(2015, 1, 2) {
    Some(d) => d,
    // Evaluated at compile time: a bad literal fails the build.
    None => panic!("invalid epoch"),
};

/// Share of symbols that list late (an IPO inside [`IPO_WINDOW_DAYS`] after
/// [`IPO_WINDOW_START`]), so screens meet real "no bars" and "insufficient
/// history" cases instead of a universe where everything is seasoned.
const IPO_SHARE: f64 = 0.05;
/// Start of the window IPO dates are drawn from.
const IPO_WINDOW_START: NaiveDate = match NaiveDate::from_ymd_opt(2025, 1, 1) {
    Some(d) => d,
    None => panic!("invalid IPO window"),
};
/// Length of the IPO window in calendar days: up to 2026-12-31.
const IPO_WINDOW_DAYS: f64 = 730.0;

/// Chance per session of a gap-down (earnings miss, guidance cut, ...).
const GAP_CHANCE: f64 = 0.0025;
/// Anchor bounds, in dollars: the anchor is what keeps twelve years of
/// compounding noise and gap-downs from leaving the range of real share
/// prices, and the price itself stays near it.
const ANCHOR_MIN: f64 = 3.0;
/// See [`ANCHOR_MIN`].
const ANCHOR_MAX: f64 = 2_500.0;

/// The simulated market: deterministic bars for any ticker, the NYSE
/// calendar, and a paper portfolio drawn from the universe.
#[derive(Debug, Clone)]
pub struct SimMarket {
    /// Sorted, unique: the portfolio must not depend on file order.
    universe: Vec<Symbol>,
}

impl SimMarket {
    /// A simulated market whose paper portfolio is drawn from `universe`.
    /// Bars are available for any ticker, in the universe or not.
    #[must_use]
    pub fn new(mut universe: Vec<Symbol>) -> Self {
        universe.sort_unstable();
        universe.dedup();
        Self { universe }
    }

    /// Bars dated `from..=to` for each symbol, in input order; symbols with
    /// no bar in the range (not listed yet) are left out, as Alpaca does.
    /// This is the synchronous core of [`MarketData::daily_bars`], for
    /// benches and callers outside an async context.
    #[must_use]
    pub fn bars(&self, symbols: &[Symbol], from: NaiveDate, to: NaiveDate) -> Vec<SymbolBars> {
        if from > to {
            return Vec::new();
        }
        // One calendar for all symbols: the walk is indexed by session.
        let days = calendar::trading_days(EPOCH, to);
        let first = days.partition_point(|d| *d < from);
        let f = factors(days.len());
        symbols
            .iter()
            .filter_map(|symbol| {
                let bars = series(symbol, &days, first, &f);
                (!bars.is_empty()).then(|| SymbolBars {
                    symbol: symbol.clone(),
                    bars,
                })
            })
            .collect()
    }

    /// The paper account and its positions at the close of the latest
    /// session on or before `as_of`, positions sorted by symbol.
    #[must_use]
    pub fn portfolio(&self, as_of: NaiveDate) -> (Account, Vec<Position>) {
        paper::portfolio(&self.universe, as_of)
    }
}

#[async_trait]
impl MarketData for SimMarket {
    fn provider(&self) -> &'static str {
        "sim"
    }

    fn is_simulated(&self) -> bool {
        true
    }

    async fn sessions(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Session>, MarketError> {
        Ok(calendar::sessions(from, to))
    }

    async fn daily_bars(
        &self,
        symbols: &[Symbol],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BarsAnswer, MarketError> {
        // Computed inline rather than on a blocking thread: a year for the
        // whole universe takes a few tens of milliseconds, and staying off
        // `spawn_blocking` keeps the sim usable from any executor.
        Ok(BarsAnswer {
            series: self.bars(symbols, from, to),
            ..BarsAnswer::default()
        })
    }
}

#[async_trait]
impl Broker for SimMarket {
    async fn account(&self, as_of: NaiveDate) -> Result<Account, MarketError> {
        Ok(self.portfolio(as_of).0)
    }

    async fn positions(&self, as_of: NaiveDate) -> Result<Positions, MarketError> {
        Ok(Positions {
            held: self.portfolio(as_of).1,
            unreadable: Vec::new(),
        })
    }

    /// The simulated book is a pure function of the date.
    fn answers_any_date(&self) -> bool {
        true
    }
}

/// FNV-1a, 64 bit: a fixed, documented hash, unlike std's `DefaultHasher`
/// whose output may change between Rust releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The random stream behind one ticker.
fn symbol_rng(symbol: &Symbol) -> Pcg64 {
    Pcg64::seed_from_u64(fnv1a(symbol.as_str().as_bytes()))
}

/// A uniform draw in `lo..hi`.
fn uniform(rng: &mut Pcg64, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// An approximately standard normal value from the low 48 bits of `bits`:
/// the sum of four 12-bit uniforms (Irwin-Hall), centred and scaled to unit
/// variance. Several times cheaper than a ziggurat draw, which matters at
/// millions of sessions per request; its tails stop at +-3.46, and the
/// gap-downs supply the fat lower tail real returns have.
#[allow(clippy::cast_precision_loss)] // a sum below 2^14
fn normal_from_bits(bits: u64) -> f64 {
    let sum =
        (bits & 0xfff) + ((bits >> 12) & 0xfff) + ((bits >> 24) & 0xfff) + ((bits >> 36) & 0xfff);
    // Each term is uniform on (k + 0.5) / 4096: mean 1/2, variance 1/12.
    ((sum as f64 + 2.0) / 4_096.0 - 2.0) * SQRT_3
}

/// sqrt(3): scales an Irwin-Hall sum of four uniforms to unit variance.
const SQRT_3: f64 = 1.732_050_807_568_877_2;

/// A uniform value in `[0, 1)` from 16 random bits.
fn unit_from_bits(bits: u64) -> f64 {
    f64::from(u16::try_from(bits & 0xffff).unwrap_or(0)) / 65_536.0
}

/// SplitMix64: a strong 64-bit mix, used as a counter-based generator so a
/// session's cosmetic details can be drawn without stepping a stream.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `GAP_CHANCE` as a threshold on the top 16 bits of a session's draw
/// (164 / 65536, 0.25%).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
const GAP_THRESHOLD: u64 = (GAP_CHANCE * 65_536.0 + 0.5) as u64;

/// Share of the daily variance that arrives overnight (close to open).
const OVERNIGHT_SHARE: f64 = 0.16;

/// One session of the price path, in log dollars. Only the close carries
/// into the next session; everything else about the bar (open, wicks,
/// volume) is drawn when the bar is emitted, so sessions before a
/// requested range cost only the path's one draw.
#[derive(Debug, Clone, Copy, Default)]
struct Step {
    /// Previous close.
    ln_prev: f64,
    /// Where the session would open with no overnight noise: the previous
    /// close plus any gap and recovery.
    ln_base: f64,
    /// The session's noise (overnight plus intraday).
    noise: f64,
    /// Close.
    ln_close: f64,
    /// True on a gap-down session.
    gapped: bool,
}

/// The tickers that are the market's index rather than a stock: beta 1,
/// no sector, no noise of their own, no gap-downs, listed since the epoch.
const INDEX_TICKERS: &[&str] = &["SPY"];

/// Daily volatility the market factor averages over long spans (its
/// stochastic volatility and crashes included), for a bar's wicks.
const MARKET_DAILY_VOL: f64 = 0.0100;
/// The same for a sector factor (the middle of their range).
const SECTOR_DAILY_VOL: f64 = 0.0070;

/// How a ticker's returns load on the common factors, and its own
/// volatility: the simulation's "true" parameters, which its bars estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loadings {
    /// Sensitivity to the market factor (around 1; exactly 1 for SPY).
    pub beta: f64,
    /// The sector it belongs to, `0..SECTORS` (`None` for the index).
    pub sector: Option<usize>,
    /// Sensitivity to its sector's factor.
    pub sector_loading: f64,
    /// Daily volatility of its own (idiosyncratic) log returns.
    pub own_vol: f64,
}

impl Loadings {
    /// The ticker's loadings, as its history uses them.
    #[must_use]
    pub fn of(symbol: &Symbol) -> Self {
        Walk::new(symbol).loadings
    }
}

/// One symbol's price process: fixed parameters drawn from the head of its
/// stream, and the state carried from session to session.
struct Walk {
    /// The path's stream: one draw per session, more on gap days.
    rng: Pcg64,
    /// Seed of the counter-based draws for a bar's cosmetic details.
    detail_seed: u64,
    /// First date with a bar; `None` when listed since before the epoch.
    ipo: Option<NaiveDate>,
    /// Factor loadings and own volatility.
    loadings: Loadings,
    /// The per-session path's copies of the loadings, flat: the sector's
    /// table index and loading (0 for the index, whose sector is unused),
    /// so the hot loop does no `Option` work.
    beta: f64,
    sector: usize,
    sector_loading: f64,
    own_vol: f64,
    /// Whether it is the market's index (no gap-downs of its own).
    index: bool,
    /// Approximate daily volatility of the whole return, for wicks.
    day_sigma: f64,
    /// Spread of the overnight part of a session's noise given its total
    /// (taken once here: `sqrt` in the per-bar path is measurable).
    open_spread: f64,
    /// Pull of the log price toward the anchor, per session.
    reversion: f64,
    /// Anchor growth per session beyond the market's: the symbol's alpha.
    growth: f64,
    /// Mean daily volume, and trades per share (the reciprocal of the
    /// average trade size, so the per-bar path multiplies).
    mean_volume: f64,
    trades_per_share: f64,
    /// Log bounds of the anchor ([`ANCHOR_MIN`], [`ANCHOR_MAX`]), taken
    /// once here because `ln` is not free in the per-session loop.
    anchor_bounds: (f64, f64),
    /// State: log price (last close) and log anchor.
    x: f64,
    anchor: f64,
    /// State: sessions of post-gap recovery left, and the lift per session.
    recovery_left: u32,
    recovery_step: f64,
}

impl Walk {
    fn new(symbol: &Symbol) -> Self {
        let mut rng = symbol_rng(symbol);
        let index = INDEX_TICKERS.contains(&symbol.as_str());
        // Fixed draw order: changing it changes every history.
        let lists_late = rng.random::<f64>() < IPO_SHARE && !index;
        let ipo_offset = uniform(&mut rng, 0.0, IPO_WINDOW_DAYS);
        // The `as` cast saturates and the value is within 0..730.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ipo = lists_late
            .then(|| IPO_WINDOW_START.checked_add_days(Days::new(ipo_offset as u64)))
            .flatten();
        let start = if index {
            // Where SPY opened 2015.
            205f64.ln()
        } else {
            uniform(&mut rng, 5f64.ln(), 500f64.ln())
        };
        // Own volatility skewed toward calm names, as in a large-cap
        // index: daily 0.9%..2.9%, median about 1.1%; with the factors a
        // stock's total volatility is about 20-55% a year.
        let u = rng.random::<f64>();
        let own_vol = 0.008 + 0.020 * u * u * u;
        // Alpha: drift beyond what beta earns from the market.
        let alpha = (0.05 * normal_from_bits(rng.next_u64())).clamp(-0.12, 0.15);
        let reversion = 1.0 / uniform(&mut rng, 350.0, 900.0);
        // Cheaper shares trade in larger share counts.
        let ln_volume = uniform(&mut rng, 13.0, 16.5) - 0.5 * (start - 50f64.ln());
        let shares_per_trade = uniform(&mut rng, 60.0, 250.0);
        // Beta: log-normal around 1 (0.4..2.2), as cross-sections of
        // large-cap betas are.
        let beta = (0.28 * normal_from_bits(rng.next_u64()))
            .exp()
            .clamp(0.4, 2.2);
        let sector = usize::try_from(rng.next_u32()).unwrap_or(0) % SECTORS;
        let sector_loading = uniform(&mut rng, 0.5, 1.5);
        let detail_seed = rng.next_u64();
        let loadings = if index {
            Loadings {
                beta: 1.0,
                sector: None,
                sector_loading: 0.0,
                own_vol: 0.0,
            }
        } else {
            Loadings {
                beta,
                sector: Some(sector),
                sector_loading,
                own_vol,
            }
        };
        let day_sigma = ((loadings.beta * MARKET_DAILY_VOL).powi(2)
            + (loadings.sector_loading * SECTOR_DAILY_VOL).powi(2)
            + loadings.own_vol.powi(2))
        .sqrt();
        Self {
            rng,
            detail_seed,
            ipo,
            beta: loadings.beta,
            sector: loadings.sector.unwrap_or(0),
            sector_loading: loadings.sector_loading,
            own_vol: loadings.own_vol,
            loadings,
            index,
            day_sigma,
            open_spread: (OVERNIGHT_SHARE * (1.0 - OVERNIGHT_SHARE)).sqrt() * day_sigma,
            // The index is the market: nothing pulls it anywhere.
            reversion: if index { 0.0 } else { reversion },
            growth: if index { 0.0 } else { alpha / 252.0 },
            mean_volume: ln_volume.exp() * if index { 50.0 } else { 1.0 },
            trades_per_share: 1.0 / shares_per_trade,
            anchor_bounds: (ANCHOR_MIN.ln(), ANCHOR_MAX.ln()),
            x: start,
            anchor: start,
            recovery_left: 0,
            recovery_step: 0.0,
        }
    }

    /// The factor tables this walk reads, as plain slices: indexing a slice
    /// is a bounds check, a `Vec` of `Vec`s two trait calls, which a debug
    /// build (the tests' fake Alpaca) does not inline.
    fn factor_series<'f>(&self, f: &'f Factors) -> (&'f [f64], &'f [f64]) {
        (&f.market, &f.sectors[self.sector])
    }

    /// Advance one session, given the market's and the walk's sector's log
    /// return on it. The draws depend only on the stream and the factors,
    /// never on which dates are being emitted, so every range sees the
    /// same path.
    fn step(&mut self, market: f64, sector: f64) -> Step {
        // One 64-bit draw: 48 bits of noise, 16 bits of gap roll.
        let bits = self.rng.next_u64();
        let common = self.beta * market + self.sector_loading * sector;
        let own = self.own_vol * normal_from_bits(bits);

        // The deviation from the anchor mean-reverts; the common factors
        // move price and anchor together, so they are not pulled back.
        let pull = self.reversion * (self.anchor - self.x);
        let (lo, hi) = self.anchor_bounds;
        self.anchor = (self.anchor + self.growth + common).clamp(lo, hi);
        let mut shift = 0.0;
        if self.recovery_left > 0 {
            self.recovery_left -= 1;
            self.anchor += self.recovery_step;
            shift += self.recovery_step;
        }
        let gapped = !self.index && (bits >> 48) < GAP_THRESHOLD;
        if gapped {
            // -8%..-35%, most of them shallow; then 30-70% of it comes back
            // over 20-120 sessions (the anchor moves with the price, so the
            // rest of the loss is permanent).
            let depth = 0.08 + 0.27 * self.rng.random::<f64>().powf(1.5);
            let gap = (1.0 - depth).ln();
            let recovered = uniform(&mut self.rng, 0.3, 0.7);
            let sessions = 20 + (self.rng.next_u32() % 101);
            self.recovery_left = sessions;
            self.recovery_step = -gap * recovered / f64::from(sessions);
            self.anchor += gap;
            shift += gap;
        }
        let ln_prev = self.x;
        let ln_base = ln_prev + shift;
        let noise = common + own;
        let ln_close = ln_base + noise + pull;
        self.x = ln_close;
        Step {
            ln_prev,
            ln_base,
            noise,
            ln_close,
            gapped,
        }
    }

    /// The bar of session `index` (counted from the epoch): rounded to
    /// cents, `low <= open, close <= high`, `vwap` inside the range, volume
    /// and trade count at least one.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )] // saturating casts of positive, bounded values
    fn bar(&self, index: usize, date: NaiveDate, step: &Step) -> Bar {
        let counter = self.detail_seed.wrapping_add(2 * index as u64);
        let (h1, h2) = (splitmix64(counter), splitmix64(counter + 1));
        // The open splits the session's noise into overnight and intraday
        // parts: the overnight share given the total, plus its own spread,
        // so the daily return keeps the path's distribution.
        let ln_open =
            step.ln_base + OVERNIGHT_SHARE * step.noise + self.open_spread * normal_from_bits(h1);
        // Wicks: a fraction of the intraday sigma, mostly short (3u^2 has
        // mean 1 and tops out at 3).
        let wick = |u: f64| 0.35 * self.day_sigma * 3.0 * u * u;
        let up = wick(unit_from_bits(h2));
        let down = wick(unit_from_bits(h2 >> 16));
        let close_price = step.ln_close.exp();
        let open_price = close_price * exp_near_zero(ln_open - step.ln_close);
        let open = to_cents(open_price);
        let close = to_cents(close_price);
        // Dividing (not subtracting) keeps the low positive; the max/min
        // keep open and close inside the range after rounding.
        let high = to_cents(open_price.max(close_price) * (1.0 + up))
            .max(open)
            .max(close);
        let low = to_cents(open_price.min(close_price) / (1.0 + down))
            .min(open)
            .min(close);
        // A typical-price proxy; integer rounding of a value inside
        // [low, high] stays inside it.
        let vwap = (high + low + 2 * close + 2) / 4;
        // Volume: the symbol's mean times a triangular factor in 0.5..1.5,
        // busier on big moves, three times busier on gap days. Products
        // rather than an `exp`: this runs for every emitted bar.
        let noise = unit_from_bits(h2 >> 32) + unit_from_bits(h2 >> 48) - 1.0;
        let activity = (1.0 + 0.5 * noise) * (1.0 + 8.0 * (step.ln_close - step.ln_prev).abs());
        let surge = if step.gapped { 3.0 } else { 1.0 };
        let volume = ((self.mean_volume * activity * surge + 0.5) as u64).max(1);
        let trades = ((volume as f64 * self.trades_per_share + 0.5) as u64).max(1);
        Bar {
            date,
            open: dollars(open),
            high: dollars(high),
            low: dollars(low),
            close: dollars(close),
            volume,
            trade_count: Some(trades),
            vwap: Some(dollars(vwap)),
        }
    }
}

/// `exp(x)` for the `x` between a session's open and close in log space:
/// for the usual small values (|x| < 0.15; a gap moves open and close
/// together) by its Taylor series to the fifth power, relative error below
/// 2e-8 there, far under a cent, at a fraction of the cost of a libm call
/// in the per-bar path; libm's `exp` for the rare crash-day moves beyond.
fn exp_near_zero(x: f64) -> f64 {
    if x.abs() >= 0.15 {
        return x.exp();
    }
    1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0)))))
}

/// Dollars to whole cents, never below one cent. `+ 0.5` and a truncating
/// cast round half up for positive prices without a libm call (the cast
/// saturates, and prices are bounded far below `i64::MAX` cents anyway).
#[allow(clippy::cast_possible_truncation)]
fn to_cents(price: f64) -> i64 {
    ((price * 100.0 + 0.5) as i64).max(1)
}

/// Whole cents to dollars. Every price goes through here, so comparisons
/// between prices agree with the comparisons between their cents.
#[allow(clippy::cast_precision_loss)] // cents of real prices are far below 2^53
fn dollars(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Whole cents to an exact decimal amount.
fn cents(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// Sessions stepped ahead before their bars are built. The walk is a serial
/// chain but the bars are independent of each other; building them in a
/// separate loop lets the CPU overlap their arithmetic (about 20% faster
/// for a full history, measured).
const STEP_AHEAD: usize = 32;

/// The bars of `symbol` on `days[first..]`, where `days` are the sessions
/// from the epoch on. The walk still steps through `days[..first]`.
fn series(symbol: &Symbol, days: &[NaiveDate], first: usize, f: &Factors) -> Vec<Bar> {
    let mut walk = Walk::new(symbol);
    let listed = walk.ipo.map_or(0, |ipo| days.partition_point(|d| *d < ipo));
    let emit_from = first.max(listed).min(days.len());
    let (market, sector) = walk.factor_series(f);
    for t in 0..emit_from {
        walk.step(market[t], sector[t]);
    }
    let mut out = Vec::with_capacity(days.len() - emit_from);
    // A stack buffer, so stepping ahead allocates nothing.
    let mut steps = [Step::default(); STEP_AHEAD];
    for (c, chunk) in days[emit_from..].chunks(STEP_AHEAD).enumerate() {
        let first_index = emit_from + c * STEP_AHEAD;
        for (k, step) in steps[..chunk.len()].iter_mut().enumerate() {
            *step = walk.step(market[first_index + k], sector[first_index + k]);
        }
        for (k, (date, step)) in chunk.iter().zip(&steps).enumerate() {
            out.push(walk.bar(first_index + k, *date, step));
        }
    }
    out
}

/// The closing price in cents of `symbol` on each of `days` (sessions from
/// the epoch on), `None` before it lists.
fn closes(symbol: &Symbol, days: &[NaiveDate], f: &Factors) -> Vec<Option<i64>> {
    let mut walk = Walk::new(symbol);
    let ipo = walk.ipo;
    let (market, sector) = walk.factor_series(f);
    days.iter()
        .enumerate()
        .map(|(t, date)| {
            let step = walk.step(market[t], sector[t]);
            let listed = ipo.is_none_or(|ipo| *date >= ipo);
            listed.then(|| to_cents(step.ln_close.exp()))
        })
        .collect()
}

#[cfg(test)]
mod tests;

/// The simulated market screened as `collect` screens it: a whole
/// universe's drawdowns spread like a real market's. Inline rather than in
/// `tests.rs` because they run the screen engine, which `market` does not
/// otherwise depend on (the crate's import graph leaves unit tests out).
#[cfg(test)]
mod screened {
    use chrono::NaiveDate;

    use super::tests::universe;
    use super::{SimMarket, SymbolBars, calendar};
    use crate::domain::TradingDays;
    use crate::screen::{PeakBasis, ScreenParams, screen};
    use crate::test_support::d;

    /// Screen the whole universe on `date` the way `collect` does.
    fn screen_universe(date: NaiveDate) -> crate::screen::Screen {
        let u = universe();
        let out = SimMarket::new(u).bars_for_screen(date);
        let days = TradingDays::new(calendar::trading_days(d("2014-01-01"), date));
        let params = ScreenParams {
            lookback_days: 180,
            min_history: 30,
            peak_basis: PeakBasis::High,
        };
        screen(
            date,
            out.iter().map(|s| (&s.symbol, s.bars.as_slice())),
            &days,
            &params,
        )
    }

    impl SimMarket {
        /// A year of bars for the whole universe up to `date`.
        fn bars_for_screen(&self, date: NaiveDate) -> Vec<SymbolBars> {
            self.bars(&self.universe, date - chrono::Days::new(400), date)
        }
    }

    #[test]
    fn drawdown_screen_has_a_realistic_spread() {
        let s = screen_universe(d("2026-03-13"));
        let dd: Vec<f64> = s.rows.iter().map(|r| r.drawdown_pct).collect();
        let worst = dd[0];
        let median = dd[dd.len() / 2];
        assert!((-85.0..=-45.0).contains(&worst), "worst {worst}");
        assert!((-25.0..=-3.0).contains(&median), "median {median}");
        assert!(dd.iter().any(|x| *x > -2.0));
        assert!(
            s.skipped.iter().any(|k| matches!(
                k.reason,
                crate::domain::SkipReason::InsufficientHistory { .. }
            )),
            "{:?}",
            s.skipped
        );
    }

    /// Crashes and recoveries still happen: on a date in every year the
    /// screen has deep candidates and names near their highs.
    #[test]
    fn every_year_has_a_screen_with_candidates() {
        for date in [
            "2020-06-30",
            "2021-06-30",
            "2022-06-30",
            "2023-06-30",
            "2024-06-28",
            "2025-06-30",
            "2026-06-30",
            "2026-11-20",
        ] {
            let s = screen_universe(d(date));
            let dd: Vec<f64> = s.rows.iter().map(|r| r.drawdown_pct).collect();
            let median = dd[dd.len() / 2];
            let deep = dd.iter().filter(|x| **x <= -30.0).count();
            assert!(dd[0] <= -45.0, "{date}: worst {}", dd[0]);
            assert!((-40.0..=-3.0).contains(&median), "{date}: median {median}");
            assert!(deep >= 20, "{date}: {deep} names down 30%");
            assert!(dd.iter().any(|x| *x > -2.0), "{date}: none near a high");
        }
    }
}
