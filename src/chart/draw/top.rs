//! The top drawdowns of a screen as horizontal bars, rank 1 at the top.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::super::TopDrawdowns;
use super::{Drawn, Frame, bounds, header};
use crate::numbers::signed_pct;

pub(super) fn top_drawdowns<DB: DrawingBackend>(f: Frame<'_, DB>, c: &TopDrawdowns) -> Drawn<DB> {
    let Frame { head, body, p, s } = f;
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
