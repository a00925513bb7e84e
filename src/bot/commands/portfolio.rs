//! `/portfolio`: positions sorted by return with value and P&L, then
//! totals.

use super::{Answer, Spec};
use crate::bot::format::{known, no_portfolio, pl_pct, sim_marker, totals};
use crate::bot::html::{Align, Table};
use crate::domain::{Position, by_return};
use crate::numbers::{pct, signed_usd, usd};
use crate::state::Snapshot;

/// `/portfolio`.
pub(crate) const SPEC: Spec = Spec::new(
    "portfolio",
    "",
    "Positions by return, with value, P&L and totals",
    Answer::Snapshot(|r| portfolio(r.snap).into()),
);

/// `/portfolio`: positions by return with value and P&L, and totals.
pub(crate) fn portfolio(snap: &Snapshot) -> String {
    let Some(p) = &snap.portfolio else {
        return no_portfolio();
    };
    let mut out = String::from(sim_marker(snap.simulated));
    out.push_str(&format!(
        "<b>Portfolio</b> · snapshot {} · {} position{}\n",
        p.date,
        p.positions.len(),
        if p.positions.len() == 1 { "" } else { "s" }
    ));
    if p.positions.is_empty() {
        out.push_str("No open positions.\n");
    } else {
        let mut t = Table::new(&[
            ("symbol", Align::Left),
            ("return", Align::Right),
            ("value", Align::Right),
            ("P&L", Align::Right),
        ]);
        for x in by_return(&p.positions) {
            t.row(vec![
                held_label(x),
                known(x.unrealized_return_pct, pct),
                known(x.market_value, usd),
                known(x.unrealized_pl, signed_usd),
            ]);
        }
        out.push_str(&t.render());
        out.push('\n');
    }
    let (value, pl, cost) = totals(&p.positions);
    out.push_str(&format!(
        "Value <b>{}</b> · cost {} · P&amp;L <b>{}</b>",
        usd(value),
        usd(cost),
        signed_usd(pl)
    ));
    if let Some(x) = pl_pct(pl, cost) {
        out.push_str(&format!(" ({})", pct(x)));
    }
    out.push_str(&format!(
        "\nEquity {} · cash {}",
        known(p.account.equity, usd),
        known(p.account.cash, usd)
    ));
    out
}

/// A held position as `/portfolio` lists it: a stock by its ticker, any
/// other class (options, crypto, one Alpaca added since) labelled with the
/// class name Alpaca sent, so nothing is mistaken for a stock or dropped.
fn held_label(p: &Position) -> String {
    match p.asset_class {
        crate::domain::AssetClass::UsEquity => p.symbol.to_string(),
        ref class => format!("{} ({class})", p.symbol),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::commands::fixtures::{holding, snapshot, sym};
    use rust_decimal::{Decimal, dec};

    #[test]
    fn a_long_portfolio_splits_into_well_formed_messages() {
        let mut s = snapshot();
        let positions: Vec<Position> = (0..150)
            .map(|i| {
                Position::from_prices(
                    sym(&format!("S{i:03}")),
                    dec!(10),
                    dec!(100),
                    dec!(50) + Decimal::from(i),
                )
            })
            .collect();
        s.portfolio = Some(holding(positions));
        let text = portfolio(&s);
        assert!(text.encode_utf16().count() > 4096);
        let parts = crate::bot::html::split(&text, crate::bot::html::MAX_MESSAGE);
        assert!(parts.len() >= 2);
        for part in &parts {
            assert!(crate::bot::html::well_formed(part), "{part}");
        }
        assert!(
            parts[1].starts_with("<pre>"),
            "the table is reopened: {}",
            parts[1]
        );
        let all = parts.concat();
        for i in 0..150 {
            assert!(all.contains(&format!("S{i:03} ")), "S{i:03} lost");
        }
        assert!(parts.last().unwrap().contains("Equity $105,234.12"));
    }

    #[test]
    fn positions_of_other_classes_are_labelled_never_dropped() {
        let mut p = Position::from_prices(sym("AAPL"), dec!(1), dec!(100), dec!(110));
        assert_eq!(held_label(&p), "AAPL");
        p.asset_class = crate::domain::AssetClass::from_wire("crypto_perp");
        assert_eq!(held_label(&p), "AAPL (crypto_perp)");
        p.asset_class = crate::domain::AssetClass::from_wire("us_future");
        assert_eq!(held_label(&p), "AAPL (us_future)");
    }
}
