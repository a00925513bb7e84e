//! CSV encoding and decoding of the four datasets, header checked exactly.
//! Encoding is deterministic (same rows, same bytes), which makes re-runs
//! byte-identical and lets the manifest's checksums mean something.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::layout::Dataset;
use crate::domain::{Account, Bar, Position, Symbol};

/// A CSV object that cannot be read, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CsvProblem(pub String);

/// One `bars.csv` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarRecord {
    /// Bar date.
    pub date: NaiveDate,
    /// Ticker.
    pub symbol: Symbol,
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
    /// Volume.
    pub volume: u64,
    /// Trades, empty when unknown.
    pub trade_count: Option<u64>,
    /// VWAP, empty when unknown.
    pub vwap: Option<f64>,
}

impl BarRecord {
    /// A row from a symbol's bar.
    pub fn new(symbol: &Symbol, b: &Bar) -> Self {
        Self {
            date: b.date,
            symbol: symbol.clone(),
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume,
            trade_count: b.trade_count,
            vwap: b.vwap,
        }
    }

    /// The bar back (symbol split off).
    pub fn bar(&self) -> Bar {
        Bar {
            date: self.date,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            trade_count: self.trade_count,
            vwap: self.vwap,
        }
    }
}

/// One `positions.csv` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionRecord {
    /// Snapshot date.
    pub date: NaiveDate,
    /// Ticker.
    pub symbol: Symbol,
    /// Shares.
    pub quantity: Decimal,
    /// Average entry price.
    pub avg_entry_price: Decimal,
    /// Latest price.
    pub current_price: Decimal,
    /// Return on cost, percent.
    pub unrealized_return_pct: Decimal,
    /// Market value.
    pub market_value: Decimal,
    /// Unrealized P&L.
    pub unrealized_pl: Decimal,
}

impl PositionRecord {
    /// A row from a position.
    pub fn new(date: NaiveDate, p: &Position) -> Self {
        Self {
            date,
            symbol: p.symbol.clone(),
            quantity: p.quantity,
            avg_entry_price: p.avg_entry_price,
            current_price: p.current_price,
            unrealized_return_pct: p.unrealized_return_pct,
            market_value: p.market_value,
            unrealized_pl: p.unrealized_pl,
        }
    }

    /// The position back.
    pub fn position(&self) -> Position {
        Position {
            symbol: self.symbol.clone(),
            quantity: self.quantity,
            avg_entry_price: self.avg_entry_price,
            current_price: self.current_price,
            unrealized_return_pct: self.unrealized_return_pct,
            market_value: self.market_value,
            unrealized_pl: self.unrealized_pl,
        }
    }
}

/// The `account.csv` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// Snapshot date.
    pub date: NaiveDate,
    /// Equity.
    pub equity: Decimal,
    /// Cash.
    pub cash: Decimal,
    /// Buying power.
    pub buying_power: Decimal,
    /// Status.
    pub status: String,
    /// Currency.
    pub currency: String,
    /// Equity at the previous close.
    pub last_equity: Decimal,
    /// Long market value.
    pub long_market_value: Decimal,
    /// Day trades.
    pub daytrade_count: u32,
    /// Pattern day trader flag.
    pub pattern_day_trader: bool,
}

impl AccountRecord {
    /// A row from an account snapshot.
    pub fn new(date: NaiveDate, a: &Account) -> Self {
        Self {
            date,
            equity: a.equity,
            cash: a.cash,
            buying_power: a.buying_power,
            status: a.status.clone(),
            currency: a.currency.clone(),
            last_equity: a.last_equity,
            long_market_value: a.long_market_value,
            daytrade_count: a.daytrade_count,
            pattern_day_trader: a.pattern_day_trader,
        }
    }

    /// The account back.
    pub fn account(&self) -> Account {
        Account {
            equity: self.equity,
            cash: self.cash,
            buying_power: self.buying_power,
            status: self.status.clone(),
            currency: self.currency.clone(),
            last_equity: self.last_equity,
            long_market_value: self.long_market_value,
            daytrade_count: self.daytrade_count,
            pattern_day_trader: self.pattern_day_trader,
        }
    }
}

/// Encode rows of `dataset` as CSV with its header. Returns the bytes and
/// the row count.
pub fn encode<R: Serialize>(
    dataset: Dataset,
    rows: impl IntoIterator<Item = R>,
) -> Result<(Vec<u8>, u64), CsvProblem> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(dataset.columns())
        .map_err(|e| CsvProblem(format!("encode {} header: {e}", dataset.name())))?;
    let mut n = 0u64;
    for row in rows {
        w.serialize(row)
            .map_err(|e| CsvProblem(format!("encode {} row {}: {e}", dataset.name(), n + 1)))?;
        n += 1;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CsvProblem(format!("encode {}: {e}", dataset.name())))?;
    Ok((bytes, n))
}

/// Decode a CSV object of `dataset`: the header must match exactly, and
/// every row must parse; the first bad row is reported with its line.
pub fn decode<R: DeserializeOwned>(dataset: Dataset, bytes: &[u8]) -> Result<Vec<R>, CsvProblem> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let header = r
        .headers()
        .map_err(|e| CsvProblem(format!("unreadable header: {e}")))?
        .clone();
    if header.iter().ne(dataset.columns().iter().copied()) {
        return Err(CsvProblem(format!(
            "header {:?} is not the {} header {:?}",
            header.iter().collect::<Vec<_>>(),
            dataset.name(),
            dataset.columns()
        )));
    }
    let mut rows = Vec::new();
    for (i, rec) in r.deserialize::<R>().enumerate() {
        rows.push(rec.map_err(|e| CsvProblem(format!("line {}: {}", i + 2, short_csv_error(&e))))?);
    }
    Ok(rows)
}

/// The csv crate's message without its position prefix (we add the line).
fn short_csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(f) => format!("field {}: {}", f + 1, err.kind()),
            None => err.kind().to_string(),
        },
        csv::ErrorKind::UnequalLengths {
            len, expected_len, ..
        } => {
            format!("{len} fields where {expected_len} were expected (truncated or corrupt)")
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DrawdownRow;
    use rust_decimal::dec;

    fn dd() -> DrawdownRow {
        DrawdownRow {
            date: "2026-11-24".parse().unwrap(),
            symbol: Symbol::parse("BF.B").unwrap(),
            current_price: 31.5,
            peak_price: 45.0,
            peak_date: "2026-06-01".parse().unwrap(),
            drawdown_pct: -30.0,
            days_since_peak: 120,
            volume: 1_234_567,
            rank: 1,
        }
    }

    #[test]
    fn drawdowns_round_trip_and_are_deterministic() {
        let (a, n) = encode(Dataset::Drawdowns, [dd()]).unwrap();
        let (b, _) = encode(Dataset::Drawdowns, [dd()]).unwrap();
        assert_eq!(a, b);
        assert_eq!(n, 1);
        let text = String::from_utf8(a.clone()).unwrap();
        assert_eq!(
            text,
            "date,symbol,current_price,peak_price,peak_date,drawdown_pct,days_since_peak,volume,rank\n\
             2026-11-24,BF.B,31.5,45.0,2026-06-01,-30.0,120,1234567,1\n"
        );
        let back: Vec<DrawdownRow> = decode(Dataset::Drawdowns, &a).unwrap();
        assert_eq!(back, vec![dd()]);
    }

    #[test]
    fn positions_keep_exact_decimals() {
        let p = Position::from_prices(
            Symbol::parse("AAPL").unwrap(),
            dec!(3),
            dec!(150.10),
            dec!(180.25),
        );
        let (bytes, _) = encode(
            Dataset::Positions,
            [PositionRecord::new("2026-11-24".parse().unwrap(), &p)],
        )
        .unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.ends_with("2026-11-24,AAPL,3,150.10,180.25,20.0866,540.75,90.45\n"),
            "{text}"
        );
        let back: Vec<PositionRecord> = decode(Dataset::Positions, &bytes).unwrap();
        assert_eq!(back[0].position(), p);
    }

    #[test]
    fn bars_leave_unknown_fields_empty() {
        let b = Bar {
            date: "2026-11-24".parse().unwrap(),
            open: 10.0,
            high: 11.0,
            low: 9.5,
            close: 10.5,
            volume: 100,
            trade_count: None,
            vwap: None,
        };
        let sym = Symbol::parse("X").unwrap();
        let (bytes, _) = encode(Dataset::Bars, [BarRecord::new(&sym, &b)]).unwrap();
        assert!(
            String::from_utf8(bytes.clone())
                .unwrap()
                .ends_with("2026-11-24,X,10.0,11.0,9.5,10.5,100,,\n")
        );
        let back: Vec<BarRecord> = decode(Dataset::Bars, &bytes).unwrap();
        assert_eq!(back[0].bar(), b);
    }

    #[test]
    fn corrupt_input_is_reported_with_the_line() {
        let (good, _) = encode(Dataset::Drawdowns, [dd(), dd()]).unwrap();
        let truncated = &good[..good.len() - 20];
        let err = decode::<DrawdownRow>(Dataset::Drawdowns, truncated).unwrap_err();
        assert!(err.0.starts_with("line 3:"), "{err}");

        let wrong_header = b"date,ticker\n2026-01-01,X\n";
        let err = decode::<DrawdownRow>(Dataset::Drawdowns, wrong_header).unwrap_err();
        assert!(err.0.contains("is not the drawdowns header"), "{err}");

        let garbage = b"\xff\xfe\x00binary";
        assert!(decode::<DrawdownRow>(Dataset::Drawdowns, garbage).is_err());

        let bad_value = String::from_utf8(good).unwrap().replacen("31.5", "abc", 1);
        let err = decode::<DrawdownRow>(Dataset::Drawdowns, bad_value.as_bytes()).unwrap_err();
        assert!(err.0.starts_with("line 2: field 3"), "{err}");
    }
}
