//! The portfolio page's risk section, from the risk view the daemon
//! computed when it last loaded the store ([`Snapshot::risk`]): weights,
//! volatility, beta and share of risk, concentration, the independent
//! bets, the most correlated pairs, the correlation heatmap (inline SVG:
//! presentation attributes only, so the `style-src 'self'` policy shows
//! it), exits and sized candidates. Suggestions only.

use maud::{Markup, html};

use crate::chart::{self, Figure};
use crate::numbers::{price, share_pct, signed_pct};
use crate::risk::RiskReport;
use crate::state::Snapshot;

fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |v| share_pct(v, 1))
}

/// The risk section of `/portfolio`.
pub(super) fn section(snap: &Snapshot) -> Markup {
    let Some(r) = snap.risk.as_deref() else {
        return html! {
            @if snap.portfolio.is_some() {
                section #risk {
                    h2 { "Risk" }
                    p { "The risk view could not be computed when the store was last loaded (the daemon's log says why)." }
                }
            }
        };
    };
    html! {
        section #risk {
            h2 { "Risk" }
            p.meta {
                @if r.simulated { strong { "SIMULATED prices" } " · " }
                "Snapshot " (r.date)
                @if let Some(p) = r.prices_through { " · bars through " (p) }
                " · correlations over " (r.lookback) " sessions · benchmark " (r.benchmark)
            }
            @if r.is_empty() {
                p { "No open positions." }
            } @else {
                (concentration(r))
                (positions(r))
                (correlation(r))
            }
            (exits(r))
            (candidates(r))
            @if !r.excluded.is_empty() {
                h3 { "Not measured" }
                ul { @for x in &r.excluded { li { (x.symbol.as_str()) ": " (x.reason) } } }
            }
            @for n in r.notes.iter().filter(|n| !n.starts_with("SIMULATED")) {
                p.meta { (n) }
            }
            p.meta { "Suggestions only: nothing here places an order." }
        }
    }
}

fn concentration(r: &RiskReport) -> Markup {
    let c = &r.concentration;
    let measured = r.correlation.symbols.len();
    // Correlation clusters of two or more: several tickers moving as one.
    let mut groups = r.clusters.iter().filter(|c| c.symbols.len() > 1).peekable();
    html! {
        p {
            @if let Some(largest) = &c.largest {
                "Largest position " strong { (largest.as_str()) } " at " (share_pct(c.largest_weight_pct, 1))
                " of equity · Herfindahl " (format!("{:.3}", c.herfindahl))
                " of the weights shown (% of equity; " (share_pct(c.invested_pct, 1)) " invested, like "
                (format!("{:.1}", c.effective_positions)) " equal positions)"
            }
            @if let Some(p) = &r.portfolio {
                br;
                "Volatility " (share_pct(p.volatility_pct, 1)) " a year"
                @if let Some(b) = p.beta { " · beta " (format!("{b:.2}")) " to " (r.benchmark) }
            }
        }
        @if measured > 0 {
            p {
                @if let Some(bets) = r.effective_bets {
                    strong { "Effective bets " (format!("{bets:.1}")) }
                    " of " (measured) " measured positions (Meucci: the entropy of the principal \
                    portfolios' shares of variance, over " (r.lookback) " sessions)"
                    br;
                }
                "Correlation clusters: " (r.clusters.len()) " (average correlation "
                (format!("{:.2}", r.cluster_correlation)) " or more)"
            }
            @if groups.peek().is_some() {
                ul {
                    @for cl in groups {
                        li {
                            (cl.symbols.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
                            " — " (share_pct(cl.weight_pct, 1)) " of equity"
                        }
                    }
                }
            }
        }
    }
}

fn positions(r: &RiskReport) -> Markup {
    html! {
        h3 { "Positions" }
        p.meta { "Volatility, beta and share of risk over the last " (r.lookback)
            " sessions, the correlations' window." }
        table {
            thead { tr { th { "Symbol" } th.num { "Weight" } th.num { "Volatility" }
                th.num { "Beta" } th.num { "Share of risk" } } }
            tbody {
                @for w in &r.weights {
                    @let risk = r.volatility.iter().find(|v| v.symbol.as_str() == w.symbol.as_str());
                    tr {
                        td { (w.symbol.as_str()) }
                        td.num { (opt_pct(w.weight_pct)) }
                        td.num { (opt_pct(risk.map(|v| v.volatility_pct))) }
                        td.num { (risk.and_then(|v| v.beta).map_or_else(|| "–".into(), |b| format!("{b:.2}"))) }
                        td.num { (opt_pct(risk.map(|v| v.risk_share_pct))) }
                    }
                }
            }
        }
    }
}

/// The heatmap: square, 800 px, shown at that size everywhere (its labels
/// are as small as a readable heatmap allows, so it is never scaled down),
/// in a box that scrolls sideways on a phone rather than shrinking them.
const HEATMAP: super::charts::Sizes = super::charts::Sizes {
    wide: (800, 800),
    phone: None,
};

fn correlation(r: &RiskReport) -> Markup {
    let figure = chart::correlation_heatmap(r).ok().map(|h| {
        let truncated = h.truncated().then_some((h.symbols.len(), h.measured));
        let svg = super::charts::inline(&Figure::Correlation(h), HEATMAP, "Correlation heatmap");
        (svg, truncated)
    });
    html! {
        @if !r.pairs.is_empty() {
            h3 { "Most correlated" }
            ul { @for p in &r.pairs {
                li { (p.a.as_str()) " – " (p.b.as_str()) ": " (format!("{:.2}", p.correlation)) }
            } }
        }
        @if let Some((svg, truncated)) = figure {
            div.heatmap {
                (svg)
                p.meta {
                    "Correlation of daily returns over " (r.lookback) " sessions"
                    @if let Some((shown, of)) = truncated {
                        ": the " (shown) " largest of " (of) " measured positions"
                    }
                    "."
                }
            }
        }
    }
}

fn exits(r: &RiskReport) -> Markup {
    html! {
        h3 { "Exits" }
        @if r.exits.is_empty() {
            p { "No exit rule sells a position today." }
        } @else {
            table {
                thead { tr { th { "Symbol" } th.num { "Return" } th { "Why" } th.num { "Held" } } }
                tbody {
                    @for e in &r.exits {
                        tr {
                            td { (e.symbol.as_str()) }
                            td.num { (signed_pct(e.return_pct)) }
                            td { (e.reasons.iter().map(|x| x.label()).collect::<Vec<_>>().join(", ")) }
                            td.num { @match &e.held {
                                Some(h) => { @if h.at_least { "≥ " } (h.sessions) " sessions" }
                                None => "–",
                            } }
                        }
                    }
                }
            }
        }
    }
}

fn candidates(r: &RiskReport) -> Markup {
    html! {
        @if !r.suggestions.is_empty() {
            h3 { "Candidates from the latest screen" }
            p.meta { "Sized by inverse volatility (the last 60 sessions, as the backtester sizes) \
                within the risk budget, capped by cash." }
            table.ranking {
                // On a phone: rank, symbol, drawdown and the suggested size.
                thead { tr { th.num { "Rank" } th { "Symbol" } th.num { "Drawdown" } th.num.wide { "Volatility" }
                    th.wide { "Closest holding" } th.num { "Size" } th.num.wide { "Shares" } th.wide { "Note" } } }
                tbody {
                    @for s in &r.suggestions {
                        tr {
                            td.num { (s.rank) }
                            td { (s.symbol.as_str()) }
                            td.num { (signed_pct(s.drawdown_pct)) }
                            td.num.wide { (opt_pct(s.volatility_pct)) }
                            td.wide { @match &s.closest {
                                Some(c) => { (c.b.as_str()) " " (format!("{:.2}", c.correlation)) }
                                None => "–",
                            } }
                            td.num { (s.value.map_or_else(|| "–".into(), price)) }
                            td.num.wide { (s.shares.map_or_else(|| "–".into(), |n| n.to_string())) }
                            // A reason is a sentence: it wraps instead of
                            // widening the table past the page.
                            td.wide.note {
                                @if let Some(why) = &s.reason { (why) }
                                @else if s.duplicates { "duplicates a holding" }
                                @else if s.capped_by_cash { "capped by cash" }
                            }
                        }
                    }
                }
            }
        }
    }
}
