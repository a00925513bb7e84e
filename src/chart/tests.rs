//! Rendering: every figure draws in both formats and both themes; the PNG
//! has the size asked for; the SVG's price line has one point a session.

use super::*;
use crate::domain::Symbol;
use crate::query::{DayBars, PriceHistory};
use crate::screen::{PeakBasis, ScreenParams};
use crate::state::HistoryPoint;
use crate::test_support::sym;
use chrono::NaiveDate;

/// `n` consecutive days of a rise then a fall, for AAPL.
fn history(n: usize, simulated: bool) -> PriceHistory {
    let start: NaiveDate = "2025-01-01".parse().unwrap();
    let days = (0..n)
        .map(|i| {
            let close = 100.0 + 30.0 * (i as f64 / n as f64 * 3.0).sin();
            let mut day = DayBars::new(start + chrono::Days::new(i as u64), simulated);
            day.push(&sym("AAPL"), [close, close + 1.0, close - 1.0, close, 1e6]);
            day
        })
        .collect();
    PriceHistory::from_days(days)
}

fn params() -> ScreenParams {
    ScreenParams {
        lookback_days: 180,
        min_history: 30,
        peak_basis: PeakBasis::High,
    }
}

fn price_figure(n: usize, simulated: bool) -> Figure {
    let h = history(n, simulated);
    Figure::Price(data::price_chart(&h, &sym("AAPL"), Period::Y1, &params(), None).unwrap())
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// The points of the SVG polyline drawn in `color` with the most points.
fn polyline_points(svg: &str, color: &str) -> usize {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| p.contains(&format!("stroke=\"{color}\"")))
        .filter_map(|p| {
            let start = p.find("points=\"")? + 8;
            let end = p[start..].find('"')? + start;
            Some(p[start..end].split_whitespace().count())
        })
        .max()
        .unwrap_or(0)
}

fn figures() -> Vec<Figure> {
    let mut points = std::collections::HashMap::new();
    let start: NaiveDate = "2026-01-05".parse().unwrap();
    for (k, s) in ["AAPL", "MSFT", "NVDA"].iter().enumerate() {
        let series = (0..40)
            .map(|i| HistoryPoint {
                date: start + chrono::Days::new(i),
                drawdown_pct: -(i as f64) * (k as f64 + 1.0),
                rank: 3 - k as u32,
            })
            .collect();
        points.insert(sym(s), series);
    }
    let accounts: Vec<(NaiveDate, crate::domain::Account)> = (0..30)
        .map(|i| {
            let equity = Some(rust_decimal::Decimal::from(100_000 + i * 250));
            let a = crate::domain::Account::with_equity_and_cash(equity, equity);
            (start + chrono::Days::new(i as u64), a)
        })
        .collect();
    vec![
        price_figure(300, false),
        Figure::RankHistory(data::rank_history(&points, &sym("NVDA"), false).unwrap()),
        Figure::Breadth(data::breadth(&points, true).unwrap()),
        Figure::Equity(data::equity(&accounts, false).unwrap()),
        Figure::TopDrawdowns(TopDrawdowns {
            date: start,
            bars: vec![
                (sym("NVDA"), -45.5),
                (sym("MSFT"), -30.0),
                (sym("AAPL"), -2.25),
            ],
            simulated: false,
        }),
        Figure::BacktestEquity(backtest_curves(start, false)),
        Figure::BacktestDrawdown(backtest_curves(start, true)),
    ]
}

/// Two curves over 60 sessions, equity or underwater.
fn backtest_curves(start: NaiveDate, underwater: bool) -> super::backtest::BacktestCurves {
    let wave = |k: f64| -> Vec<f64> {
        (0..60)
            .map(|i| {
                let v = 100_000.0 * (1.0 + (i as f64 / k).sin() * 0.1);
                if underwater {
                    v / 110_000.0 * 100.0 - 100.0
                } else {
                    v
                }
            })
            .collect()
    };
    super::backtest::BacktestCurves {
        id: "0123456789abcdef".into(),
        benchmark: "SPY".into(),
        dates: (0..60).map(|i| start + chrono::Days::new(i)).collect(),
        strategy: wave(7.0),
        benchmark_values: wave(11.0),
        optimistic: underwater,
        simulated: !underwater,
    }
}

#[test]
fn every_figure_draws_as_png_and_svg_in_both_themes() {
    for fig in figures() {
        for theme in [Theme::Light, Theme::Dark] {
            let style = Style::PHOTO.with_theme(theme);
            let png = png(&fig, &style).unwrap_or_else(|e| panic!("{fig:?}: {e}"));
            assert_eq!(png_size(&png), (1200, 800));
            let svg = svg(&fig, &style).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
            // Text is drawn in the embedded font's family.
            assert!(svg.contains("font-family=\"sans-serif\""), "{svg:.300}");
        }
    }
}

#[test]
fn the_price_svg_has_one_point_per_session_and_the_drawdown_label() {
    // 300 sessions held; a 1y chart shows the last 252.
    let fig = price_figure(300, false);
    let Figure::Price(c) = &fig else {
        unreachable!()
    };
    let m = c.marks.as_ref().unwrap();
    let svg = svg(&fig, &Style::PHOTO).unwrap();
    assert_eq!(polyline_points(&svg, "#0D6EFD"), 252);
    let label = crate::numbers::signed_pct(m.drawdown_pct);
    assert!(
        m.drawdown_pct < -10.0,
        "the series falls: {}",
        m.drawdown_pct
    );
    assert!(svg.contains(&label), "{label} not in the picture");
    assert!(svg.contains(&format!(
        "peak {} on {}",
        crate::numbers::price(m.peak_price),
        m.peak_date
    )));
    assert!(!svg.contains("SIMULATED"));
}

#[test]
fn simulated_prices_are_labelled_on_the_picture() {
    let svg = svg(&price_figure(100, true), &Style::PHOTO).unwrap();
    assert!(svg.contains("SIMULATED PRICES"));
    assert!(svg.contains("SIMULATED prices"));
}

#[test]
fn themes_differ_and_a_bad_size_is_an_error() {
    let fig = price_figure(60, false);
    let light = svg(&fig, &Style::PHOTO).unwrap();
    let dark = svg(&fig, &Style::PHOTO.with_theme(Theme::Dark)).unwrap();
    assert!(light.contains("#FFFFFF") && dark.contains("#181A1F"));
    let tiny = Style {
        width: 10,
        ..Style::PHOTO
    };
    assert_eq!(png(&fig, &tiny), Err(ChartError::Size(10, 800)));
}

#[test]
fn a_one_session_history_still_draws() {
    let fig = price_figure(1, false);
    assert_eq!(png_size(&png(&fig, &Style::PHOTO).unwrap()), (1200, 800));
}

/// A heatmap of `n` symbols: correlation `1 / (1 + |i - j|)`, one block of
/// two, then singles.
fn heatmap(n: usize, measured: usize, simulated: bool) -> Figure {
    let symbols: Vec<Symbol> = (0..n).map(|i| sym(&format!("SYM{i}"))).collect();
    let matrix = (0..n)
        .map(|i| (0..n).map(|j| 1.0 / (1.0 + i.abs_diff(j) as f64)).collect())
        .collect();
    let mut blocks = vec![2];
    blocks.extend(std::iter::repeat_n(1, n - 2));
    Figure::Correlation(CorrelationHeatmap {
        date: "2026-11-20".parse().unwrap(),
        lookback: 90,
        symbols,
        matrix,
        blocks,
        measured,
        cluster_correlation: 0.7,
        simulated,
    })
}

#[test]
fn the_heatmap_is_square_labels_both_axes_and_says_what_it_leaves_out() {
    for (n, measured) in [(2, 2), (6, 6), (20, 33)] {
        let fig = heatmap(n, measured, n == 6);
        let style = fig.photo_style();
        assert_eq!((style.width, style.height), (1200, 1200));
        let png = png(&fig, &style).unwrap();
        assert_eq!(png_size(&png), (1200, 1200));
        let doc = svg(&fig, &style).unwrap();
        for i in 0..n {
            // Once on each axis.
            assert_eq!(doc.matches(&format!(">\nSYM{i}\n<")).count(), 2, "SYM{i}");
        }
        assert_eq!(doc.contains("the 20 largest of 33 positions"), measured > n);
        assert_eq!(doc.contains("SIMULATED PRICES"), n == 6);
        // Cells carry their value when there is room (6 x 6), not at 20 x 20.
        assert_eq!(doc.contains(">\n0.50\n<"), n <= 6, "{n}");
        // Presentation attributes only: a `style-src 'self'` page shows it.
        assert!(!doc.contains("style="));
    }
}

#[test]
fn the_colour_scale_runs_blue_through_neutral_to_red() {
    use super::draw::heatmap::color_of;
    let hex = |c: plotters::style::RGBColor| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
    assert_eq!(hex(color_of(-1.0)), "#2166AC");
    assert_eq!(hex(color_of(0.0)), "#F7F7F7");
    assert_eq!(hex(color_of(1.0)), "#B2182B");
    assert_eq!(color_of(f64::NAN), color_of(0.0));
    assert_eq!(color_of(7.0), color_of(1.0), "clamped");
    // The diagonal (1.0) is drawn in the +1 colour.
    let doc = svg(&heatmap(3, 3, false), &Style::SQUARE).unwrap();
    assert!(doc.contains("fill=\"#B2182B\""));
}

#[test]
fn a_sparkline_draws_small_with_one_point_per_session() {
    let h = history(120, false);
    let line = data::sparkline(&h, &sym("AAPL"), 63).unwrap();
    assert_eq!(line.closes.len(), 63);
    let fig = Figure::Sparkline(line);
    let style = Style {
        theme: Theme::Light,
        width: 120,
        height: 32,
    };
    let svg = svg(&fig, &style).unwrap();
    assert_eq!(polyline_points(&svg, "#0D6EFD"), 63);
    assert!(
        !svg.contains("<text"),
        "bare: no text on a real-price sparkline"
    );
    let sim = svg_of_sim();
    assert!(
        sim.contains("<text") && sim.contains("\nsim\n</text>"),
        "{sim}"
    );
    assert_eq!(
        png(&fig, &Style { height: 8, ..style }),
        Err(ChartError::Size(120, 8))
    );
}

fn svg_of_sim() -> String {
    let h = history(40, true);
    let fig = Figure::Sparkline(data::sparkline(&h, &sym("AAPL"), 63).unwrap());
    svg(
        &fig,
        &Style {
            theme: Theme::Dark,
            width: 120,
            height: 32,
        },
    )
    .unwrap()
}
