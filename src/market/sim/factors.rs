//! The simulated market's common factors: the market's daily log return
//! and each sector's, per session from the epoch. Every stock's return is
//! `beta x market + loading x sector + its own noise` (see the parent
//! module), so the factors are what make simulated stocks move together,
//! and simulated SPY *is* the market factor.
//!
//! Each factor is a serial walk of its own PCG64 stream with a fixed seed,
//! so session `t`'s value is the same whatever length was generated: a
//! longer table extends a shorter one, never changes it. The tables are
//! built once per process (a few milliseconds) and shared.
//!
//! The market has stochastic volatility (an AR(1) in log volatility, so
//! calm and turbulent stretches cluster as they do in real indices) and
//! rare crashes: a fall of 12-38% over a few weeks at doubled volatility,
//! then a recovery of most of it over months. Sectors have their own,
//! smaller busts. The mix gives a market volatility of about 16% a year
//! over long spans (12-25% over any year but a crash year).

use std::sync::{Arc, Mutex};

use rand::{Rng, RngCore, SeedableRng};
use rand_pcg::Pcg64;

use super::normal_from_bits;

/// Sectors stocks are spread over (as the GICS has 11).
pub const SECTORS: usize = 11;

/// The market's drift, per session, in log terms (about 7.5% a year
/// before crashes take their share).
const MARKET_DRIFT: f64 = 0.075 / 252.0;
/// Long-run daily volatility of the market in calm and normal times.
const MARKET_VOL: f64 = 0.0090;
/// Persistence of the market's log volatility from one session to the next.
const VOL_PERSISTENCE: f64 = 0.985;
/// Daily shock to the market's log volatility.
const VOL_OF_VOL: f64 = 0.06;
/// Chance per session of a market crash starting (when none is under way).
const MARKET_CRASH_CHANCE: f64 = 1.0 / 750.0;
/// Volatility multiplier while a crash is under way.
const CRASH_VOL: f64 = 2.0;

/// Chance per session of a sector bust starting (when none is under way).
const SECTOR_BUST_CHANCE: f64 = 1.0 / 1_500.0;

/// Seed of the market's stream; a sector's is this plus its number plus 1.
const FACTOR_SEED: u64 = 0x0d1f_3a7c_5e11_2015;

/// Sessions generated at least (the epoch to beyond 2040), so ordinary
/// requests never regenerate.
const MIN_SESSIONS: usize = 6_600;

/// The factor tables: `market[t]` and `sectors[k][t]` are log returns of
/// session `t` counted from the epoch.
#[derive(Debug)]
pub struct Factors {
    /// The market's daily log return.
    pub market: Vec<f64>,
    /// Each sector's daily log return, independent of the market.
    pub sectors: Vec<Vec<f64>>,
}

/// A fall and its partial recovery, spread evenly over sessions: the state
/// of an episode a factor is going through.
#[derive(Debug, Clone, Copy, Default)]
struct Episode {
    /// Sessions of the fall left, and the log drift per session.
    falling: u32,
    fall_step: f64,
    /// Sessions of the recovery left (after the fall), and its drift.
    recovering: u32,
    recovery_step: f64,
}

impl Episode {
    /// Draw a new episode: a fall of `depth` (fraction) over `fall`
    /// sessions, `recovered` of its log size back over `recovery` sessions.
    fn new(depth: f64, fall: u32, recovered: f64, recovery: u32) -> Self {
        let ln_loss = -(1.0 - depth).ln();
        Self {
            falling: fall,
            fall_step: -ln_loss / f64::from(fall),
            recovering: recovery,
            recovery_step: ln_loss * recovered / f64::from(recovery),
        }
    }

    fn active(&self) -> bool {
        self.falling > 0 || self.recovering > 0
    }

    /// This session's drift from the episode, and whether it is falling.
    fn step(&mut self) -> (f64, bool) {
        if self.falling > 0 {
            self.falling -= 1;
            (self.fall_step, true)
        } else if self.recovering > 0 {
            self.recovering -= 1;
            (self.recovery_step, false)
        } else {
            (0.0, false)
        }
    }
}

/// A uniform draw in `lo..hi`.
fn uniform(rng: &mut Pcg64, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// A draw in `lo..=hi` sessions.
fn sessions(rng: &mut Pcg64, lo: u32, hi: u32) -> u32 {
    lo + rng.next_u32() % (hi - lo + 1)
}

/// Top 16 bits of a draw under `chance * 65536`: a roll that costs no
/// second draw.
fn rolls(bits: u64, chance: f64) -> bool {
    #[allow(clippy::cast_precision_loss)] // 16 bits
    let roll = (bits >> 48) as f64;
    roll < chance * 65_536.0
}

/// The market's log returns for `n` sessions.
fn market(n: usize) -> Vec<f64> {
    let mut rng = Pcg64::seed_from_u64(FACTOR_SEED);
    let mut ln_vol_dev = 0.0_f64;
    let mut crash = Episode::default();
    (0..n)
        .map(|_| {
            let bits = rng.next_u64();
            let vol_bits = rng.next_u64();
            // Stationary log volatility around MARKET_VOL; the mean of
            // exp(dev) is above 1, so the long-run volatility is ~10% more.
            ln_vol_dev = VOL_PERSISTENCE * ln_vol_dev + VOL_OF_VOL * normal_from_bits(vol_bits);
            if !crash.active() && rolls(bits, MARKET_CRASH_CHANCE) {
                // Mostly shallow: 12%..38%, most near the low end.
                let u = rng.random::<f64>();
                let depth = 0.12 + 0.26 * u * u;
                let fall = sessions(&mut rng, 8, 35);
                let back = uniform(&mut rng, 0.6, 1.05);
                let recovery = sessions(&mut rng, 80, 260);
                crash = Episode::new(depth, fall, back, recovery);
            }
            let (drift, falling) = crash.step();
            let vol = MARKET_VOL * ln_vol_dev.exp() * if falling { CRASH_VOL } else { 1.0 };
            MARKET_DRIFT + drift + vol * normal_from_bits(bits)
        })
        .collect()
}

/// Sector `k`'s log returns for `n` sessions: its own volatility, no drift
/// (the market carries it), and occasional busts.
fn sector(k: usize, n: usize) -> Vec<f64> {
    let mut rng = Pcg64::seed_from_u64(FACTOR_SEED.wrapping_add(k as u64 + 1));
    let vol = uniform(&mut rng, 0.005, 0.009);
    let mut bust = Episode::default();
    (0..n)
        .map(|_| {
            let bits = rng.next_u64();
            if !bust.active() && rolls(bits, SECTOR_BUST_CHANCE) {
                let depth = uniform(&mut rng, 0.10, 0.35);
                let fall = sessions(&mut rng, 15, 60);
                let back = uniform(&mut rng, 0.3, 0.9);
                let recovery = sessions(&mut rng, 80, 250);
                bust = Episode::new(depth, fall, back, recovery);
            }
            let (drift, falling) = bust.step();
            drift + vol * if falling { 1.5 } else { 1.0 } * normal_from_bits(bits)
        })
        .collect()
}

impl Factors {
    fn generate(n: usize) -> Self {
        Self {
            market: market(n),
            sectors: (0..SECTORS).map(|k| sector(k, n)).collect(),
        }
    }

    /// Sessions the tables cover.
    pub fn len(&self) -> usize {
        self.market.len()
    }
}

/// The factor tables covering at least `n` sessions from the epoch: the
/// process's shared copy, regenerated longer (same prefix) when a request
/// reaches past it.
pub fn factors(n: usize) -> Arc<Factors> {
    static CACHE: Mutex<Option<Arc<Factors>>> = Mutex::new(None);
    // A poisoned lock only means another thread panicked while generating:
    // the value inside is either the old complete table or None.
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(f) = cache.as_ref().filter(|f| f.len() >= n) {
        return Arc::clone(f);
    }
    let f = Arc::new(Factors::generate(n.max(MIN_SESSIONS)));
    *cache = Some(Arc::clone(&f));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_longer_table_extends_a_shorter_one() {
        let short = Factors::generate(500);
        let long = Factors::generate(2_000);
        assert_eq!(short.market[..], long.market[..500]);
        for k in 0..SECTORS {
            assert_eq!(short.sectors[k][..], long.sectors[k][..500]);
        }
        assert!(factors(10).len() >= MIN_SESSIONS);
        assert_eq!(factors(10).market[..500], short.market[..]);
    }

    #[test]
    fn the_market_has_a_realistic_volatility_and_crashes() {
        let f = Factors::generate(MIN_SESSIONS);
        let m = &f.market;
        let mean = m.iter().sum::<f64>() / m.len() as f64;
        let var = m.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m.len() - 1) as f64;
        let annual = (var * 252.0).sqrt();
        assert!(
            (0.13..=0.22).contains(&annual),
            "market volatility {annual}"
        );
        // A crash somewhere in 26 years: a fall of 15% or more from a peak.
        let mut level: f64 = 0.0;
        let mut peak: f64 = 0.0;
        let mut worst: f64 = 0.0;
        for r in m {
            level += r;
            peak = peak.max(level);
            worst = worst.min(level - peak);
        }
        assert!(worst < (0.85f64).ln(), "deepest fall {}", worst.exp() - 1.0);
    }
}
