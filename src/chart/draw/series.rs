//! The figures over time, one session per x step: a symbol's drawdown and
//! rank, market breadth, portfolio equity and a backtest's curves.

use std::ops::Range;

use chrono::NaiveDate;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::super::backtest::BacktestCurves;
use super::super::{Breadth, BreadthPoint, Equity, RankHistory};
use super::{
    Drawn, Frame, Palette, Plane, Scale, bounds, date_label, header, indexed, mesh, spans_long,
    two_scales, whole, x_end,
};
use crate::numbers::{price, signed_pct, thousands};

pub(super) fn rank_history<DB: DrawingBackend>(f: Frame<'_, DB>, c: &RankHistory) -> Drawn<DB> {
    let Frame { head, body, p, s } = f;
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
    let (lo, _) = bounds(c.points.iter().map(|x| x.drawdown_pct).chain([0.0]), 0.08);
    let top_rank = c.points.iter().map(|x| x.rank).max().unwrap_or(1).max(1) as f64;
    let mut chart = two_scales(
        body,
        &dates,
        (lo..0.0, &|y| signed_pct(*y)),
        (0.0..top_rank * 1.05, &|y| whole(*y)),
        (120.0, 100.0),
        p,
        s,
    )?;
    let drawdowns: Vec<f64> = c.points.iter().map(|x| x.drawdown_pct).collect();
    chart.draw_series(
        AreaSeries::new(indexed(&drawdowns), 0.0, p.down.mix(0.18))
            .border_style(p.down.stroke_width(s.px(3.0))),
    )?;
    let ranks: Vec<f64> = c.points.iter().map(|x| f64::from(x.rank)).collect();
    chart.draw_secondary_series(LineSeries::new(
        indexed(&ranks),
        p.line.stroke_width(s.px(3.0)),
    ))?;
    Ok(())
}

/// The breadth figure's title: the last session's count down 20% or more.
fn breadth_title(c: &Breadth) -> String {
    match c.points.last() {
        Some(b) => format!(
            "Market breadth · {}: {} of {} down 20%+",
            b.date,
            thousands(b.down_20 as u64),
            thousands(b.ranked as u64)
        ),
        None => "Market breadth".to_string(),
    }
}

pub(super) fn breadth<DB: DrawingBackend>(f: Frame<'_, DB>, c: &Breadth) -> Drawn<DB> {
    let Frame { head, body, p, s } = f;
    header(
        head,
        &breadth_title(c),
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
    let most = c.points.iter().map(|x| x.ranked).max().unwrap_or(1).max(1) as f64;
    let (med_lo, _) = bounds(c.points.iter().map(|x| x.median_pct).chain([0.0]), 0.1);
    let mut chart = two_scales(
        body,
        &dates,
        (0.0..most * 1.05, &|y| whole(*y)),
        (med_lo..0.0, &|y| signed_pct(*y)),
        (100.0, 120.0),
        p,
        s,
    )?;
    let width = s.px(3.0);
    let column = |f: fn(&BreadthPoint) -> f64| -> Vec<f64> { c.points.iter().map(f).collect() };
    chart.draw_series(LineSeries::new(
        indexed(&column(|x| x.down_20 as f64)),
        p.second.stroke_width(width),
    ))?;
    chart.draw_series(LineSeries::new(
        indexed(&column(|x| x.down_30 as f64)),
        p.down.stroke_width(width),
    ))?;
    chart.draw_secondary_series(LineSeries::new(
        indexed(&column(|x| x.median_pct)),
        p.line.stroke_width(width),
    ))?;
    Ok(())
}

pub(super) fn equity<DB: DrawingBackend>(f: Frame<'_, DB>, c: &Equity) -> Drawn<DB> {
    let Frame { head, body, p, s } = f;
    let title = match c.values.last() {
        Some(v) => format!("Portfolio equity · {}", price(*v)),
        None => "Portfolio equity".to_string(),
    };
    header(head, &title, &[("equity", p.line)], c.simulated, p, s)?;
    let (lo, hi) = bounds(c.values.iter().copied(), 0.1);
    let mut chart = dated_plane(body, &c.dates, lo..hi, &|y| price(*y), p, s)?;
    chart.draw_series(
        AreaSeries::new(indexed(&c.values), lo, p.line.mix(0.15))
            .border_style(p.line.stroke_width(s.px(3.0))),
    )?;
    Ok(())
}

/// A backtest's two curves: equity (strategy line over the benchmark's),
/// or `underwater`, percent below each one's running peak (the strategy
/// as a filled area down from 0).
pub(super) fn backtest_curves<DB: DrawingBackend>(
    f: Frame<'_, DB>,
    c: &BacktestCurves,
    underwater: bool,
) -> Drawn<DB> {
    let Frame { head, body, p, s } = f;
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
    let values = c.strategy.iter().chain(&c.benchmark_values).copied();
    let (lo, hi) = if underwater {
        (bounds(values.chain([0.0]), 0.08).0, 0.0)
    } else {
        bounds(values, 0.08)
    };
    let value = |y: &f64| {
        if underwater {
            signed_pct(*y)
        } else {
            price(*y)
        }
    };
    let mut chart = dated_plane(body, &c.dates, lo..hi, &value, p, s)?;
    let width = s.px(3.0);
    chart.draw_series(LineSeries::new(
        indexed(&c.benchmark_values),
        p.second.stroke_width(width),
    ))?;
    if underwater {
        chart.draw_series(
            AreaSeries::new(indexed(&c.strategy), 0.0, p.line.mix(0.15))
                .border_style(p.line.stroke_width(width)),
        )?;
    } else {
        chart.draw_series(LineSeries::new(
            indexed(&c.strategy),
            p.line.stroke_width(width),
        ))?;
    }
    Ok(())
}

/// The plot over `dates` (one session per x step) from `y.start` to
/// `y.end`, its grid labelled with the dates and `value`: the frame the
/// equity and backtest curves share (wide value labels for dollar sums).
fn dated_plane<'a, DB: DrawingBackend>(
    body: &'a DrawingArea<DB, Shift>,
    dates: &[NaiveDate],
    y: Range<f64>,
    value: &dyn Fn(&f64) -> String,
    p: &Palette,
    s: &Scale,
) -> Result<ChartContext<'a, DB, Plane>, DrawingAreaErrorKind<DB::ErrorType>> {
    let end = x_end(dates.len());
    let long = spans_long(dates);
    let mut chart = ChartBuilder::on(body)
        .x_label_area_size(s.px(50.0))
        .y_label_area_size(s.px(150.0))
        .build_cartesian_2d(0f64..end, y)?;
    mesh(&mut chart, &|x| date_label(dates, *x, long), value, p, s)?;
    Ok(chart)
}
