//! CSV encoding and decoding of the four datasets, header checked exactly.
//! Encoding is deterministic (same rows, same bytes), which makes re-runs
//! byte-identical and lets the manifest's checksums mean something.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::layout::Dataset;
use crate::domain::{Account, AssetClass, AssetSymbol, Bar, Position, Side, Symbol};
use crate::query::DayBars;

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

/// One `positions.csv` row. Money the broker did not send is an empty
/// cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionRecord {
    /// Snapshot date.
    pub date: NaiveDate,
    /// Ticker, OCC option symbol or crypto pair.
    pub symbol: AssetSymbol,
    /// Units.
    pub quantity: Decimal,
    /// Average entry price.
    pub avg_entry_price: Decimal,
    /// Latest price.
    pub current_price: Option<Decimal>,
    /// Return on cost, percent.
    pub unrealized_return_pct: Option<Decimal>,
    /// Market value.
    pub market_value: Option<Decimal>,
    /// Unrealized P&L.
    pub unrealized_pl: Option<Decimal>,
    /// Asset class; absent in a layout v1 row.
    #[serde(default)]
    pub asset_class: Option<AssetClass>,
    /// Long or short; absent in a layout v1 row.
    #[serde(default)]
    pub side: Option<Side>,
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
            asset_class: Some(p.asset_class.clone()),
            side: Some(p.side.clone()),
        }
    }

    /// The position back. A layout v1 row has no class or side: v1 only
    /// ever stored ticker-shaped symbols, as stocks, and the side is what
    /// the sign of the quantity says (Alpaca sends a short's as negative).
    pub fn position(&self) -> Position {
        Position {
            symbol: self.symbol.clone(),
            asset_class: self.asset_class.clone().unwrap_or(AssetClass::UsEquity),
            side: self
                .side
                .clone()
                .unwrap_or(Side::of_quantity(self.quantity)),
            quantity: self.quantity,
            avg_entry_price: self.avg_entry_price,
            current_price: self.current_price,
            unrealized_return_pct: self.unrealized_return_pct,
            market_value: self.market_value,
            unrealized_pl: self.unrealized_pl,
        }
    }
}

/// The `account.csv` row. What the broker did not send (Alpaca stopped
/// sending the day-trading fields in 2026-07) is an empty cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// Snapshot date.
    pub date: NaiveDate,
    /// Equity.
    pub equity: Option<Decimal>,
    /// Cash.
    pub cash: Option<Decimal>,
    /// Buying power.
    pub buying_power: Option<Decimal>,
    /// Status.
    pub status: String,
    /// Currency.
    pub currency: Option<String>,
    /// Equity at the previous close.
    pub last_equity: Option<Decimal>,
    /// Long market value.
    pub long_market_value: Option<Decimal>,
    /// Day trades.
    pub daytrade_count: Option<u32>,
    /// Pattern day trader flag.
    pub pattern_day_trader: Option<bool>,
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

/// Decode a CSV object of `dataset`: the header must be this layout's or
/// the previous one's ([`Dataset::previous_columns`]) exactly, and every
/// row must parse; the first bad row is reported with its line.
pub fn decode<R: DeserializeOwned>(dataset: Dataset, bytes: &[u8]) -> Result<Vec<R>, CsvProblem> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let header = r
        .headers()
        .map_err(|e| CsvProblem(format!("unreadable header: {e}")))?
        .clone();
    let known = |cols: &[&str]| header.iter().eq(cols.iter().copied());
    if !known(dataset.columns()) && !dataset.previous_columns().is_some_and(known) {
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

/// The data rows of a verified object (its header line dropped) in this
/// layout's columns: an object of the previous layout gets the columns it
/// lacks as empty cells (new columns are only ever appended), so an export
/// spanning both is one consistent CSV.
pub(super) fn rows_in_current_layout(
    dataset: Dataset,
    bytes: &[u8],
) -> Result<std::borrow::Cow<'_, [u8]>, CsvProblem> {
    let header_end = bytes.iter().position(|b| *b == b'\n');
    let body = header_end.map_or(&bytes[..0], |i| &bytes[i + 1..]);
    let header = header_end.map_or(bytes, |i| &bytes[..i]);
    let header = std::str::from_utf8(header).unwrap_or("");
    let current = dataset.columns();
    if header.split(',').eq(current.iter().copied()) {
        return Ok(std::borrow::Cow::Borrowed(body));
    }
    let Some(previous) = dataset
        .previous_columns()
        .filter(|p| header.split(',').eq(p.iter().copied()))
    else {
        return Err(CsvProblem(format!(
            "header {header:?} is not the {} header",
            dataset.name()
        )));
    };
    let missing = current.len() - previous.len();
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body);
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(body.len() + body.len() / 8));
    for (i, rec) in r.records().enumerate() {
        let mut rec =
            rec.map_err(|e| CsvProblem(format!("line {}: {}", i + 2, short_csv_error(&e))))?;
        for _ in 0..missing {
            rec.push_field("");
        }
        w.write_record(&rec)
            .map_err(|e| CsvProblem(format!("line {}: {e}", i + 2)))?;
    }
    w.into_inner()
        .map(std::borrow::Cow::Owned)
        .map_err(|e| CsvProblem(e.to_string()))
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

/// Parse one date's `bars.csv` (already verified against its manifest)
/// into [`DayBars`]. The header must be the bars header exactly and every
/// row's date the partition's. A hand-written reader rather than the csv
/// crate's serde path: the lake's own encoder never quotes a bars field
/// (tickers and numbers only), and this path loads years of history.
pub(super) fn parse_bars(
    date: NaiveDate,
    simulated: bool,
    bytes: &[u8],
) -> Result<DayBars, CsvProblem> {
    let text = std::str::from_utf8(bytes).map_err(|e| CsvProblem(format!("not UTF-8: {e}")))?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if header
        .split(',')
        .ne(Dataset::Bars.columns().iter().copied())
    {
        return Err(CsvProblem(format!(
            "header {header:?} is not the bars header {:?}",
            Dataset::Bars.columns()
        )));
    }
    let day = date.to_string();
    let mut out = DayBars::new(date, simulated);
    for (i, line) in lines.enumerate() {
        let at = |what: &str| CsvProblem(format!("line {}: {what}", i + 2));
        let mut f = line.split(',');
        let mut next = || {
            f.next()
                .ok_or_else(|| at("too few fields (truncated or corrupt)"))
        };
        if next()? != day {
            return Err(at(&format!("a row not dated {day}")));
        }
        let ticker = next()?;
        if !Symbol::is_canonical(ticker) {
            return Err(at(&format!(
                "{ticker:?} is not a ticker as dipwatch writes one"
            )));
        }
        let mut values = [0.0; 5];
        for v in &mut values {
            *v = next()?
                .parse()
                .map_err(|_| at("a price or volume that is not a number"))?;
        }
        out.push_text(ticker, values);
    }
    Ok(out)
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
            text.ends_with("2026-11-24,AAPL,3,150.10,180.25,20.0866,540.75,90.45,us_equity,long\n"),
            "{text}"
        );
        let back: Vec<PositionRecord> = decode(Dataset::Positions, &bytes).unwrap();
        assert_eq!(back[0].position(), p);
    }

    #[test]
    fn unknown_money_is_an_empty_cell_and_v1_rows_still_read() {
        let mut p = Position::from_prices(Symbol::parse("X").unwrap(), dec!(-2), dec!(10), dec!(9));
        p.symbol = AssetSymbol::parse("BTC/USD").unwrap();
        p.asset_class = AssetClass::Crypto;
        p.current_price = None;
        p.market_value = None;
        let (bytes, _) = encode(
            Dataset::Positions,
            [PositionRecord::new("2026-11-24".parse().unwrap(), &p)],
        )
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.ends_with("2026-11-24,BTC/USD,-2,10,,10.00,,2,crypto,short\n"),
            "{text}"
        );

        let v1 = "date,symbol,quantity,avg_entry_price,current_price,unrealized_return_pct,market_value,unrealized_pl\n\
                  2026-11-24,MSFT,-3,100,90,10,-270,30\n";
        let back: Vec<PositionRecord> = decode(Dataset::Positions, v1.as_bytes()).unwrap();
        let p = back[0].position();
        assert_eq!((p.asset_class, p.side), (AssetClass::UsEquity, Side::Short));
        assert_eq!(p.market_value, Some(dec!(-270)));
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

    #[test]
    fn a_bars_object_that_does_not_fit_is_refused_with_its_line() {
        let header = Dataset::Bars.columns().join(",");
        let good = format!("{header}\n2026-11-20,AAPL,1,2,0.5,1.5,100,7,1.2\n");
        let parsed = parse_bars("2026-11-20".parse().unwrap(), true, good.as_bytes()).unwrap();
        let rows: Vec<_> = parsed.rows().collect();
        assert_eq!(rows, [("AAPL", [1.0, 2.0, 0.5, 1.5, 100.0])]);
        assert!(parsed.simulated);
        for (text, needle) in [
            ("date,symbol\n".to_string(), "header"),
            (
                format!("{header}\n2026-11-19,AAPL,1,2,0.5,1.5,100,,\n"),
                "line 2: a row not dated",
            ),
            (
                format!("{header}\n2026-11-20,AAPL,1,2\n"),
                "line 2: too few fields",
            ),
            (
                format!("{header}\n2026-11-20,AAPL,1,x,0.5,1.5,100,,\n"),
                "not a number",
            ),
            (
                format!("{header}\n2026-11-20,A&B,1,2,0.5,1.5,100,,\n"),
                "line 2",
            ),
        ] {
            let err =
                parse_bars("2026-11-20".parse().unwrap(), false, text.as_bytes()).unwrap_err();
            assert!(err.0.contains(needle), "{text:?}: {err}");
        }
    }
}
