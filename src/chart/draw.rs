//! The figures drawn with `plotters`, on any backend (bitmap or SVG).
//! Every figure has a header (title, legend, and the simulated-prices
//! label when it applies) and a plot; sessions are spaced evenly on the x
//! axis (no weekend gaps) and labelled with their dates.

use chrono::NaiveDate;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::backtest::BacktestCurves;
use super::font::FAMILY;
use super::{
    Breadth, Equity, Figure, Period, PriceChart, RankHistory, Sparkline, Theme, TopDrawdowns,
};
use crate::numbers::{price, signed_pct, thousands};

pub(super) mod heatmap;

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
    match fig {
        Figure::Price(c) => price_chart(&head, &body, c, &p, &s)?,
        Figure::RankHistory(c) => rank_history(&head, &body, c, &p, &s)?,
        Figure::Breadth(c) => breadth(&head, &body, c, &p, &s)?,
        Figure::Equity(c) => equity(&head, &body, c, &p, &s)?,
        Figure::TopDrawdowns(c) => top_drawdowns(&head, &body, c, &p, &s)?,
        Figure::BacktestEquity(c) => backtest_curves(&head, &body, c, false, &p, &s)?,
        Figure::BacktestDrawdown(c) => backtest_curves(&head, &body, c, true, &p, &s)?,
        Figure::Correlation(c) => heatmap::heatmap(&head, &body, c, &p, &s)?,
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

fn price_chart<DB: DrawingBackend>(
    head: &DrawingArea<DB, Shift>,
    body: &DrawingArea<DB, Shift>,
    c: &PriceChart,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    let held = if c.short {
        format!(
            "{} (all {} sessions held)",
            c.period.as_str(),
            c.dates.len()
        )
    } else {
        c.period.as_str().to_string()
    };
    let title = match &c.marks {
        Ok(m) => format!(
            "{} · {held} · {} from peak",
            c.symbol,
            signed_pct(m.drawdown_pct)
        ),
        Err(_) => format!("{} · {held}", c.symbol),
    };
    header(
        head,
        &title,
        &[
            ("close", p.line),
            ("lookback window", p.window),
            ("fall from peak", p.down),
        ],
        c.simulated,
        p,
        s,
    )?;
    let extra = c.marks.iter().flat_map(|m| [m.peak_price, m.last_price]);
    let (lo, hi) = bounds(c.closes.iter().copied().chain(extra), 0.08);
    let end = x_end(c.dates.len());
    let long = spans_long(&c.dates) || c.period == Period::Y5;
    let mut chart = ChartBuilder::on(body)
        .x_label_area_size(s.px(50.0))
        .y_label_area_size(s.px(120.0))
        .build_cartesian_2d(0f64..end, lo..hi)?;
    // The window first, under everything else.
    if let Ok(m) = &c.marks {
        let ws = x_of(&c.dates, m.window_start);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(ws, lo), (end, hi)],
            p.window.filled(),
        )))?;
    }
    let dates = &c.dates;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|x| date_label(dates, *x, long))
        .y_label_formatter(&|y| price(*y))
        .label_style(s.font(24.0, &p.fg))
        .axis_style(p.fg)
        .bold_line_style(p.grid)
        .light_line_style(TRANSPARENT)
        .draw()?;
    chart.draw_series(LineSeries::new(
        c.closes.iter().enumerate().map(|(i, v)| (i as f64, *v)),
        p.line.stroke_width(s.px(3.0)),
    ))?;
    match &c.marks {
        Ok(m) => {
            let before = c.dates.first().is_some_and(|f| m.peak_date < *f);
            let px = x_of(&c.dates, m.peak_date);
            let lx = x_of(&c.dates, m.last_date);
            let fall = p.down.stroke_width(s.px(3.0));
            // The peak's level to now, then the fall itself.
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(px, m.peak_price), (lx, m.peak_price)],
                p.down.mix(0.6).stroke_width(s.px(2.0)),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(lx, m.peak_price), (lx, m.last_price)],
                fall,
            )))?;
            let dot = s.px(8.0);
            chart.draw_series([
                Circle::new((px, m.peak_price), dot, p.down.filled()),
                Circle::new((lx, m.last_price), dot, p.line.filled()),
            ])?;
            let full = format!("peak {} on {}", price(m.peak_price), m.peak_date);
            let mut labels = vec![full.clone(), format!("peak {}", price(m.peak_price))];
            if before {
                labels.insert(0, format!("{full} (before this period)"));
            }
            let preferred = if px > end * 0.6 {
                HPos::Right
            } else {
                HPos::Left
            };
            // The longest note that stays inside the plot, on the side
            // it fits (a phone-sized picture has room for less).
            let style = s.font(26.0, &p.fg);
            let area = chart.plotting_area();
            let widths: Vec<(String, i32)> = labels
                .into_iter()
                .map(|t| {
                    let w = area.estimate_text_size(&t, &style).map_or(0, |(w, _)| w);
                    (t, i32::try_from(w).unwrap_or(i32::MAX))
                })
                .collect();
            let x = chart.backend_coord(&(px, m.peak_price)).0;
            let (on, h) = place_label(x, area.get_pixel_range().0, widths, preferred);
            chart.draw_series(std::iter::once(Text::new(
                on,
                (px, m.peak_price + (hi - lo) * 0.015),
                style.pos(Pos::new(h, VPos::Bottom)),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("{}  ", signed_pct(m.drawdown_pct)),
                (lx, (m.peak_price + m.last_price) / 2.0),
                s.font(34.0, &p.down)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("now {}  ", price(m.last_price)),
                (lx, m.last_price - (hi - lo) * 0.02),
                s.font(24.0, &p.fg).pos(Pos::new(HPos::Right, VPos::Top)),
            )))?;
        }
        Err(reason) => {
            chart.draw_series(std::iter::once(Text::new(
                format!("not ranked: {reason}"),
                (0.0, hi),
                s.font(26.0, &p.down).pos(Pos::new(HPos::Left, VPos::Top)),
            )))?;
        }
    }
    Ok(())
}

fn rank_history<DB: DrawingBackend>(
    head: &DrawingArea<DB, Shift>,
    body: &DrawingArea<DB, Shift>,
    c: &RankHistory,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    header(
        head,
        &format!(
            "{} · drawdown and rank, {} screens",
            c.symbol,
            c.points.len()
        ),
        &[
            ("drawdown (left)", p.down),
            ("rank (right, 1 = deepest)", p.line),
        ],
        c.simulated,
        p,
        s,
    )?;
    let dates: Vec<NaiveDate> = c.points.iter().map(|x| x.date).collect();
    let end = x_end(dates.len());
    let (lo, _) = bounds(c.points.iter().map(|x| x.drawdown_pct).chain([0.0]), 0.08);
    let top_rank = c.points.iter().map(|x| x.rank).max().unwrap_or(1).max(1) as f64;
    let long = spans_long(&dates);
    let mut chart = ChartBuilder::on(body)
        .x_label_area_size(s.px(50.0))
        .y_label_area_size(s.px(120.0))
        .right_y_label_area_size(s.px(100.0))
        .build_cartesian_2d(0f64..end, lo..0.0)?
        .set_secondary_coord(0f64..end, 0.0..top_rank * 1.05);
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|x| date_label(&dates, *x, long))
        .y_label_formatter(&|y| signed_pct(*y))
        .label_style(s.font(24.0, &p.fg))
        .axis_style(p.fg)
        .bold_line_style(p.grid)
        .light_line_style(TRANSPARENT)
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_labels(6)
        .y_label_formatter(&|y| whole(*y))
        .label_style(s.font(24.0, &p.line))
        .axis_style(p.fg)
        .draw()?;
    chart.draw_series(
        AreaSeries::new(
            c.points
                .iter()
                .enumerate()
                .map(|(i, x)| (i as f64, x.drawdown_pct)),
            0.0,
            p.down.mix(0.18),
        )
        .border_style(p.down.stroke_width(s.px(3.0))),
    )?;
    chart.draw_secondary_series(LineSeries::new(
        c.points
            .iter()
            .enumerate()
            .map(|(i, x)| (i as f64, f64::from(x.rank))),
        p.line.stroke_width(s.px(3.0)),
    ))?;
    Ok(())
}

fn breadth<DB: DrawingBackend>(
    head: &DrawingArea<DB, Shift>,
    body: &DrawingArea<DB, Shift>,
    c: &Breadth,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    let last = c.points.last();
    let title = match last {
        Some(b) => format!(
            "Market breadth · {}: {} of {} down 20%+",
            b.date,
            thousands(b.down_20 as u64),
            thousands(b.ranked as u64)
        ),
        None => "Market breadth".to_string(),
    };
    header(
        head,
        &title,
        &[
            ("down 20%+ (left)", p.second),
            ("down 30%+ (left)", p.down),
            ("median drawdown (right)", p.line),
        ],
        c.simulated,
        p,
        s,
    )?;
    let dates: Vec<NaiveDate> = c.points.iter().map(|x| x.date).collect();
    let end = x_end(dates.len());
    let most = c.points.iter().map(|x| x.ranked).max().unwrap_or(1).max(1) as f64;
    let (med_lo, _) = bounds(c.points.iter().map(|x| x.median_pct).chain([0.0]), 0.1);
    let long = spans_long(&dates);
    let mut chart = ChartBuilder::on(body)
        .x_label_area_size(s.px(50.0))
        .y_label_area_size(s.px(100.0))
        .right_y_label_area_size(s.px(120.0))
        .build_cartesian_2d(0f64..end, 0.0..most * 1.05)?
        .set_secondary_coord(0f64..end, med_lo..0.0);
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|x| date_label(&dates, *x, long))
        .y_label_formatter(&|y| whole(*y))
        .label_style(s.font(24.0, &p.fg))
        .axis_style(p.fg)
        .bold_line_style(p.grid)
        .light_line_style(TRANSPARENT)
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_labels(6)
        .y_label_formatter(&|y| signed_pct(*y))
        .label_style(s.font(24.0, &p.line))
        .axis_style(p.fg)
        .draw()?;
    let width = s.px(3.0);
    chart.draw_series(LineSeries::new(
        c.points
            .iter()
            .enumerate()
            .map(|(i, x)| (i as f64, x.down_20 as f64)),
        p.second.stroke_width(width),
    ))?;
    chart.draw_series(LineSeries::new(
        c.points
            .iter()
            .enumerate()
            .map(|(i, x)| (i as f64, x.down_30 as f64)),
        p.down.stroke_width(width),
    ))?;
    chart.draw_secondary_series(LineSeries::new(
        c.points
            .iter()
            .enumerate()
            .map(|(i, x)| (i as f64, x.median_pct)),
        p.line.stroke_width(width),
    ))?;
    Ok(())
}

fn equity<DB: DrawingBackend>(
    head: &DrawingArea<DB, Shift>,
    body: &DrawingArea<DB, Shift>,
    c: &Equity,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    let title = match c.values.last() {
        Some(v) => format!("Portfolio equity · {}", price(*v)),
        None => "Portfolio equity".to_string(),
    };
    header(head, &title, &[("equity", p.line)], c.simulated, p, s)?;
    let end = x_end(c.dates.len());
    let (lo, hi) = bounds(c.values.iter().copied(), 0.1);
    let long = spans_long(&c.dates);
    let dates = &c.dates;
    let mut chart = ChartBuilder::on(body)
        .x_label_area_size(s.px(50.0))
        .y_label_area_size(s.px(150.0))
        .build_cartesian_2d(0f64..end, lo..hi)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|x| date_label(dates, *x, long))
        .y_label_formatter(&|y| price(*y))
        .label_style(s.font(24.0, &p.fg))
        .axis_style(p.fg)
        .bold_line_style(p.grid)
        .light_line_style(TRANSPARENT)
        .draw()?;
    chart.draw_series(
        AreaSeries::new(
            c.values.iter().enumerate().map(|(i, v)| (i as f64, *v)),
            lo,
            p.line.mix(0.15),
        )
        .border_style(p.line.stroke_width(s.px(3.0))),
    )?;
    Ok(())
}

fn top_drawdowns<DB: DrawingBackend>(
    head: &DrawingArea<DB, Shift>,
    body: &DrawingArea<DB, Shift>,
    c: &TopDrawdowns,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    header(
        head,
        &format!("Top {} drawdowns · screen {}", c.bars.len(), c.date),
        &[("drawdown from peak", p.down)],
        c.simulated,
        p,
        s,
    )?;
    let n = c.bars.len().max(1);
    let (lo, _) = bounds(c.bars.iter().map(|b| b.1).chain([0.0]), 0.2);
    let names: Vec<String> = c.bars.iter().map(|b| b.0.to_string()).collect();
    // Rank 1 at the top: bar i sits at y = n - 1 - i.
    let name_at = |y: f64| {
        let i = n as f64 - 1.0 - y.round();
        if i < 0.0 {
            String::new()
        } else {
            names.get(i as usize).cloned().unwrap_or_default()
        }
    };
    let mut chart = ChartBuilder::on(body)
        .x_label_area_size(s.px(50.0))
        .y_label_area_size(s.px(130.0))
        .build_cartesian_2d(lo..0.0, -0.5..n as f64 - 0.5)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(n)
        .x_label_formatter(&|x| signed_pct(*x))
        .y_label_formatter(&|y| name_at(*y))
        .label_style(s.font(24.0, &p.fg))
        .axis_style(p.fg)
        .bold_line_style(p.grid)
        .light_line_style(TRANSPARENT)
        .disable_y_mesh()
        .draw()?;
    chart.draw_series(c.bars.iter().enumerate().map(|(i, (_, dd))| {
        let y = (n - 1 - i) as f64;
        Rectangle::new([(*dd, y - 0.35), (0.0, y + 0.35)], p.down.filled())
    }))?;
    chart.draw_series(c.bars.iter().enumerate().map(|(i, (_, dd))| {
        let y = (n - 1 - i) as f64;
        Text::new(
            format!(" {}", signed_pct(*dd)),
            (*dd, y),
            s.font(22.0, &p.fg).pos(Pos::new(HPos::Right, VPos::Center)),
        )
    }))?;
    Ok(())
}

/// A backtest's two curves: equity (strategy line over the benchmark's),
/// or `underwater`, percent below each one's running peak (the strategy
/// as a filled area down from 0).
fn backtest_curves<DB: DrawingBackend>(
    head: &DrawingArea<DB, Shift>,
    body: &DrawingArea<DB, Shift>,
    c: &BacktestCurves,
    underwater: bool,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    let what = if underwater { "drawdown" } else { "equity" };
    let mut title = format!("Backtest {} · {what} vs {}", c.id, c.benchmark);
    if c.optimistic {
        title.push_str(" · OPTIMISTIC fills");
    }
    header(
        head,
        &title,
        &[("strategy", p.line), (c.benchmark.as_str(), p.second)],
        c.simulated,
        p,
        s,
    )?;
    let end = x_end(c.dates.len());
    let values = c.strategy.iter().chain(&c.benchmark_values).copied();
    let (lo, hi) = if underwater {
        (bounds(values.chain([0.0]), 0.08).0, 0.0)
    } else {
        bounds(values, 0.08)
    };
    let long = spans_long(&c.dates);
    let dates = &c.dates;
    let mut chart = ChartBuilder::on(body)
        .x_label_area_size(s.px(50.0))
        .y_label_area_size(s.px(150.0))
        .build_cartesian_2d(0f64..end, lo..hi)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|x| date_label(dates, *x, long))
        .y_label_formatter(&|y| {
            if underwater {
                signed_pct(*y)
            } else {
                price(*y)
            }
        })
        .label_style(s.font(24.0, &p.fg))
        .axis_style(p.fg)
        .bold_line_style(p.grid)
        .light_line_style(TRANSPARENT)
        .draw()?;
    let points = |v: &[f64]| -> Vec<(f64, f64)> {
        v.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect()
    };
    let width = s.px(3.0);
    chart.draw_series(LineSeries::new(
        points(&c.benchmark_values),
        p.second.stroke_width(width),
    ))?;
    if underwater {
        chart.draw_series(
            AreaSeries::new(points(&c.strategy), 0.0, p.line.mix(0.15))
                .border_style(p.line.stroke_width(width)),
        )?;
    } else {
        chart.draw_series(LineSeries::new(
            points(&c.strategy),
            p.line.stroke_width(width),
        ))?;
    }
    Ok(())
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
    chart.draw_series(LineSeries::new(
        c.closes.iter().enumerate().map(|(i, v)| (i as f64, *v)),
        p.line.stroke_width(2),
    ))?;
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

/// Which of `labels` (longest first, with their widths in pixels) to write
/// at pixel `x`, and on which side of it: the first that fits inside
/// `range` on the `preferred` side, else on the other; the last (shortest)
/// on the side with more room when none fits.
fn place_label(
    x: i32,
    range: std::ops::Range<i32>,
    labels: Vec<(String, i32)>,
    preferred: HPos,
) -> (String, HPos) {
    let fits = |w: i32, h: HPos| match h {
        HPos::Right => x - w >= range.start,
        _ => x + w <= range.end,
    };
    let other = if matches!(preferred, HPos::Right) {
        HPos::Left
    } else {
        HPos::Right
    };
    let roomier = if range.end - x >= x - range.start {
        HPos::Left
    } else {
        HPos::Right
    };
    let mut last = None;
    for (text, w) in labels {
        for h in [preferred, other] {
            if fits(w, h) {
                return (text, h);
            }
        }
        last = Some(text);
    }
    (last.unwrap_or_default(), roomier)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The placement as text: plotters' `HPos` has no `Debug` or `==`.
    fn at(x: i32, range: std::ops::Range<i32>, preferred: HPos) -> (String, &'static str) {
        let (text, h) = place_label(x, range, labels(), preferred);
        let side = match h {
            HPos::Left => "left",
            HPos::Right => "right",
            HPos::Center => "center",
        };
        (text, side)
    }

    fn labels() -> Vec<(String, i32)> {
        vec![
            ("long".into(), 300),
            ("mid".into(), 150),
            ("short".into(), 60),
        ]
    }

    #[test]
    fn a_label_keeps_its_side_when_it_fits() {
        assert_eq!(at(100, 0..1000, HPos::Left), ("long".to_string(), "left"));
        assert_eq!(at(900, 0..1000, HPos::Right), ("long".to_string(), "right"));
    }

    #[test]
    fn a_label_moves_side_then_shortens_to_stay_inside_the_plot() {
        // 320 px of plot: the long note fits on neither side of x = 100,
        // the middle one to the left's right (100 + 150 <= 320).
        assert_eq!(at(100, 0..320, HPos::Left), ("mid".to_string(), "left"));
        // At x = 250 only the left side has room for the middle one.
        assert_eq!(at(250, 0..320, HPos::Left), ("mid".to_string(), "right"));
        // Nothing fits: the shortest, on the roomier side.
        assert_eq!(at(20, 0..50, HPos::Right), ("short".to_string(), "left"));
    }
}
