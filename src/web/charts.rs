//! Figures on the dashboard's pages: inline SVG from [`crate::chart::svg`],
//! drawn in both themes, the page's stylesheet showing the one that
//! matches the system setting (`prefers-color-scheme`), and at two sizes:
//! wide for a desktop column, phone-sized for narrow screens (swapped by
//! the stylesheet's width query as the themes are), so a figure is drawn
//! at about the size it is shown and its text stays readable on a phone.
//!
//! Inline SVG (rather than `<img src="/chart/...">`) renders under the
//! strict Content-Security-Policy: plotters writes colours as presentation
//! attributes (`fill=`, `stroke=`, `opacity=`), never `style="..."`, which
//! `style-src 'self'` would block; text it draws is XML-escaped by plotters
//! and every label in a figure comes from our data (tickers are validated
//! [`crate::domain::Symbol`]s), never from a request.

use std::sync::{Arc, Mutex, Weak};

use maud::{Markup, PreEscaped, html};

use crate::chart::{self, Figure, Style, Theme};
use crate::state::Snapshot;

/// The sizes a figure is drawn at, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sizes {
    /// For a desktop column (scaled down to it; at the narrowest width
    /// that shows it, 40rem, text is still at least 11 px).
    pub wide: (u32, u32),
    /// For a phone, shown unscaled or nearly so; `None`: the wide one
    /// everywhere (a sparkline is already small).
    pub phone: Option<(u32, u32)>,
}

/// Full-width figures: the Telegram photo's size on a desktop (text sized
/// for a phone there is as readable here), [`Style::PHONE`] on a phone.
pub(super) const FIGURE: Sizes = Sizes {
    wide: (Style::PHOTO.width, Style::PHOTO.height),
    phone: Some((Style::PHONE.width, Style::PHONE.height)),
};

/// A sparkline in a table row.
pub(super) const SPARK: Sizes = Sizes {
    wide: (120, 32),
    phone: None,
};

/// `figure` at `size` in `theme` as SVG text.
fn draw(figure: &Figure, size: (u32, u32), theme: Theme) -> Result<String, chart::ChartError> {
    chart::svg(
        figure,
        &Style {
            theme,
            width: size.0,
            height: size.1,
        },
    )
}

/// Both themes of `figure` at `size`.
fn themed(figure: &Figure, size: (u32, u32)) -> Result<Markup, chart::ChartError> {
    let light = draw(figure, size, Theme::Light)?;
    let dark = draw(figure, size, Theme::Dark)?;
    Ok(html! {
        div.theme-light { (PreEscaped(light)) }
        div.theme-dark { (PreEscaped(dark)) }
    })
}

/// `figure` at `sizes` as inline SVG in both themes, `label` its
/// accessible name. A figure that cannot be drawn is a short note (and a
/// log line), never a failed page.
pub(super) fn inline(figure: &Figure, sizes: Sizes, label: &str) -> Markup {
    let class = if matches!(figure, Figure::Sparkline(_)) {
        "chart spark"
    } else {
        "chart"
    };
    let drawn = themed(figure, sizes.wide).and_then(|wide| {
        sizes
            .phone
            .map(|p| themed(figure, p))
            .transpose()
            .map(|phone| (wide, phone))
    });
    match drawn {
        Ok((wide, None)) => html! {
            figure class=(class) role="img" aria-label=(label) { (wide) }
        },
        Ok((wide, Some(phone))) => html! {
            figure class=(class) role="img" aria-label=(label) {
                div.fig-wide { (wide) }
                div.fig-phone { (phone) }
            }
        },
        Err(e) => {
            tracing::error!(error = %e, figure = label, "a dashboard chart could not be drawn");
            html! { p.meta { "The chart " (label) " could not be drawn." } }
        }
    }
}

/// The breadth chart of `snap`: 60 screens of every ranked name, the same
/// for every request until the next snapshot.
pub(super) fn breadth(snap: &Snapshot) -> Markup {
    match chart::data::breadth(&snap.history, snap.simulated) {
        Ok(b) => inline(&Figure::Breadth(b), FIGURE, "market breadth"),
        Err(e) => html! { p.meta { "No breadth chart: " (e) "." } },
    }
}

/// Figures that depend on the snapshot alone, drawn once per snapshot
/// rather than per request (breadth walks every symbol's 60 screens).
#[derive(Debug, Default)]
pub struct SnapshotFigures {
    /// The snapshot drawn from, and its breadth chart. A `Weak` keeps the
    /// allocation's address from being reused while it is held, so a
    /// pointer match is that very snapshot.
    breadth: Mutex<Option<(Weak<Snapshot>, Markup)>>,
}

impl SnapshotFigures {
    /// The breadth chart of `snap`, drawn on the first request for it.
    pub fn breadth(&self, snap: &Arc<Snapshot>) -> Markup {
        let lock = || self.breadth.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((of, markup)) = lock().as_ref()
            && Weak::ptr_eq(of, &Arc::downgrade(snap))
        {
            return markup.clone();
        }
        // Drawn outside the lock: two first requests may both draw it.
        let markup = breadth(snap);
        *lock() = Some((Arc::downgrade(snap), markup.clone()));
        markup
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Symbol;
    use crate::state::HistoryPoint;

    fn snap(ranked: usize) -> Arc<Snapshot> {
        let date = "2026-11-30".parse().unwrap();
        let history = (0..ranked)
            .map(|i| {
                let point = HistoryPoint {
                    date,
                    drawdown_pct: -25.0,
                    rank: i as u32 + 1,
                };
                (Symbol::parse(&format!("S{i}")).unwrap(), vec![point])
            })
            .collect();
        Arc::new(Snapshot {
            history,
            ..Snapshot::default()
        })
    }

    #[test]
    fn the_breadth_chart_is_drawn_once_per_snapshot() {
        let figures = SnapshotFigures::default();
        let (a, b) = (snap(3), snap(7));
        let first = figures.breadth(&a).into_string();
        assert!(first.contains("3 of 3 down 20%+"), "drawn from a");
        assert_eq!(figures.breadth(&a).into_string(), first);
        let next = figures.breadth(&b).into_string();
        assert!(
            next.contains("7 of 7 down 20%+"),
            "a new snapshot is drawn anew"
        );
        assert!(
            figures
                .breadth(&Arc::new(Snapshot::default()))
                .into_string()
                .contains("No breadth chart")
        );
    }
}
