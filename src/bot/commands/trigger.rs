//! `/trigger` (admins only): start a collection now, answer at once, and
//! again with the run's summary when it ends; refused during a run and
//! within the cooldown ([`crate::trigger`], shared with the dashboard's
//! "Run now").

use std::time::{Duration, Instant};

use super::{Answer, Call, Spec};
use crate::bot::error::BotError;
use crate::bot::format::outcome_line;
use crate::bot::send;
use crate::domain::{LastOutcome, LastRun};
use crate::numbers::{duration, time_left};
use crate::trigger::{ManualRun, trigger_busy};

/// `/trigger`.
pub(crate) const SPEC: Spec = Spec {
    admins_only: Some(admin_only),
    ..Spec::new(
        "trigger",
        "",
        "Collect now (admins only)",
        Answer::Act(|call| Box::pin(act(call))),
    )
};

/// Start a run; its summary is sent by a task that outlives the update
/// (and stops with the daemon).
async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let (chat, shared) = (call.chat, call.shared);
    let attempt = crate::trigger::start_manual(
        &shared.ctx.runner,
        &shared.ctx.trigger_cooldown,
        Instant::now(),
    );
    (shared.ctx.journal)
        .audit(attempt.audit_event(chat.0))
        .await;
    let done = match attempt {
        ManualRun::Started(done) => done,
        ManualRun::Busy(running) => return call.say(&trigger_busy(running)).await,
        ManualRun::Cooling { left, period } => {
            tracing::info!(chat_id = chat.0, "refused /trigger within the cooldown");
            return call.say(&trigger_cooldown(left, period)).await;
        }
    };
    tracing::info!(chat_id = chat.0, "collection started from Telegram");
    call.say(&trigger_started()).await?;
    let bot = call.bot.clone();
    let shutdown = shared.shutdown.clone();
    tokio::spawn(async move {
        let run = tokio::select! {
            run = done => run.ok(),
            () = shutdown.cancelled() => return,
        };
        let text = trigger_finished(run.as_ref());
        if let Err(e) = send::html(&bot, chat, &text).await {
            tracing::warn!(chat_id = chat.0, error = %e, "could not send the run summary");
        }
    });
    Ok(())
}

/// `/trigger` accepted.
pub(crate) fn trigger_started() -> String {
    "⏳ Collection started. I will send its summary when it finishes.".into()
}

/// `/trigger` within `telegram.trigger_cooldown_secs` of the last one that
/// started a collection: how long until it may again.
pub(crate) fn trigger_cooldown(left: Duration, period: Duration) -> String {
    format!(
        "A collection was started by hand (/trigger or the dashboard) less than {} ago; \
         not starting another. \
         /trigger works again in {} (telegram.trigger_cooldown_secs).",
        duration(period),
        time_left(left)
    )
}

/// The summary of a run started by `/trigger`; `None` if its report was lost.
pub(crate) fn trigger_finished(run: Option<&LastRun>) -> String {
    let Some(r) = run else {
        return "The collection ended without a report (is the daemon stopping?).".into();
    };
    let mark = match r.outcome {
        LastOutcome::Published { .. } => "✅ ",
        LastOutcome::Failed { .. } => "❌ ",
        _ => "",
    };
    format!(
        "{mark}Collection finished in {}: {}.",
        duration(r.duration),
        outcome_line(&r.outcome)
    )
}

/// `/trigger` from a chat that may read but is not an admin.
pub(crate) fn admin_only(chat_id: i64) -> String {
    format!(
        "Only admins can start a collection. This chat's id is <code>{chat_id}</code>; \
         add it to telegram.admin_chat_ids to allow it."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::commands::fixtures::{d, now};
    use crate::domain::RunSource;

    #[test]
    fn run_summaries() {
        let run = |outcome| LastRun {
            source: RunSource::Manual,
            started_at: now(),
            duration: Duration::from_millis(2_500),
            outcome,
        };
        assert_eq!(
            trigger_finished(Some(&run(LastOutcome::Published {
                date: d("2026-11-24"),
                ranked: 1234,
                skipped: 3,
                failed: 0
            }))),
            "✅ Collection finished in 2.5 s: published 2026-11-24: 1,234 ranked, 3 skipped, 0 failed."
        );
        assert_eq!(
            trigger_finished(Some(&run(LastOutcome::Failed {
                reason: "market data: <503> & down".into()
            }))),
            "❌ Collection finished in 2.5 s: failed: market data: &lt;503&gt; &amp; down."
        );
        assert_eq!(
            trigger_finished(Some(&run(LastOutcome::NotAvailable {
                reason: "data not yet available".into()
            }))),
            "Collection finished in 2.5 s: no new data yet (data not yet available)."
        );
        assert_eq!(
            trigger_busy(RunSource::Schedule),
            "A collection is already running (started by the schedule); not starting another."
        );
    }
}
