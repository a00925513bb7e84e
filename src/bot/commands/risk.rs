//! `/risk`: the portfolio risk view in one message, from the analysis the
//! daemon computed when it last loaded the store (see [`crate::risk`]),
//! then the correlation heatmap as a photo.

use std::fmt::Write as _;

use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup};

use super::{Answer, Call, Reply, Spec};
use crate::bot::charts::send_figure;
use crate::bot::error::BotError;
use crate::bot::format::{no_portfolio, sim_marker};
use crate::bot::html::{Align, Table, escape};
use crate::bot::send::TgBot;
use crate::bot::trading::is_admin;
use crate::bot::trading::press::TradePress;
use crate::chart::{self, Figure};
use crate::domain::Symbol;
use crate::numbers::{price, signed_pct};
use crate::risk::RiskReport;
use crate::state::Snapshot;

/// `/risk`.
pub(crate) const SPEC: Spec = Spec::new(
    "risk",
    "",
    "Portfolio risk: concentration, effective bets, exits, candidates",
    Answer::Act(|call| Box::pin(act(call))),
);

/// The summary (with Buy and Sell buttons for an admin while trading is
/// on), then its picture.
async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let snap = call.request.snap;
    let trades = call.shared.ctx.trading.is_some() && is_admin(call.shared, call.chat);
    let keyboard = snap
        .risk
        .as_deref()
        .filter(|_| trades)
        .and_then(trade_keyboard);
    let mut text = risk(snap);
    if keyboard.is_some() {
        text = text.replace(SUGGESTIONS_ONLY, TAP_TO_TRADE);
    }
    call.reply(&Reply { text, keyboard }).await?;
    risk_heatmap(call.bot, call.chat, snap).await
}

/// The last line of the view.
const SUGGESTIONS_ONLY: &str = "<i>Suggestions only: nothing here places an order.</i>";
/// The last line when the view has trading buttons.
const TAP_TO_TRADE: &str = "<i>Suggestions only: Buy and Sell open a preview; nothing is sent \
                            until you tap Confirm.</i>";

/// Buy buttons under the candidates shown that have a size, Sell buttons
/// under the exits (the whole position), three to a row; `None` when
/// there is nothing to act on.
pub(crate) fn trade_keyboard(r: &RiskReport) -> Option<InlineKeyboardMarkup> {
    let buys = r
        .suggestions
        .iter()
        .take(CANDIDATES_SHOWN)
        .filter(|s| s.reason.is_none() && s.shares.is_some_and(|n| n > 0))
        .filter_map(|s| TradePress::Buy(s.symbol.clone()).button(format!("🛒 Buy {}", s.symbol)));
    let sells = r.exits.iter().filter_map(|e| {
        let symbol = Symbol::parse(e.symbol.as_str()).ok()?;
        TradePress::Sell(symbol).button(format!("💰 Sell {}", e.symbol.as_str()))
    });
    let buttons: Vec<InlineKeyboardButton> = buys.chain(sells).collect();
    if buttons.is_empty() {
        return None;
    }
    Some(InlineKeyboardMarkup::new(
        buttons.chunks(3).map(<[InlineKeyboardButton]>::to_vec),
    ))
}

/// Candidates listed.
const CANDIDATES_SHOWN: usize = 5;
/// Correlated pairs named.
const PAIRS_SHOWN: usize = 3;

/// A share of equity (or a volatility), one decimal, unsigned: `27.3%`.
fn share(x: f64) -> String {
    format!("{x:.1}%")
}

/// `/risk`: concentration, volatility, the effective bets and the
/// correlation clusters, the most
/// correlated pairs, exits and the top candidates sized against the
/// portfolio. Suggestions only.
pub(crate) fn risk(snap: &Snapshot) -> String {
    let Some(r) = &snap.risk else {
        if snap.portfolio.is_none() {
            return no_portfolio();
        }
        return "The risk view could not be computed when the store was last loaded \
                (the daemon's log says why)."
            .into();
    };
    report(r)
}

/// The reply for one report.
pub(crate) fn report(r: &RiskReport) -> String {
    let mut out = String::from(sim_marker(r.simulated));
    let _ = writeln!(
        out,
        "<b>Risk</b> · snapshot {} · {} position{}",
        r.date,
        r.weights.len(),
        if r.weights.len() == 1 { "" } else { "s" }
    );
    if r.is_empty() {
        out.push_str("No open positions.\n");
    } else {
        positions(&mut out, r);
    }
    exits(&mut out, r);
    candidates(&mut out, r);
    for n in r.notes.iter().filter(|n| !n.starts_with("SIMULATED")) {
        let _ = writeln!(out, "<i>{}</i>", escape(n));
    }
    out.push_str(SUGGESTIONS_ONLY);
    out
}

fn positions(out: &mut String, r: &RiskReport) {
    let c = &r.concentration;
    if let Some(largest) = &c.largest {
        let _ = writeln!(
            out,
            "Largest <b>{}</b> {} · Herfindahl {:.3} of the weights (% of equity; \
             {} invested, like {:.1} equal positions)",
            escape(largest.as_str()),
            share(c.largest_weight_pct),
            c.herfindahl,
            share(c.invested_pct),
            c.effective_positions
        );
    }
    if let Some(p) = &r.portfolio {
        let _ = write!(out, "Volatility {} a year", share(p.volatility_pct));
        if let Some(b) = p.beta {
            let _ = write!(out, " · beta {b:.2} to {}", escape(&r.benchmark));
        }
        out.push('\n');
    }
    let measured = r.correlation.symbols.len();
    if measured > 0 {
        if let Some(bets) = r.effective_bets {
            let _ = writeln!(
                out,
                "<b>Effective bets {bets:.1}</b> of {measured} measured (Meucci, over {} sessions)",
                r.lookback
            );
        }
        let _ = writeln!(
            out,
            "Correlation clusters: {} (average correlation {:.2}+)",
            r.clusters.len(),
            r.cluster_correlation
        );
        for cl in r.clusters.iter().filter(|c| c.symbols.len() > 1) {
            let names: Vec<&str> = cl.symbols.iter().map(|s| s.as_str()).collect();
            let _ = writeln!(
                out,
                "• {} — {} of equity",
                escape(&names.join(", ")),
                share(cl.weight_pct)
            );
        }
        let pairs: Vec<String> = r
            .pairs
            .iter()
            .take(PAIRS_SHOWN)
            .map(|p| format!("{}–{} {:.2}", p.a, p.b, p.correlation))
            .collect();
        if !pairs.is_empty() {
            let _ = writeln!(out, "Most correlated: {}", escape(&pairs.join(", ")));
        }
    }
    if !r.excluded.is_empty() {
        let names: Vec<&str> = r.excluded.iter().map(|x| x.symbol.as_str()).collect();
        let _ = writeln!(
            out,
            "Not measured ({}): {} — <code>dipwatch portfolio</code> says why",
            names.len(),
            escape(&names.join(", "))
        );
    }
}

fn exits(out: &mut String, r: &RiskReport) {
    if r.exits.is_empty() {
        if !r.is_empty() {
            out.push_str("<b>Exits</b>: no rule sells a position today.\n");
        }
        return;
    }
    let list: Vec<String> = r
        .exits
        .iter()
        .map(|e| {
            let why: Vec<&str> = e.reasons.iter().map(|x| x.label()).collect();
            format!(
                "{} {} ({})",
                e.symbol,
                signed_pct(e.return_pct),
                why.join(", ")
            )
        })
        .collect();
    let _ = writeln!(out, "<b>Exits</b>: {}", escape(&list.join("; ")));
}

fn candidates(out: &mut String, r: &RiskReport) {
    if r.suggestions.is_empty() {
        return;
    }
    out.push_str("<b>Candidates</b> (sized by 60-session volatility, capped by cash)\n");
    let mut t = Table::new(&[
        ("symbol", Align::Left),
        ("drop", Align::Right),
        ("vol", Align::Right),
        ("size", Align::Right),
        ("note", Align::Left),
    ]);
    for s in r.suggestions.iter().take(CANDIDATES_SHOWN) {
        let note = match (&s.reason, &s.closest) {
            (Some(_), _) => "not measured".to_string(),
            (None, Some(c)) if s.duplicates => format!("≈ {} ({:.2})", c.b, c.correlation),
            _ if s.capped_by_cash => "cash".into(),
            _ => String::new(),
        };
        t.row(vec![
            s.symbol.to_string(),
            signed_pct(s.drawdown_pct),
            s.volatility_pct.map_or_else(|| "-".into(), share),
            s.value.map_or_else(|| "-".into(), price),
            note,
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');
}

/// The caption of `/risk`'s heatmap.
pub(crate) fn heatmap_caption(h: &chart::CorrelationHeatmap) -> String {
    let mut out = String::from(sim_marker(h.simulated));
    out.push_str(&format!(
        "<b>Correlation</b> of daily returns over {} sessions · snapshot {}",
        h.lookback, h.date
    ));
    if h.truncated() {
        out.push_str(&format!(
            "\n<i>The {} largest of {} measured positions.</i>",
            h.symbols.len(),
            h.measured
        ));
    }
    out
}

/// `/risk`'s picture, sent after its summary: the correlation heatmap of
/// the risk view the daemon computed. Nothing is sent when there is no
/// view or fewer than two measured positions (the summary says why).
async fn risk_heatmap(bot: &TgBot, chat: ChatId, snap: &Snapshot) -> Result<(), BotError> {
    let Some(heatmap) = snap
        .risk
        .as_deref()
        .and_then(|r| chart::correlation_heatmap(r).ok())
    else {
        return Ok(());
    };
    let caption = heatmap_caption(&heatmap);
    let name = format!("correlation-{}.png", heatmap.date);
    send_figure(bot, chat, Figure::Correlation(heatmap), name, &caption).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AssetClass, AssetSymbol};
    use crate::risk::{
        Cluster, Concentration, Correlation, Excluded, Exit, Pair, PortfolioRisk, Suggestion,
        Weight,
    };
    use crate::strategy::ExitReason;

    use crate::test_support::sym;

    fn report_of(empty: bool) -> RiskReport {
        let weight = |s: &str, w: f64| Weight {
            symbol: AssetSymbol::parse(s).unwrap(),
            asset_class: AssetClass::UsEquity,
            market_value: Some(w * 100.0),
            weight_pct: Some(w),
        };
        RiskReport {
            date: "2026-11-20".parse().unwrap(),
            prices_through: None,
            simulated: true,
            benchmark: "SPY".into(),
            lookback: 90,
            equity: 10_000.0,
            cash: Some(1_000.0),
            weights: if empty {
                vec![]
            } else {
                vec![
                    weight("AAA", 40.0),
                    weight("BBB", 30.0),
                    weight("CCC", 20.0),
                ]
            },
            concentration: Concentration {
                largest: (!empty).then(|| AssetSymbol::parse("AAA").unwrap()),
                largest_weight_pct: 40.0,
                // 0.4² + 0.3² + 0.2², 90% invested: 0.81 / 0.29 positions.
                herfindahl: 0.29,
                invested_pct: 90.0,
                effective_positions: 0.81 / 0.29,
            },
            volatility: vec![],
            portfolio: (!empty).then_some(PortfolioRisk {
                volatility_pct: 22.0,
                beta: Some(1.1),
            }),
            correlation: Correlation {
                symbols: if empty {
                    vec![]
                } else {
                    vec![sym("AAA"), sym("BBB")]
                },
                matrix: vec![],
            },
            pairs: vec![Pair {
                a: sym("AAA"),
                b: sym("BBB"),
                correlation: 0.91,
            }],
            clusters: vec![Cluster {
                symbols: vec![sym("AAA"), sym("BBB")],
                weight_pct: 70.0,
            }],
            effective_bets: Some(1.34),
            cluster_correlation: 0.7,
            suggestions: vec![Suggestion {
                symbol: sym("DDD"),
                rank: 1,
                drawdown_pct: -45.0,
                price: 10.0,
                volatility_pct: Some(40.0),
                closest: Some(Pair {
                    a: sym("DDD"),
                    b: sym("AAA"),
                    correlation: 0.85,
                }),
                mean_correlation: Some(0.5),
                duplicates: true,
                value: Some(500.0),
                shares: Some(50),
                capped_by_cash: false,
                reason: None,
            }],
            exits: vec![Exit {
                symbol: AssetSymbol::parse("BBB").unwrap(),
                reasons: vec![ExitReason::PortfolioRule, ExitReason::TakeProfit],
                return_pct: 120.0,
                held: None,
            }],
            equity_vs_benchmark: None,
            excluded: vec![Excluded {
                symbol: AssetSymbol::parse("CCC").unwrap(),
                reason: "bars on 10 of the last 91 sessions".into(),
            }],
            notes: vec![
                "SIMULATED PRICES: not market data".into(),
                "benchmark <SPY>: no bars".into(),
            ],
        }
    }

    #[test]
    fn the_reply_names_bets_pairs_exits_and_candidates() {
        let text = report(&report_of(false));
        for needle in [
            "<i>[SIMULATED PRICES, not market data]</i>\n<b>Risk</b> · snapshot 2026-11-20 · 3 positions",
            "Largest <b>AAA</b> 40.0% · Herfindahl 0.290 of the weights (% of equity; 90.0% invested, like 2.8 equal positions)",
            "Volatility 22.0% a year · beta 1.10 to SPY",
            "<b>Effective bets 1.3</b> of 2 measured (Meucci, over 90 sessions)",
            "Correlation clusters: 1 (average correlation 0.70+)",
            "• AAA, BBB — 70.0% of equity",
            "Most correlated: AAA–BBB 0.91",
            "Not measured (1): CCC",
            "<b>Exits</b>: BBB +120.00% (portfolio rule, take-profit)",
            "≈ AAA (0.85)",
            // Notes are escaped; the simulated note is the marker already.
            "<i>benchmark &lt;SPY&gt;: no bars</i>",
            "Suggestions only",
        ] {
            assert!(text.contains(needle), "{needle:?} missing:\n{text}");
        }
        assert_eq!(text.matches("SIMULATED").count(), 1, "{text}");
    }

    #[test]
    fn candidates_get_buy_buttons_and_exits_sell_buttons() {
        let mut r = report_of(false);
        let k = trade_keyboard(&r).expect("buttons");
        let buttons: Vec<(String, String)> = k
            .inline_keyboard
            .iter()
            .flatten()
            .map(|b| match &b.kind {
                teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => {
                    (b.text.clone(), d.clone())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            buttons,
            [
                ("🛒 Buy DDD".to_string(), "rb:DDD".to_string()),
                ("💰 Sell BBB".to_string(), "rs:BBB".to_string())
            ]
        );
        // A candidate without a size (not measured, or no whole share) and
        // no exits: nothing to act on.
        r.suggestions[0].shares = Some(0);
        r.exits.clear();
        assert!(trade_keyboard(&r).is_none());
        assert!(report(&r).ends_with(SUGGESTIONS_ONLY));
    }

    #[test]
    fn without_positions_or_a_view_it_says_so() {
        let text = report(&report_of(true));
        assert!(text.contains("No open positions.\n"), "{text}");
        assert!(!text.contains("Exits</b>: no rule"), "{text}");
        assert!(text.contains("DDD"), "candidates are still sized: {text}");
        let snap = Snapshot::default();
        assert_eq!(risk(&snap), no_portfolio());
    }
}
