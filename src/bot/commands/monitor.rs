//! `/monitor`: the profit-taking rule on the latest snapshot: the best
//! positions' returns, their average against the target, and the verdict.

use super::{Answer, Spec};
use crate::bot::format::{Params, no_portfolio, profit_verdict, sim_marker};
use crate::bot::html::{Align, Table};
use crate::numbers::pct;
use crate::state::Snapshot;

/// `/monitor`.
pub(crate) const SPEC: Spec = Spec::new(
    "monitor",
    "",
    "The profit-taking rule: top positions vs target",
    Answer::Snapshot(|r| monitor(r.snap, r.params).into()),
);

/// `/monitor`: the profit-taking rule on the latest snapshot.
pub(crate) fn monitor(snap: &Snapshot, params: &Params) -> String {
    let Some(p) = &snap.portfolio else {
        return no_portfolio();
    };
    let mut out = String::from(sim_marker(snap.simulated));
    out.push_str(&format!(
        "<b>Profit-taking rule</b> · snapshot {}\nTake profit when the best {} positions average {} or more.\n",
        p.date,
        p.profit.top_n,
        pct(p.profit.target_pct)
    ));
    if !p.profit.considered.is_empty() {
        let mut t = Table::new(&[
            ("#", Align::Right),
            ("symbol", Align::Left),
            ("return", Align::Right),
        ]);
        for (i, (sym, ret)) in p.profit.considered.iter().enumerate() {
            t.row(vec![(i + 1).to_string(), sym.to_string(), pct(*ret)]);
        }
        out.push_str(&t.render());
        out.push('\n');
    }
    out.push_str(&profit_verdict(p, false));
    if p.profit.top_n != params.top_positions || p.profit.target_pct != params.profit_target_pct {
        out.push_str(&format!(
            "\n<i>Evaluated with the settings of the snapshot; now: best {} at {}.</i>",
            params.top_positions,
            pct(params.profit_target_pct)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::commands::fixtures::{params, snapshot, sym};
    use crate::domain::Position;
    use rust_decimal::dec;

    #[test]
    fn monitor_says_when_no_held_position_is_of_a_counted_class() {
        let mut coin = Position::from_prices(sym("BTCUSD"), dec!(1), dec!(100), dec!(900));
        coin.asset_class = crate::domain::AssetClass::Crypto;
        let mut s = snapshot();
        if let Some(p) = &mut s.portfolio {
            p.positions = vec![coin];
            p.profit = crate::domain::profit_rule(
                &p.positions,
                &[crate::domain::AssetClass::UsEquity],
                5,
                dec!(100),
            );
        }
        let text = monitor(&s, &params());
        assert!(
            text.contains("No position the rule counts (portfolio.asset_classes"),
            "{text}"
        );
        assert!(!text.contains("TAKE PROFIT"), "{text}");
    }
}
