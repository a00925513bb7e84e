//! Figures on the dashboard's pages: inline SVG from [`crate::chart::svg`],
//! drawn in both themes, the page's stylesheet showing the one that
//! matches the system setting (`prefers-color-scheme`).
//!
//! Inline SVG (rather than `<img src="/chart/...">`) renders under the
//! strict Content-Security-Policy: plotters writes colours as presentation
//! attributes (`fill=`, `stroke=`, `opacity=`), never `style="..."`, which
//! `style-src 'self'` would block; text it draws is XML-escaped by plotters
//! and every label in a figure comes from our data (tickers are validated
//! [`crate::domain::Symbol`]s), never from a request.

use maud::{Markup, PreEscaped, html};

use crate::chart::{self, Figure, Style, Theme};

/// Full-width figures: the Telegram photo's size, so text sized for a
/// phone there is as readable here (the SVG scales to the column width).
pub(super) const FIGURE: (u32, u32) = (Style::PHOTO.width, Style::PHOTO.height);

/// A sparkline in a table row.
pub(super) const SPARK: (u32, u32) = (120, 32);

/// `figure` at `size` as inline SVG in both themes, `label` its
/// accessible name. A figure that cannot be drawn is a short note (and a
/// log line), never a failed page.
pub(super) fn inline(figure: &Figure, size: (u32, u32), label: &str) -> Markup {
    let draw = |theme| {
        chart::svg(
            figure,
            &Style {
                theme,
                width: size.0,
                height: size.1,
            },
        )
    };
    let class = if matches!(figure, Figure::Sparkline(_)) {
        "chart spark"
    } else {
        "chart"
    };
    match (draw(Theme::Light), draw(Theme::Dark)) {
        (Ok(light), Ok(dark)) => html! {
            figure class=(class) role="img" aria-label=(label) {
                div.theme-light { (PreEscaped(light)) }
                div.theme-dark { (PreEscaped(dark)) }
            }
        },
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, figure = label, "a dashboard chart could not be drawn");
            html! { p.meta { "The chart " (label) " could not be drawn." } }
        }
    }
}
