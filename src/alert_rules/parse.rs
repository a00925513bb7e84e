//! The `/alert` argument parser: words in, a [`RuleKind`] out, or a usage
//! line that names what was wrong (the argument echoed clipped, never
//! debug-escaped). The bounds it checks are those of [`super::rules`].

use chrono::NaiveTime;

use super::rules::{MAX_BREADTH_COUNT, MAX_TOP_N, RiskMeasure, RuleKind, is_level};
use crate::domain::Symbol;
use crate::echo::quoted;

/// Why `/alert` arguments were refused: the usage line names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The usage text of `/alert`.
pub const ALERT_USAGE: &str = "usage: /alert TICKER below -30 | /alert top 10 | /alert market below -20 count 50 | /alert profit | /alert risk weight 25 | /alert digest 07:30";

/// How a risk alert reads.
const RISK_FORM: &str = "risk alerts read: risk weight 25 (largest position, % of equity), \
                         risk hhi 0.2 (Herfindahl index) or risk cluster 50 (largest cluster, % of equity)";

fn usage(what: &str) -> UsageError {
    UsageError(format!("{what}\n{ALERT_USAGE}"))
}

/// A drawdown level as typed (`-30`, `-12.5%`), held to [`is_level`].
fn level(raw: &str) -> Result<f64, UsageError> {
    let v: f64 = raw
        .trim_end_matches('%')
        .parse()
        .map_err(|_| usage(&format!("{} is not a percentage like -30", quoted(raw))))?;
    if !is_level(v) {
        return Err(usage(&format!(
            "the level {} must be a drawdown above -100 and below 0, with at most 2 decimals (like -30 or -12.5)",
            quoted(raw)
        )));
    }
    Ok(v)
}

/// `risk MEASURE LEVEL` after the word `risk`.
fn risk(measure: &str, raw: &str) -> Result<RuleKind, UsageError> {
    let measure = match measure {
        "weight" => RiskMeasure::Weight,
        "hhi" | "herfindahl" => RiskMeasure::Hhi,
        "cluster" => RiskMeasure::Cluster,
        _ => return Err(usage(RISK_FORM)),
    };
    let v: f64 = raw
        .trim_end_matches('%')
        .parse()
        .map_err(|_| usage(&format!("{} is not a number. {RISK_FORM}", quoted(raw))))?;
    if !measure.is_level(v) {
        let bounds = match measure {
            RiskMeasure::Hhi => "above 0 and at most 1, with at most 3 decimals (like 0.2)",
            _ => "a percentage above 0 and at most 100, with at most 2 decimals (like 25)",
        };
        return Err(usage(&format!(
            "the {} level {} must be {bounds}",
            measure.word(),
            quoted(raw)
        )));
    }
    Ok(RuleKind::Risk { measure, level: v })
}

/// Parse `/alert` arguments into a rule kind.
pub fn parse_alert(args: &str) -> Result<RuleKind, UsageError> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    let lw: Vec<&str> = lower.iter().map(String::as_str).collect();
    match lw.as_slice() {
        [] => Err(usage("what should I watch?")),
        ["profit"] => Ok(RuleKind::Profit),
        ["top", n] => {
            let n: usize = n
                .parse()
                .map_err(|_| usage(&format!("{} is not a count like 10", quoted(words[1]))))?;
            if !(1..=MAX_TOP_N).contains(&n) {
                return Err(usage(&format!("top N takes N from 1 to {MAX_TOP_N}")));
            }
            Ok(RuleKind::Top { n })
        }
        ["market", "below", l, "count", c] => {
            let count: usize = c
                .parse()
                .map_err(|_| usage(&format!("{} is not a count like 50", quoted(words[4]))))?;
            if !(1..=MAX_BREADTH_COUNT).contains(&count) {
                return Err(usage(&format!(
                    "the count must be from 1 to {MAX_BREADTH_COUNT}"
                )));
            }
            Ok(RuleKind::Breadth {
                level: level(l)?,
                count,
            })
        }
        ["market", ..] => Err(usage("market alerts read: market below -20 count 50")),
        ["risk", m, l] => risk(m, l),
        ["risk", ..] => Err(usage(RISK_FORM)),
        ["digest", t] => {
            let at = NaiveTime::parse_from_str(t, "%H:%M")
                .map_err(|_| usage(&format!("{} is not a time like 07:30", quoted(words[1]))))?;
            Ok(RuleKind::Digest { at })
        }
        [_, "below", l] => {
            let symbol = Symbol::parse(words[0]).map_err(|_| {
                usage(&format!(
                    "{} is not a ticker (letters, digits, '.' and '-', up to {} characters)",
                    quoted(words[0]),
                    Symbol::MAX_LEN
                ))
            })?;
            Ok(RuleKind::SymbolBelow {
                symbol,
                level: level(l)?,
            })
        }
        _ => Err(usage("I did not understand that alert")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_arguments_get_a_usage_line_naming_the_problem() {
        for (args, needle) in [
            ("", "what should I watch"),
            ("AAPL below thirty", "not a percentage"),
            ("AAPL below 30", "above -100 and below 0"),
            ("AAPL below -100", "above -100 and below 0"),
            ("AAPL below -1e-320", "at most 2 decimals"),
            ("AAPL below nan", "above -100"),
            ("AAPL below -inf", "above -100"),
            ("AAPL below 0", "below 0"),
            (
                "market below -20 count 18446744073709551615",
                "from 1 to 10000",
            ),
            ("market below -20 count 10001", "from 1 to 10000"),
            ("market below -100 count 5", "above -100"),
            ("top 99999999999999999999999", "not a count"),
            ("top zero", "not a count"),
            ("top 500", "from 1 to 50"),
            ("market below -20", "market below -20 count 50"),
            ("digest 7:30pm", "not a time"),
            ("risk", "risk alerts read"),
            ("risk weight", "risk alerts read"),
            ("risk beta 2", "risk alerts read"),
            ("risk weight 25 50", "risk alerts read"),
            ("risk weight lots", "not a number"),
            ("risk weight 0", "above 0 and at most 100"),
            ("risk weight 101", "above 0 and at most 100"),
            ("risk cluster -5", "above 0 and at most 100"),
            ("risk cluster 33.333", "at most 2 decimals"),
            ("risk hhi 1.5", "above 0 and at most 1"),
            ("risk hhi 0.1234", "at most 3 decimals"),
            ("risk hhi nan", "above 0"),
            ("risk weight inf", "above 0"),
            ("<b> below -30", "ticker"),
            ("whatever", "did not understand"),
        ] {
            let e = parse_alert(args).unwrap_err().0;
            assert!(e.contains(needle), "{args}: {e}");
            assert!(e.ends_with(ALERT_USAGE));
        }
        let long = format!("{} below -30", "\u{200b}".repeat(4080));
        let e = parse_alert(&long).unwrap_err().0;
        assert!(e.len() < 300 && !e.contains("\\u"), "{e}");
        assert_eq!(
            parse_alert("market below -12.25 count 10000").unwrap(),
            RuleKind::Breadth {
                level: -12.25,
                count: 10_000
            }
        );
        for (args, measure, level) in [
            ("risk weight 25", RiskMeasure::Weight, 25.0),
            ("RISK Weight 12.5%", RiskMeasure::Weight, 12.5),
            ("risk hhi 0.2", RiskMeasure::Hhi, 0.2),
            ("risk herfindahl 1", RiskMeasure::Hhi, 1.0),
            ("risk cluster 50", RiskMeasure::Cluster, 50.0),
        ] {
            assert_eq!(
                parse_alert(args).unwrap(),
                RuleKind::Risk { measure, level },
                "{args}"
            );
        }
        assert_eq!(
            parse_alert("risk cluster 50").unwrap().to_string(),
            "risk: largest cluster's weight reaches 50%"
        );
        assert_eq!(
            parse_alert("risk hhi 0.25").unwrap().to_string(),
            "risk: Herfindahl index reaches 0.25"
        );
        assert_eq!(
            parse_alert("bf.b below -25%").unwrap(),
            RuleKind::SymbolBelow {
                symbol: Symbol::parse("BF.B").unwrap(),
                level: -25.0
            }
        );
    }
}
