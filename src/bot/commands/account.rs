//! `/account`: the live account through the one broker client (cached, see
//! [`crate::bot::account`]), or the last snapshot when the trading API
//! cannot be reached, said so.

use super::{Answer, Call, Spec};
use crate::bot::account::AccountView;
use crate::bot::error::BotError;
use crate::bot::format::{day_change, known, sim_marker};
use crate::bot::html::{clip, label_table};
use crate::numbers::usd;

/// `/account`.
pub(crate) const SPEC: Spec = Spec::new(
    "account",
    "",
    "Equity, cash, buying power (live, cached 60 s)",
    Answer::Act(|call| Box::pin(act(call))),
);

/// One live call (or the cache's answer), as of the screen's date.
async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let snap = call.request.snap;
    let as_of = snap.screen.as_ref().map_or_else(
        || crate::market::calendar::exchange_date(call.request.now),
        |s| s.date,
    );
    let fallback = snap.portfolio.as_ref().map(|p| (p.date, &p.account));
    let view = call.shared.account.get(as_of, fallback).await;
    call.say(&account(&view, snap.simulated)).await
}

/// `/account`: the live account (or the last snapshot when the trading
/// API cannot be reached).
pub(crate) fn account(view: &AccountView, simulated: bool) -> String {
    let (a, title) = match view {
        AccountView::Live {
            account,
            fetched_at,
        } => (
            account,
            format!(
                "<b>Account</b> · live, as of {} (refreshed at most once a minute)",
                fetched_at.format("%H:%M:%S UTC")
            ),
        ),
        AccountView::Snapshot { account, date } => (
            account,
            format!(
                "<b>Account</b> · the trading API did not answer just now; last snapshot {date}"
            ),
        ),
        AccountView::Unavailable => {
            return "No account to show: no broker is configured and no snapshot has been collected yet."
                .into();
        }
    };
    let mut out = String::from(sim_marker(simulated));
    out.push_str(&title);
    out.push('\n');
    let mut rows = vec![
        ("equity", known(a.equity, usd)),
        ("day change", day_change(a)),
        ("cash", known(a.cash, usd)),
        ("buying power", known(a.buying_power, usd)),
        ("long value", known(a.long_market_value, usd)),
        (
            "status",
            format!(
                "{} ({})",
                clip(&a.status, 24),
                clip(a.currency.as_deref().unwrap_or("n/a"), 8)
            ),
        ),
    ];
    // Alpaca stopped sending these in 2026-07: shown only when sent.
    if let (Some(count), Some(pdt)) = (a.daytrade_count, a.pattern_day_trader) {
        rows.push((
            "day trades",
            format!(
                "{count} in 5 sessions · PDT {}",
                if pdt { "yes" } else { "no" }
            ),
        ));
    }
    out.push_str(&label_table(&rows));
    out
}
