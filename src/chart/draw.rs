//! The figures drawn with `plotters`, on any backend (bitmap or SVG).
//! Every figure has a header (title, legend, and the simulated-prices
//! label when it applies) and a plot; sessions are spaced evenly on the x
//! axis (no weekend gaps) and labelled with their dates.

use chrono::NaiveDate;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use plotters::chart::DualCoordChartContext;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::types::RangedCoordf64;

use super::font::FAMILY;
use super::{Figure, Sparkline, Theme};

pub(super) mod heatmap;
mod price;
mod series;
mod top;

type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The colours of a theme.
struct Palette {
    bg: RGBColor,
    fg: RGBColor,
    grid: RGBColor,
    line: RGBColor,
    down: RGBColor,
    second: RGBColor,
    window: RGBColor,
}

fn palette(theme: Theme) -> Palette {
    match theme {
        Theme::Light => Palette {
            bg: RGBColor(255, 255, 255),
            fg: RGBColor(33, 37, 41),
            grid: RGBColor(222, 226, 230),
            line: RGBColor(13, 110, 253),
            down: RGBColor(200, 35, 51),
            second: RGBColor(230, 120, 0),
            window: RGBColor(236, 242, 255),
        },
        Theme::Dark => Palette {
            bg: RGBColor(24, 26, 31),
            fg: RGBColor(230, 232, 236),
            grid: RGBColor(58, 62, 70),
            line: RGBColor(110, 168, 254),
            down: RGBColor(255, 107, 107),
            second: RGBColor(255, 179, 71),
            window: RGBColor(36, 44, 62),
        },
    }
}

/// Sizes scale with the picture's height (800 px is the reference).
struct Scale(f64);

impl Scale {
    fn px(&self, v: f64) -> u32 {
        (v * self.0).round().max(1.0) as u32
    }
    fn font(&self, v: f64, color: &RGBColor) -> TextStyle<'static> {
        (FAMILY, v * self.0).into_font().color(color)
    }
}

/// Where a figure with a header is drawn: the header's area, the plot's,
/// the theme's colours and the picture's scale.
struct Frame<'a, DB: DrawingBackend> {
    head: &'a DrawingArea<DB, Shift>,
    body: &'a DrawingArea<DB, Shift>,
    p: &'a Palette,
    s: &'a Scale,
}

// Shared references only: copied freely (a derive would ask DB: Copy).
impl<DB: DrawingBackend> Clone for Frame<'_, DB> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<DB: DrawingBackend> Copy for Frame<'_, DB> {}

/// Draw `fig` on `root`.
pub(super) fn figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
    theme: Theme,
) -> Drawn<DB> {
    let p = palette(theme);
    let (w, h) = root.dim_in_pixel();
    // Text keeps the size it has on a 1200 x 800 photo: a square picture
    // of the same width scales by its width, not its height.
    let s = match fig {
        Figure::Correlation(_) => Scale(f64::from(w.min(h)) / 1200.0),
        _ => Scale(f64::from(h) / 800.0),
    };
    root.fill(&p.bg)?;
    if let Figure::Sparkline(c) = fig {
        return sparkline(root, c, &p);
    }
    // A phone-sized picture has room for its legend on two lines.
    let head_h = if w < NARROW { s.px(150.0) } else { s.px(110.0) };
    let (head, body) = root.split_vertically(head_h);
    let body = body.margin(s.px(10.0), s.px(20.0), s.px(20.0), s.px(30.0));
    let f = Frame {
        head: &head,
        body: &body,
        p: &p,
        s: &s,
    };
    match fig {
        Figure::Price(c) => price::price_chart(f, c)?,
        Figure::RankHistory(c) => series::rank_history(f, c)?,
        Figure::Breadth(c) => series::breadth(f, c)?,
        Figure::Equity(c) => series::equity(f, c)?,
        Figure::TopDrawdowns(c) => top::top_drawdowns(f, c)?,
        Figure::BacktestEquity(c) => series::backtest_curves(f, c, false)?,
        Figure::BacktestDrawdown(c) => series::backtest_curves(f, c, true)?,
        Figure::Correlation(c) => heatmap::heatmap(f, c)?,
        // Drawn above, on the whole picture: it has no header.
        Figure::Sparkline(_) => {}
    }
    if fig.simulated() {
        let faint = p.down.mix(0.22);
        let mark = (FAMILY, 72.0 * s.0)
            .into_font()
            .color(&faint)
            .pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(
            "SIMULATED PRICES",
            (w as i32 / 2, h as i32 / 2),
            mark,
        ))?;
    }
    Ok(())
}

/// Pictures narrower than this are phone-sized: their header's legend
/// wraps onto a second line rather than running off the edge.
const NARROW: u32 = 600;

/// The least text size drawn in a header, in plotters' units: plotters
/// writes an SVG's font sizes as its own / 1.24, so this is 11.3 CSS px on
/// a figure shown at its drawn size.
const MIN_TEXT: f64 = 14.0;

/// `text` at `size` or less so that it fits `room` pixels (never under
/// [`MIN_TEXT`]; cut with an ellipsis if even that is too wide): the text
/// shown and its size.
fn fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
    room: u32,
) -> Result<(String, f64), DrawingAreaErrorKind<DB::ErrorType>> {
    let width = |t: &str, sz: f64| {
        area.estimate_text_size(t, &TextStyle::from((FAMILY, sz).into_font()))
            .map(|(w, _)| w)
    };
    let w = width(text, size)?;
    if w <= room {
        return Ok((text.to_string(), size));
    }
    let smaller = (size * f64::from(room) / f64::from(w.max(1))).max(MIN_TEXT.min(size));
    if width(text, smaller)? <= room {
        return Ok((text.to_string(), smaller));
    }
    let mut chars: Vec<char> = text.chars().collect();
    while chars.len() > 1 {
        chars.pop();
        let cut = format!("{}…", chars.iter().collect::<String>().trim_end());
        if width(&cut, smaller)? <= room {
            return Ok((cut, smaller));
        }
    }
    Ok((text.to_string(), smaller))
}

/// The header: the title, then a legend line of coloured swatches and
/// labels; a simulated figure says so in red at the end of that line. On
/// a narrow (phone-sized) picture the title shrinks to fit and the legend
/// wraps onto a second line.
fn header<DB: DrawingBackend>(
    head: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &[(&str, RGBColor)],
    simulated: bool,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    let (width, _) = head.dim_in_pixel();
    let narrow = width < NARROW;
    let left = s.px(30.0) as i32;
    let right = width as i32 - s.px(10.0) as i32;
    let room = (right - left).max(1) as u32;
    let (title, size) = if narrow {
        fit(head, title, 40.0 * s.0, room)?
    } else {
        (title.to_string(), 40.0 * s.0)
    };
    head.draw(&Text::new(
        title,
        (left, s.px(14.0) as i32),
        (FAMILY, size).into_font().color(&p.fg),
    ))?;
    let line = s.px(34.0) as i32;
    let mut y = s.px(66.0) as i32;
    let gap = s.px(12.0) as i32;
    let mut x = left;
    let legend_size = (26.0 * s.0).max(MIN_TEXT);
    let style = |color: &RGBColor| (FAMILY, legend_size).into_font().color(color);
    let measure = |text: &str| -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
        Ok(head
            .estimate_text_size(text, &TextStyle::from((FAMILY, legend_size).into_font()))?
            .0 as i32)
    };
    // One legend entry (a swatch and its label, or the simulated note):
    // on the next line when it would run past the edge of a narrow one.
    let entry = |parts: &[(&str, &RGBColor)], x: &mut i32, y: &mut i32| -> Drawn<DB> {
        let mut widths = Vec::with_capacity(parts.len());
        for (text, _) in parts {
            widths.push(measure(text)?);
        }
        let total: i32 = widths.iter().sum::<i32>() + gap * (parts.len() as i32 - 1);
        if narrow && *x > left && *x + total > right {
            *x = left;
            *y += line;
        }
        for ((text, color), w) in parts.iter().zip(widths) {
            head.draw(&Text::new(text.to_string(), (*x, *y), style(color)))?;
            *x += w + gap;
        }
        *x += gap;
        Ok(())
    };
    for (label, color) in legend {
        entry(&[("■", color), (label, &p.fg)], &mut x, &mut y)?;
    }
    if simulated {
        entry(&[("· SIMULATED prices", &p.down)], &mut x, &mut y)?;
    }
    Ok(())
}

/// A value range holding every value, padded; never empty.
fn bounds(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(hi.abs() * 0.02).max(1e-6);
    (lo - span * pad, hi + span * pad)
}

/// A count axis's label: whole numbers only (a short range's fractional
/// ticks are left blank rather than shown as repeated rounded numbers).
fn whole(y: f64) -> String {
    if (y - y.round()).abs() < 1e-9 {
        format!("{y:.0}")
    } else {
        String::new()
    }
}

/// The last x of `n` evenly spaced sessions (at least 1, so the axis is
/// never empty).
fn x_end(n: usize) -> f64 {
    n.saturating_sub(1).max(1) as f64
}

/// Position of `date` among `dates` (sorted): its index, or where it would
/// go, kept on the axis.
fn x_of(dates: &[NaiveDate], date: NaiveDate) -> f64 {
    let i = dates.partition_point(|d| *d < date);
    i.min(dates.len().saturating_sub(1)) as f64
}

/// The label of session `x`: day and month, the year too for long spans.
fn date_label(dates: &[NaiveDate], x: f64, long: bool) -> String {
    let i = x.round();
    if i < 0.0 || i as usize >= dates.len() {
        return String::new();
    }
    let d = dates[i as usize];
    if long {
        d.format("%b %Y").to_string()
    } else {
        d.format("%b %-d").to_string()
    }
}

/// Whether `dates` span more than about nine months (labels get years).
fn spans_long(dates: &[NaiveDate]) -> bool {
    match (dates.first(), dates.last()) {
        (Some(a), Some(b)) => (*b - *a).num_days() > 270,
        _ => false,
    }
}

/// A plot's coordinates: sessions (or values) on x, values on y.
type Plane = Cartesian2d<RangedCoordf64, RangedCoordf64>;

/// Values at x = 0, 1, 2, ...: one session per step.
fn indexed(values: &[f64]) -> impl Iterator<Item = (f64, f64)> + '_ {
    values.iter().enumerate().map(|(i, v)| (i as f64, *v))
}

/// The grid and axis labels every plot over sessions shares: six labels a
/// side in the text colour, grid lines at the labels only.
fn mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Plane>,
    x_label: &dyn Fn(&f64) -> String,
    y_label: &dyn Fn(&f64) -> String,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(x_label)
        .y_label_formatter(y_label)
        .label_style(s.font(24.0, &p.fg))
        .axis_style(p.fg)
        .bold_line_style(p.grid)
        .light_line_style(TRANSPARENT)
        .draw()
}

/// A plot over `dates` with two value scales: `left` and `right`, each a
/// range and its label formatter (the left in the text colour, the right
/// in the line colour), their label areas `widths` wide.
#[allow(clippy::type_complexity)]
fn two_scales<'a, DB: DrawingBackend>(
    body: &'a DrawingArea<DB, Shift>,
    dates: &[NaiveDate],
    left: (std::ops::Range<f64>, &dyn Fn(&f64) -> String),
    right: (std::ops::Range<f64>, &dyn Fn(&f64) -> String),
    widths: (f64, f64),
    p: &Palette,
    s: &Scale,
) -> Result<DualCoordChartContext<'a, DB, Plane, Plane>, DrawingAreaErrorKind<DB::ErrorType>> {
    let end = x_end(dates.len());
    let long = spans_long(dates);
    let mut chart = ChartBuilder::on(body)
        .x_label_area_size(s.px(50.0))
        .y_label_area_size(s.px(widths.0))
        .right_y_label_area_size(s.px(widths.1))
        .build_cartesian_2d(0f64..end, left.0)?
        .set_secondary_coord(0f64..end, right.0);
    mesh(&mut chart, &|x| date_label(dates, *x, long), left.1, p, s)?;
    right_axis(&mut chart, right.1, p, s)?;
    Ok(chart)
}

/// The right-hand axis of a two-scale plot, labelled in the colour of the
/// line it measures.
fn right_axis<DB: DrawingBackend>(
    chart: &mut DualCoordChartContext<'_, DB, Plane, Plane>,
    y_label: &dyn Fn(&f64) -> String,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    chart
        .configure_secondary_axes()
        .y_labels(6)
        .y_label_formatter(y_label)
        .label_style(s.font(24.0, &p.line))
        .axis_style(p.fg)
        .draw()
}

/// A bare line of closes filling the picture, its peak dotted; a
/// simulated one says "sim" at its right end (a watermark would not be
/// readable this small).
fn sparkline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &Sparkline,
    p: &Palette,
) -> Drawn<DB> {
    let (w, h) = root.dim_in_pixel();
    let pad = 3;
    // A simulated line leaves room on the right for its label.
    let label_room = if c.simulated { 22 } else { pad };
    let area = root.margin(pad, pad, pad, label_room);
    let (lo, hi) = bounds(c.closes.iter().copied(), 0.0);
    let end = x_end(c.closes.len());
    let mut chart = ChartBuilder::on(&area).build_cartesian_2d(0f64..end, lo..hi)?;
    chart.draw_series(LineSeries::new(indexed(&c.closes), p.line.stroke_width(2)))?;
    let peak = c
        .closes
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)));
    if let Some((i, v)) = peak {
        chart.draw_series(std::iter::once(Circle::new(
            (i as f64, *v),
            2,
            p.down.filled(),
        )))?;
    }
    if c.simulated {
        let size = f64::from(h).clamp(10.0, 14.0);
        let label = (FAMILY, size)
            .into_font()
            .color(&p.down)
            .pos(Pos::new(HPos::Right, VPos::Bottom));
        root.draw(&Text::new("sim", (w as i32 - 2, h as i32 - 1), label))?;
    }
    Ok(())
}
