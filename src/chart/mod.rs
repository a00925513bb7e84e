//! Charts: each figure drawn from the in-memory history, both as PNG
//! bytes (Telegram photos) and as an SVG document (the web dashboard), so
//! a chart never waits on the store.
//!
//! - [`backtest`]: a stored backtest's equity and drawdown curves
//!   against its benchmark (pure);
//! - [`data`]: what each figure shows, as pure functions (the price chart's
//!   peak and drawdown come from the screen engine itself);
//! - [`correlation`]: the correlation heatmap's cells, from the risk
//!   view's own matrix;
//! - `draw`: the figures drawn with `plotters` on either backend;
//! - `font`: the embedded DejaVu Sans (`assets/fonts/`), registered with
//!   plotters' `ab_glyph` text: no system font library at build or run
//!   time.
//!
//! Rendering never panics into its caller: a figure that cannot be drawn
//! is a [`ChartError`], and a panic inside `plotters` is caught and
//! returned as one.

pub mod backtest;
pub mod correlation;
pub mod data;
mod draw;
mod font;

use std::panic::AssertUnwindSafe;

use plotters::prelude::*;

pub use correlation::{CorrelationHeatmap, HEATMAP_MAX, correlation_heatmap};
pub use data::{
    Breadth, BreadthPoint, Equity, NoChart, PeakMarks, Period, PriceChart, RankHistory, Sparkline,
    TopDrawdowns,
};

/// One figure, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// A symbol's price with its window, peak and drawdown.
    Price(PriceChart),
    /// A symbol's drawdown and rank on each screen.
    RankHistory(RankHistory),
    /// Names down 20% and 30% or more, and the median drawdown.
    Breadth(Breadth),
    /// Portfolio equity over time.
    Equity(Equity),
    /// The deepest drawdowns of one screen, as bars.
    TopDrawdowns(TopDrawdowns),
    /// A backtest's equity against its benchmark's.
    BacktestEquity(backtest::BacktestCurves),
    /// A backtest's and its benchmark's fall below their running peaks.
    BacktestDrawdown(backtest::BacktestCurves),
    /// How the portfolio's positions correlate, as a heatmap.
    Correlation(CorrelationHeatmap),
    /// A symbol's recent closes, small, for a table row.
    Sparkline(Sparkline),
}

impl Figure {
    /// Whether the figure shows simulated prices (then it says so on the
    /// picture itself).
    pub fn simulated(&self) -> bool {
        match self {
            Self::Price(c) => c.simulated,
            Self::RankHistory(c) => c.simulated,
            Self::Breadth(c) => c.simulated,
            Self::Equity(c) => c.simulated,
            Self::TopDrawdowns(c) => c.simulated,
            Self::BacktestEquity(c) | Self::BacktestDrawdown(c) => c.simulated,
            Self::Correlation(c) => c.simulated,
            Self::Sparkline(c) => c.simulated,
        }
    }

    /// How the figure is sent as a photo: square for the heatmap (its
    /// rows and columns are the same symbols), [`Style::PHOTO`] otherwise.
    pub fn photo_style(&self) -> Style {
        match self {
            Self::Correlation(_) => Style::SQUARE,
            _ => Style::PHOTO,
        }
    }

    /// The smallest side it can be drawn at: a sparkline is a line only;
    /// every other figure has a title, a legend and axes to fit.
    fn min_side(&self) -> u32 {
        match self {
            Self::Sparkline(_) => 16,
            _ => 200,
        }
    }
}

/// Light or dark colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Dark text on white (the default; Telegram shows photos on either).
    #[default]
    Light,
    /// Light text on a dark background.
    Dark,
}

/// How a figure is drawn: colours and size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// The colours.
    pub theme: Theme,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
}

impl Style {
    /// Telegram photos: 1200 x 800, text sized to stay readable when a
    /// phone shows the picture at its screen width.
    pub const PHOTO: Style = Style {
        theme: Theme::Light,
        width: 1200,
        height: 800,
    };

    /// Square pictures (the correlation heatmap): 1200 x 1200, text sized
    /// as on [`Style::PHOTO`] of the same width.
    pub const SQUARE: Style = Style {
        theme: Theme::Light,
        width: 1200,
        height: 1200,
    };

    /// Phone-sized figures for the dashboard's narrow screens: 360 x 500,
    /// shown at that size on a phone, so the text, which scales with the
    /// height, is at least 11 CSS px (plotters writes an SVG's font sizes
    /// as its own size / 1.24: axis labels 24 x 0.625 / 1.24 = 12 px).
    pub const PHONE: Style = Style {
        theme: Theme::Light,
        width: 360,
        height: 500,
    };

    /// This style with `theme`.
    pub fn with_theme(self, theme: Theme) -> Self {
        Self { theme, ..self }
    }
}

impl Default for Style {
    fn default() -> Self {
        Self::PHOTO
    }
}

/// Why a figure could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    /// A size plotters cannot draw on.
    #[error("a chart of {0} x {1} pixels cannot be drawn")]
    Size(u32, u32),
    /// Drawing failed.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// Encoding the PNG failed.
    #[error("encoding the PNG failed: {0}")]
    Encode(String),
}

/// The largest side drawn (keeps a bitmap's memory bounded).
const MAX_SIDE: u32 = 4096;

fn check_size(figure: &Figure, style: &Style) -> Result<(), ChartError> {
    let ok = |v: u32| (figure.min_side()..=MAX_SIDE).contains(&v);
    if ok(style.width) && ok(style.height) {
        Ok(())
    } else {
        Err(ChartError::Size(style.width, style.height))
    }
}

/// Run `f`, turning a panic inside plotters into an error.
fn caught<T>(f: impl FnOnce() -> Result<T, ChartError>) -> Result<T, ChartError> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        crate::panics::record("chart");
        Err(ChartError::Draw("the drawing library panicked".into()))
    })
}

/// `figure` as a PNG image.
pub fn png(figure: &Figure, style: &Style) -> Result<Vec<u8>, ChartError> {
    check_size(figure, style)?;
    font::register();
    let (w, h) = (style.width, style.height);
    caught(|| {
        let mut rgb = vec![0u8; w as usize * h as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            draw::figure(&root, figure, style.theme)
                .map_err(|e| ChartError::Draw(e.to_string()))?;
            root.present()
                .map_err(|e| ChartError::Draw(e.to_string()))?;
        }
        encode_png(&rgb, w, h)
    })
}

/// `figure` as an SVG document.
pub fn svg(figure: &Figure, style: &Style) -> Result<String, ChartError> {
    check_size(figure, style)?;
    font::register();
    caught(|| {
        let mut out = String::new();
        {
            let root =
                SVGBackend::with_string(&mut out, (style.width, style.height)).into_drawing_area();
            draw::figure(&root, figure, style.theme)
                .map_err(|e| ChartError::Draw(e.to_string()))?;
            root.present()
                .map_err(|e| ChartError::Draw(e.to_string()))?;
        }
        Ok(out)
    })
}

/// Encode an RGB buffer (fast compression: charts are flat colours, and a
/// photo is re-encoded by Telegram anyway).
fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let err = |e: png::EncodingError| ChartError::Encode(e.to_string());
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
