//! `dipwatch orders [--open] [--format table|json]`: the orders Alpaca has
//! (open ones, and today's with `--open` left out), each joined with the
//! journal's record of who placed it through dipwatch (`cli`, a chat id,
//! `web:<id>`).

use std::process::ExitCode;

use serde_json::{Value, json};

use super::table::table;
use super::trading::{refused, service};
use crate::config::AppConfig;
use crate::domain::Order;
use crate::numbers::{qty, usd};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table, newest first.
    Table,
    /// A JSON array of orders, newest first.
    Json,
}

/// `orders` options.
#[derive(Debug, clap::Args)]
pub struct OrdersArgs {
    /// Only orders still working (otherwise today's too).
    #[arg(long)]
    pub open: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// List the orders.
pub async fn run(config: &AppConfig, args: &OrdersArgs) -> anyhow::Result<ExitCode> {
    let trading = match service(config).await? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let lines = match trading.orders(args.open).await {
        Ok(l) => l,
        Err(r) => return Ok(refused(&r)),
    };
    match args.format {
        Format::Json => {
            let all: Vec<Value> = lines
                .iter()
                .map(|l| order_json(&l.order, l.source.as_deref()))
                .collect();
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        Format::Table if lines.is_empty() => println!(
            "No {} orders ({}).",
            if args.open { "open" } else { "open or today's" },
            trading.mode().as_str()
        ),
        Format::Table => {
            let rows: Vec<Vec<String>> = lines
                .iter()
                .map(|l| row(&l.order, l.source.as_deref()))
                .collect();
            print!(
                "{}",
                table(
                    &[
                        "Submitted (UTC)",
                        "Symbol",
                        "Side",
                        "Qty",
                        "Filled",
                        "Limit",
                        "Avg fill",
                        "Status",
                        "Source",
                        "Order id",
                    ],
                    &rows,
                    &[false, false, false, true, true, true, true],
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One order as a table row.
fn row(o: &Order, source: Option<&str>) -> Vec<String> {
    let dash = || "-".to_string();
    vec![
        o.submitted_at
            .map_or_else(dash, |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        o.symbol.to_string(),
        o.side.to_string(),
        o.qty.map_or_else(dash, qty),
        qty(o.filled_qty),
        o.limit_price.map_or_else(dash, usd),
        o.filled_avg_price.map_or_else(dash, usd),
        o.status.to_string(),
        source.unwrap_or("-").to_string(),
        o.id.clone(),
    ]
}

/// One order as the JSON documents of `orders` and `order` write it
/// (decimals as strings, as Alpaca sends them; `source` null for an order
/// placed elsewhere).
pub(super) fn order_json(o: &Order, source: Option<&str>) -> Value {
    json!({
        "id": o.id,
        "client_order_id": o.client_order_id,
        "symbol": o.symbol.to_string(),
        "asset_class": o.asset_class.to_string(),
        "side": o.side,
        "qty": o.qty,
        "notional": o.notional,
        "filled_qty": o.filled_qty,
        "filled_avg_price": o.filled_avg_price,
        "order_type": o.order_type,
        "limit_price": o.limit_price,
        "time_in_force": o.time_in_force,
        "status": o.status,
        "submitted_at": o.submitted_at,
        "updated_at": o.updated_at,
        "filled_at": o.filled_at,
        "source": source,
    })
}
