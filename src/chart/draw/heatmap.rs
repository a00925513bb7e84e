//! The correlation heatmap: a square of cells coloured on a diverging
//! scale (blue -1, neutral 0, red +1) with the symbols on both axes, each
//! cluster outlined on the diagonal, and the scale as a legend bar.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::super::CorrelationHeatmap;
use super::{Drawn, Frame, Palette, Scale, header};

/// The scale's ends and middle (ColorBrewer's RdBu).
const NEGATIVE: RGBColor = RGBColor(33, 102, 172);
const NEUTRAL: RGBColor = RGBColor(247, 247, 247);
const POSITIVE: RGBColor = RGBColor(178, 24, 43);

/// Cells at least this many pixels wide carry their value as text.
const VALUE_MIN_CELL: u32 = 56;

/// The colour of correlation `r` (clamped to -1..=1; `NaN` is neutral).
pub(in crate::chart) fn color_of(r: f64) -> RGBColor {
    let r = if r.is_nan() { 0.0 } else { r.clamp(-1.0, 1.0) };
    let end = if r < 0.0 { NEGATIVE } else { POSITIVE };
    let t = r.abs();
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(
        mix(NEUTRAL.0, end.0),
        mix(NEUTRAL.1, end.1),
        mix(NEUTRAL.2, end.2),
    )
}

/// Text that reads on a cell of correlation `r`.
fn ink_on(r: f64, p: &Palette) -> RGBColor {
    if r.abs() > 0.55 {
        RGBColor(255, 255, 255)
    } else {
        RGBColor(p.fg.0.min(40), p.fg.1.min(40), p.fg.2.min(40))
    }
}

pub(super) fn heatmap<DB: DrawingBackend>(f: Frame<'_, DB>, c: &CorrelationHeatmap) -> Drawn<DB> {
    let Frame { head, body, p, s } = f;
    let title = if c.truncated() {
        format!(
            "Correlation · the {} largest of {} positions",
            c.symbols.len(),
            c.measured
        )
    } else {
        format!("Correlation · {} positions", c.symbols.len())
    };
    let bet = format!("outlined: one bet (≥ {:.2})", c.cluster_correlation);
    header(
        head,
        &title,
        &[
            ("move together", POSITIVE),
            ("apart", NEGATIVE),
            (bet.as_str(), p.fg),
        ],
        c.simulated,
        p,
        s,
    )?;
    let g = Grid::fit(body, c, p, s);
    cells(body, c, &g, p, s)?;
    symbol_labels(body, c, &g, s)?;
    // Each cluster of two or more: one outlined block on the diagonal.
    let mut start = 0;
    for &size in &c.blocks {
        if size > 1 {
            let (a, b) = (g.at(start), g.at(start + size));
            body.draw(&Rectangle::new(
                [(g.x0 + a, g.y0 + a), (g.x0 + b, g.y0 + b)],
                p.fg.stroke_width(s.px(3.0)),
            ))?;
        }
        start += size;
    }
    let side = g.side as i32;
    body.draw(&Rectangle::new(
        [(g.x0, g.y0), (g.x0 + side, g.y0 + side)],
        p.grid.stroke_width(1),
    ))?;
    legend(body, g.x0 + side + s.px(30.0) as i32, g.y0, g.side, p, s)?;
    body.draw(&Text::new(
        format!(
            "daily returns over {} sessions · positions snapshot {}",
            c.lookback, c.date
        ),
        (g.x0, g.y0 + side + s.px(12.0) as i32),
        s.font(24.0, &p.fg).pos(Pos::new(HPos::Left, VPos::Top)),
    ))?;
    Ok(())
}

/// Where the matrix goes in the plot: square cells as large as the room
/// left by the labels (on the left and above), the legend and the footer.
struct Grid {
    /// The symbols' text style, as tall as a cell allows.
    label: TextStyle<'static>,
    /// The matrix's top-left corner in pixels.
    x0: i32,
    y0: i32,
    /// A cell's side and the matrix's, in pixels.
    cell: u32,
    side: u32,
}

impl Grid {
    fn fit<DB: DrawingBackend>(
        body: &DrawingArea<DB, Shift>,
        c: &CorrelationHeatmap,
        p: &Palette,
        s: &Scale,
    ) -> Self {
        let n = c.symbols.len().max(1);
        let (w, h) = body.dim_in_pixel();
        let legend_w = s.px(150.0);
        let footer = s.px(44.0);
        // Labels: as tall as a cell allows, never above the other figures' axis text.
        let guess = ((w.saturating_sub(legend_w)).min(h) as f64 * 0.8 / n as f64).floor();
        // 14 at the least: plotters writes SVG font sizes / 1.24, so 11 CSS px
        // on a page that shows the figure unscaled.
        let label_px = (guess * 0.62).clamp(14.0, (28.0 * s.0).max(14.0));
        let label = s.font(label_px / s.0, &p.fg);
        let longest = c
            .symbols
            .iter()
            .map(|x| {
                body.estimate_text_size(x.as_str(), &label)
                    .map_or(0, |(tw, _)| tw)
            })
            .max()
            .unwrap_or(0)
            + s.px(12.0);
        let room_w = w.saturating_sub(longest + legend_w);
        let room_h = h.saturating_sub(longest + footer);
        let cell = (room_w.min(room_h) / n as u32).max(4);
        Self {
            label,
            x0: longest as i32,
            y0: longest as i32,
            cell,
            side: cell * n as u32,
        }
    }

    /// The offset of row or column `i` from the matrix's corner.
    fn at(&self, i: usize) -> i32 {
        i as i32 * self.cell as i32
    }
}

/// One coloured cell per pair, its value written when the cell is large
/// enough to read it.
fn cells<DB: DrawingBackend>(
    body: &DrawingArea<DB, Shift>,
    c: &CorrelationHeatmap,
    g: &Grid,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    let cell = g.cell as i32;
    for (i, row) in c.matrix.iter().enumerate() {
        for (j, r) in row.iter().enumerate() {
            let (x, y) = (g.x0 + g.at(j), g.y0 + g.at(i));
            body.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                color_of(*r).filled(),
            ))?;
            if g.cell >= VALUE_MIN_CELL {
                body.draw(&Text::new(
                    format!("{r:.2}"),
                    (x + cell / 2, y + cell / 2),
                    s.font((g.cell as f64 * 0.3).min(26.0 * s.0) / s.0, &ink_on(*r, p))
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
    }
    Ok(())
}

/// Row labels to the left, column labels above, reading upwards.
fn symbol_labels<DB: DrawingBackend>(
    body: &DrawingArea<DB, Shift>,
    c: &CorrelationHeatmap,
    g: &Grid,
    s: &Scale,
) -> Drawn<DB> {
    for (i, sym) in c.symbols.iter().enumerate() {
        let mid = g.at(i) + g.cell as i32 / 2;
        body.draw(&Text::new(
            sym.to_string(),
            (g.x0 - s.px(8.0) as i32, g.y0 + mid),
            g.label.clone().pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        body.draw(&Text::new(
            sym.to_string(),
            (g.x0 + mid, g.y0 - s.px(8.0) as i32),
            g.label
                .clone()
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// The colour scale as a vertical bar from +1 (top) to -1, labelled.
fn legend<DB: DrawingBackend>(
    body: &DrawingArea<DB, Shift>,
    x: i32,
    top: i32,
    height: u32,
    p: &Palette,
    s: &Scale,
) -> Drawn<DB> {
    const STEPS: i32 = 40;
    let bar_w = s.px(28.0) as i32;
    let h = height as i32;
    for k in 0..STEPS {
        let (a, b) = (top + h * k / STEPS, top + h * (k + 1) / STEPS);
        let r = 1.0 - 2.0 * (f64::from(k) + 0.5) / f64::from(STEPS);
        body.draw(&Rectangle::new(
            [(x, a), (x + bar_w, b)],
            color_of(r).filled(),
        ))?;
    }
    body.draw(&Rectangle::new(
        [(x, top), (x + bar_w, top + h)],
        p.grid.stroke_width(1),
    ))?;
    for (r, text) in [
        (1.0, "+1"),
        (0.5, "+0.5"),
        (0.0, "0"),
        (-0.5, "-0.5"),
        (-1.0, "-1"),
    ] {
        let y = top + ((1.0 - r) / 2.0 * f64::from(h)).round() as i32;
        body.draw(&PathElement::new(
            vec![(x + bar_w, y), (x + bar_w + s.px(8.0) as i32, y)],
            p.fg.stroke_width(1),
        ))?;
        body.draw(&Text::new(
            text,
            (x + bar_w + s.px(12.0) as i32, y),
            s.font(22.0, &p.fg).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}
