//! The price chart: a symbol's closes over the period, its lookback
//! window, the peak, and the fall from it to the last close.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::super::{PeakMarks, Period, PriceChart};
use super::{
    Drawn, Frame, Palette, Plane, Scale, bounds, date_label, header, indexed, mesh, spans_long,
    x_end, x_of,
};
use crate::numbers::{price, signed_pct};

/// The title: the symbol, the period (and how much of it is held) and,
/// when it is ranked, its fall from the peak.
fn title(c: &PriceChart) -> String {
    let held = if c.short {
        format!(
            "{} (all {} sessions held)",
            c.period.as_str(),
            c.dates.len()
        )
    } else {
        c.period.as_str().to_string()
    };
    match &c.marks {
        Ok(m) => format!(
            "{} · {held} · {} from peak",
            c.symbol,
            signed_pct(m.drawdown_pct)
        ),
        Err(_) => format!("{} · {held}", c.symbol),
    }
}

pub(super) fn price_chart<DB: DrawingBackend>(f: Frame<'_, DB>, c: &PriceChart) -> Drawn<DB> {
    let Frame { head, body, p, s } = f;
    header(
        head,
        &title(c),
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
    mesh(
        &mut chart,
        &|x| date_label(dates, *x, long),
        &|y| price(*y),
        p,
        s,
    )?;
    chart.draw_series(LineSeries::new(
        indexed(&c.closes),
        p.line.stroke_width(s.px(3.0)),
    ))?;
    match &c.marks {
        Ok(m) => {
            let k = Marking {
                c,
                m,
                span: hi - lo,
                p,
                s,
            };
            marks(&mut chart, &k)
        }
        Err(reason) => {
            chart.draw_series(std::iter::once(Text::new(
                format!("not ranked: {reason}"),
                (0.0, hi),
                s.font(26.0, &p.down).pos(Pos::new(HPos::Left, VPos::Top)),
            )))?;
            Ok(())
        }
    }
}

/// What the peak's marks are drawn from: the chart, its marks, the y
/// axis's height in prices (`span`), the colours and the scale.
#[derive(Clone, Copy)]
struct Marking<'a> {
    c: &'a PriceChart,
    m: &'a PeakMarks,
    span: f64,
    p: &'a Palette,
    s: &'a Scale,
}

/// The peak's level to now, the fall itself, their dots and notes.
fn marks<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Plane>,
    k: &Marking<'_>,
) -> Drawn<DB> {
    let Marking { c, m, span, p, s } = *k;
    let px = x_of(&c.dates, m.peak_date);
    let lx = x_of(&c.dates, m.last_date);
    let fall = p.down.stroke_width(s.px(3.0));
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
    peak_note(chart, k)?;
    chart.draw_series(std::iter::once(Text::new(
        format!("{}  ", signed_pct(m.drawdown_pct)),
        (lx, (m.peak_price + m.last_price) / 2.0),
        s.font(34.0, &p.down)
            .pos(Pos::new(HPos::Right, VPos::Center)),
    )))?;
    chart.draw_series(std::iter::once(Text::new(
        format!("now {}  ", price(m.last_price)),
        (lx, m.last_price - span * 0.02),
        s.font(24.0, &p.fg).pos(Pos::new(HPos::Right, VPos::Top)),
    )))?;
    Ok(())
}

/// The note over the peak: the longest that stays inside the plot, on the
/// side it fits (a phone-sized picture has room for less).
fn peak_note<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Plane>,
    k: &Marking<'_>,
) -> Drawn<DB> {
    let Marking { c, m, span, p, s } = *k;
    let before = c.dates.first().is_some_and(|f| m.peak_date < *f);
    let px = x_of(&c.dates, m.peak_date);
    let full = format!("peak {} on {}", price(m.peak_price), m.peak_date);
    let mut labels = vec![full.clone(), format!("peak {}", price(m.peak_price))];
    if before {
        labels.insert(0, format!("{full} (before this period)"));
    }
    let preferred = if px > x_end(c.dates.len()) * 0.6 {
        HPos::Right
    } else {
        HPos::Left
    };
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
        (px, m.peak_price + span * 0.015),
        style.pos(Pos::new(h, VPos::Bottom)),
    )))?;
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
