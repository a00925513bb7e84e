//! What a front end asks of [`super::Backtests`]: the period and the
//! options, typed. Every front end parses into the same [`Request`] at its
//! edge: the command line (`dipwatch backtest --top 10`, clap with these
//! value parsers), the bot (`/backtest top 10 entry -30`, through
//! [`Request::parse`]) and anything reading `name=value` pairs
//! ([`Request::set`]). Each option overrides its `[backtest]` setting;
//! [`Request::settings`] gives the settings and checks them with the
//! configuration's own rules, so a value the config file refuses is
//! refused here with the same message. Pure.

use chrono::NaiveDate;

use crate::config::BacktestSettings;
use crate::strategy::{Fill, Rebalance, Sizing};

/// The options, as typed after `--` on the command line (and bare in the
/// bot), in the order the usage lists them.
pub const OPTIONS: &[&str] = &[
    "from",
    "to",
    "top",
    "entry",
    "take-profit",
    "stop-loss",
    "max-hold",
    "rebalance",
    "sizing",
    "fill",
    "portfolio-rule",
    "commission",
    "slippage-bps",
    "capital",
    "benchmark",
];

/// One backtest asked for: the period, and what it changes from
/// `[backtest]`. `None` keeps the setting (or, for the dates, the default
/// period).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// First session simulated.
    pub from: Option<NaiveDate>,
    /// Last session simulated.
    pub to: Option<NaiveDate>,
    /// Positions held at most.
    pub top: Option<usize>,
    /// Entry threshold, percent.
    pub entry: Option<f64>,
    /// Take-profit, percent (0 = off).
    pub take_profit: Option<f64>,
    /// Stop-loss, percent (0 = off).
    pub stop_loss: Option<f64>,
    /// Sessions held at most (0 = off).
    pub max_hold: Option<u32>,
    /// Decision sessions.
    pub rebalance: Option<Rebalance>,
    /// Position sizing.
    pub sizing: Option<Sizing>,
    /// Fill price.
    pub fill: Option<Fill>,
    /// The portfolio rule on or off.
    pub portfolio_rule: Option<bool>,
    /// Commission per fill.
    pub commission: Option<f64>,
    /// Slippage, basis points.
    pub slippage_bps: Option<f64>,
    /// Starting capital.
    pub capital: Option<f64>,
    /// Benchmark ticker, or `universe`.
    pub benchmark: Option<String>,
}

/// `YYYY-MM-DD`.
pub fn date(s: &str) -> Result<NaiveDate, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not a date in YYYY-MM-DD form"))
}

/// A whole number of at least 0.
pub fn whole(s: &str) -> Result<usize, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not a whole number"))
}

/// Sessions (a whole number that fits in 32 bits).
pub fn sessions(s: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not a whole number of sessions"))
}

/// A number (percent, money, basis points); a `%` suffix is allowed.
pub fn number(s: &str) -> Result<f64, String> {
    s.strip_suffix('%')
        .unwrap_or(s)
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{s:?} is not a number"))
}

/// `daily`, `weekly` or `monthly`.
pub fn rebalance(s: &str) -> Result<Rebalance, String> {
    one_of(
        s,
        &[
            ("daily", Rebalance::Daily),
            ("weekly", Rebalance::Weekly),
            ("monthly", Rebalance::Monthly),
        ],
    )
}

/// `equal` or `inverse-vol` (`inverse_vol` too).
pub fn sizing(s: &str) -> Result<Sizing, String> {
    one_of(
        s,
        &[
            ("equal", Sizing::Equal),
            ("inverse-vol", Sizing::InverseVol),
        ],
    )
}

/// `next-open` (`next_open` too) or `close`.
pub fn fill(s: &str) -> Result<Fill, String> {
    one_of(s, &[("next-open", Fill::NextOpen), ("close", Fill::Close)])
}

/// `on`/`off`, `true`/`false`, `yes`/`no`.
pub fn switch(s: &str) -> Result<bool, String> {
    one_of(
        s,
        &[
            ("true", true),
            ("false", false),
            ("on", true),
            ("off", false),
            ("yes", true),
            ("no", false),
        ],
    )
}

/// A ticker or `universe` (checked with the settings).
pub fn benchmark(s: &str) -> Result<String, String> {
    Ok(s.to_string())
}

/// Match `s` (any case, `_` read as `-`) against `choices`.
fn one_of<T: Copy>(s: &str, choices: &[(&str, T)]) -> Result<T, String> {
    let wanted = s.to_ascii_lowercase().replace('_', "-");
    choices
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            format!("{s:?} is not one of {}", names.join(", "))
        })
}

impl Request {
    /// Set the option `name` (without dashes in front; `_` read as `-`)
    /// from its text.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let key = name.to_ascii_lowercase().replace('_', "-");
        let named = |r: Result<(), String>| r.map_err(|e| format!("{key}: {e}"));
        named(match key.as_str() {
            "from" => date(value).map(|v| self.from = Some(v)),
            "to" => date(value).map(|v| self.to = Some(v)),
            "top" => whole(value).map(|v| self.top = Some(v)),
            "entry" => number(value).map(|v| self.entry = Some(v)),
            "take-profit" => number(value).map(|v| self.take_profit = Some(v)),
            "stop-loss" => number(value).map(|v| self.stop_loss = Some(v)),
            "max-hold" => sessions(value).map(|v| self.max_hold = Some(v)),
            "rebalance" => rebalance(value).map(|v| self.rebalance = Some(v)),
            "sizing" => sizing(value).map(|v| self.sizing = Some(v)),
            "fill" => fill(value).map(|v| self.fill = Some(v)),
            "portfolio-rule" => switch(value).map(|v| self.portfolio_rule = Some(v)),
            "commission" => number(value).map(|v| self.commission = Some(v)),
            "slippage-bps" => number(value).map(|v| self.slippage_bps = Some(v)),
            "capital" => number(value).map(|v| self.capital = Some(v)),
            "benchmark" => benchmark(value).map(|v| self.benchmark = Some(v)),
            _ => {
                return Err(format!(
                    "{name:?} is not an option: one of {}",
                    OPTIONS.join(", ")
                ));
            }
        })
    }

    /// Read `key value` pairs: `top 10`, `--top 10`, `top=10` or
    /// `--top=10`, in any order; an option given twice is an error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut out = Self::default();
        let mut seen: Vec<String> = Vec::new();
        let mut words = text.split_whitespace();
        while let Some(word) = words.next() {
            let bare = word.trim_start_matches('-');
            let (name, value) = match bare.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => {
                    let value = words
                        .next()
                        .ok_or_else(|| format!("{bare}: a value is missing"))?;
                    (bare.to_string(), value.to_string())
                }
            };
            if name.is_empty() {
                return Err(format!("{word:?}: an option name is missing"));
            }
            let key = name.to_ascii_lowercase().replace('_', "-");
            if seen.contains(&key) {
                return Err(format!("{key}: given twice"));
            }
            out.set(&name, &value)?;
            seen.push(key);
        }
        Ok(out)
    }

    /// `base` with this request's options, checked by the configuration's
    /// rules (the message names the setting, e.g. `backtest.entry_pct`).
    pub fn settings(&self, base: &BacktestSettings) -> Result<BacktestSettings, String> {
        let mut s = base.clone();
        if let Some(v) = self.top {
            s.max_positions = v;
        }
        if let Some(v) = self.entry {
            s.entry_pct = v;
        }
        if let Some(v) = self.take_profit {
            s.take_profit_pct = v;
        }
        if let Some(v) = self.stop_loss {
            s.stop_loss_pct = v;
        }
        if let Some(v) = self.max_hold {
            s.max_hold = v;
        }
        if let Some(v) = self.rebalance {
            s.rebalance = v;
        }
        if let Some(v) = self.sizing {
            s.sizing = v;
        }
        if let Some(v) = self.fill {
            s.fill = v;
        }
        if let Some(v) = self.portfolio_rule {
            s.portfolio_rule = v;
        }
        if let Some(v) = self.commission {
            s.commission = v;
        }
        if let Some(v) = self.slippage_bps {
            s.slippage_bps = v;
        }
        if let Some(v) = self.capital {
            s.initial_capital = v;
        }
        if let Some(v) = &self.benchmark {
            s.benchmark = v.clone();
        }
        if let (Some(f), Some(t)) = (self.from, self.to)
            && f > t
        {
            return Err(format!("from {f} is after to {t}"));
        }
        s.check().map_err(|e| e.to_string())?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_an_option_reads_the_same() {
        let want = Request {
            top: Some(10),
            entry: Some(-30.0),
            fill: Some(Fill::Close),
            sizing: Some(Sizing::InverseVol),
            from: NaiveDate::from_ymd_opt(2026, 1, 5),
            portfolio_rule: Some(false),
            ..Request::default()
        };
        for text in [
            "top 10 entry -30 fill close sizing inverse-vol from 2026-01-05 portfolio-rule off",
            "--top 10 --entry -30% --fill=close --sizing inverse_vol --from=2026-01-05 --portfolio_rule no",
            "TOP=10 Entry=-30 FILL Close sizing=INVERSE-VOL from 2026-01-05 portfolio-rule=false",
        ] {
            assert_eq!(Request::parse(text), Ok(want.clone()), "{text}");
        }
        assert_eq!(Request::parse("   "), Ok(Request::default()));
    }

    #[test]
    fn bad_options_say_which_and_why() {
        let err = |t: &str| Request::parse(t).unwrap_err();
        assert_eq!(err("top ten"), "top: \"ten\" is not a whole number");
        assert_eq!(
            err("rebalance yearly"),
            "rebalance: \"yearly\" is not one of daily, weekly, monthly"
        );
        assert!(err("frobnicate 3").starts_with("\"frobnicate\" is not an option: one of from,"));
        assert_eq!(err("top"), "top: a value is missing");
        assert_eq!(err("top 5 top 6"), "top: given twice");
        assert_eq!(
            err("from 2026-13-01"),
            "from: \"2026-13-01\" is not a date in YYYY-MM-DD form"
        );
        assert_eq!(err("entry nan"), "entry: \"nan\" is not a number");
    }

    #[test]
    fn applied_settings_are_checked_by_the_configs_rules() {
        let base = crate::config::AppConfig::load_with_env(None, Default::default())
            .unwrap()
            .backtest;
        let s = Request::parse("top 7 entry -25 take-profit 0")
            .unwrap()
            .settings(&base)
            .unwrap();
        assert_eq!(
            (s.max_positions, s.entry_pct, s.take_profit_pct),
            (7, -25.0, 0.0)
        );
        assert_eq!(s.benchmark, base.benchmark, "the rest is kept");
        let refused = |t: &str| Request::parse(t).unwrap().settings(&base).unwrap_err();
        assert!(
            refused("top 0").contains("backtest.max_positions"),
            "{}",
            refused("top 0")
        );
        assert!(refused("entry 10").contains("backtest.entry_pct"));
        assert!(refused("benchmark A&B").contains("backtest.benchmark"));
        assert_eq!(
            refused("from 2026-02-01 to 2026-01-01"),
            "from 2026-02-01 is after to 2026-01-01"
        );
    }
}
