//! Alert evaluation: 10,000 rules across 1,000 chats against a 1,000-symbol
//! screen (two consecutive simulated sessions), the way a run evaluates
//! them. Target: under 10 ms.
//!
//!   cargo bench --bench alerts

use std::collections::BTreeMap;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use dipwatch::alerts::{Inputs, Rule, RuleKind, RuleState, evaluate};
use dipwatch::domain::{DrawdownRow, Symbol, TradingDays};
use dipwatch::market::calendar::trading_days;
use dipwatch::market::sim::SimMarket;
use dipwatch::screen::{PeakBasis, ScreenParams, screen};

fn screens() -> (Vec<DrawdownRow>, Vec<DrawdownRow>, Vec<Symbol>) {
    let symbols: Vec<Symbol> = (0..1000)
        .map(|i| Symbol::parse(&format!("A{i:04}")).unwrap())
        .collect();
    let d0: NaiveDate = "2026-11-23".parse().unwrap();
    let d1: NaiveDate = "2026-11-24".parse().unwrap();
    let from: NaiveDate = "2026-01-02".parse().unwrap();
    let bars = SimMarket::new(symbols.clone()).bars(&symbols, from, d1);
    let days = TradingDays::new(trading_days(from, d1));
    let p = ScreenParams {
        lookback_days: 180,
        min_history: 30,
        peak_basis: PeakBasis::High,
    };
    let run = |d| {
        screen(
            d,
            bars.iter().map(|b| (&b.symbol, b.bars.as_slice())),
            &days,
            &p,
        )
        .rows
    };
    (run(d0), run(d1), symbols)
}

fn rules(symbols: &[Symbol]) -> Vec<Rule> {
    (0..10_000u64)
        .map(|i| {
            let kind = match i % 10 {
                0..=5 => RuleKind::SymbolBelow {
                    symbol: symbols[(i as usize * 7) % symbols.len()].clone(),
                    level: -10.0 - (i % 50) as f64,
                },
                6 | 7 => RuleKind::Top {
                    n: 1 + (i % 50) as usize,
                },
                8 => RuleKind::Breadth {
                    level: -20.0,
                    count: 50 + (i % 200) as usize,
                },
                _ => RuleKind::Profit,
            };
            Rule {
                id: i + 1,
                chat: (i % 1000) as i64,
                kind,
                paused: false,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (before, after, symbols) = screens();
    let rules = rules(&symbols);
    // States as after a previous evaluation, like a real run sees them.
    let (_, states) = evaluate(
        Inputs {
            previous: None,
            current: &before,
            date: "2026-11-23".parse().unwrap(),
            profit_before: Some(false),
            profit_now: Some(false),
        },
        &rules,
        &BTreeMap::<u64, RuleState>::new(),
    );
    let inputs = Inputs {
        previous: Some(&before),
        current: &after,
        date: "2026-11-24".parse().unwrap(),
        profit_before: Some(false),
        profit_now: Some(true),
    };
    let (notes, _) = evaluate(inputs, &rules, &states);
    let fired: usize = notes.iter().map(|n| n.fired.len()).sum();
    println!(
        "alerts: {} rules, 1,000 chats, {} ranked symbols -> {} messages, {fired} fired rules",
        rules.len(),
        after.len(),
        notes.len()
    );
    c.bench_function("alerts/evaluate_10000_rules_1000_chats", |b| {
        b.iter(|| evaluate(inputs, &rules, &states))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
