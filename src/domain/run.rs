//! A run of this process: what started it and how it ended, as the
//! runner records it and the state, the bot, `/readyz` and the metrics show
//! it. (What a run published is its [`super::RunReport`], in the store.)
//! Plain data, below both the runner and the state that holds the last one.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

/// What a run's trigger was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunSource {
    /// The cron schedule.
    Schedule,
    /// Catching up at start.
    CatchUp,
    /// Retrying a day whose data was not yet available.
    Retry,
    /// Someone asked (`/trigger`).
    Manual,
}

impl RunSource {
    /// Label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::CatchUp => "catch_up",
            Self::Retry => "retry",
            Self::Manual => "manual",
        }
    }

    /// What started the run, in words for people (the bot's and the
    /// dashboard's replies).
    pub fn label(self) -> &'static str {
        match self {
            Self::Schedule => "the schedule",
            Self::CatchUp => "the start-up catch-up",
            Self::Retry => "a retry",
            Self::Manual => "a /trigger",
        }
    }
}

/// How the last run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum LastOutcome {
    /// Published `date`.
    Published {
        /// The date.
        date: NaiveDate,
        /// Ranked names.
        ranked: usize,
        /// Skipped names.
        skipped: usize,
        /// Failed names.
        failed: usize,
    },
    /// The source had not published the day yet.
    NotAvailable {
        /// Why.
        reason: String,
    },
    /// The run failed; nothing published.
    Failed {
        /// Why, one line.
        reason: String,
    },
    /// Shutdown interrupted it; nothing partial published.
    Interrupted,
}

impl LastOutcome {
    /// Every label [`LastOutcome::label`] gives.
    pub const LABELS: [&'static str; 4] = ["published", "not_available", "failed", "interrupted"];

    /// Label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Published { .. } => "published",
            Self::NotAvailable { .. } => "not_available",
            Self::Failed { .. } => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

/// The last run, whatever its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct LastRun {
    /// What started it.
    pub source: RunSource,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub duration: Duration,
    /// How it ended.
    pub outcome: LastOutcome,
}
