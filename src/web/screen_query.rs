//! `/screen`'s query (and `/screen.csv`'s): the filters, sort and page a
//! reader picks, which rows they select, and the links and sortable column
//! headers that carry them from page to page.

use maud::{Markup, html};

use crate::domain::DrawdownRow;

/// What `/screen` sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    /// The screen's rank (deepest drawdown first).
    #[default]
    Rank,
    /// Drawdown, percent.
    Drawdown,
    /// Sessions since the peak.
    Days,
    /// Ticker.
    Symbol,
}

impl SortKey {
    /// Every key with its query value and the label the sort form shows.
    pub(super) const ALL: [(SortKey, &'static str, &'static str); 4] = [
        (SortKey::Rank, "rank", "rank"),
        (SortKey::Drawdown, "drawdown", "drawdown"),
        (SortKey::Days, "days", "days since peak"),
        (SortKey::Symbol, "symbol", "symbol"),
    ];

    fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|k| k.0 == self)
            .map_or("rank", |k| k.1)
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// Smallest first (for rank and drawdown: the deepest first).
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// `/screen`'s query (and `/screen.csv`'s): filters, sort and page. An
/// empty field (a form submitted with a box left blank) is no filter; a
/// value that is not a number is a 400 that names the field.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ScreenQuery {
    /// Only rows down at least this much from their peak, percent: `20`
    /// and `-20` both mean 20% or more below it.
    #[serde(default, deserialize_with = "blank_is_none")]
    pub min_drawdown: Option<f64>,
    /// Only rows at least this many sessions past their peak.
    #[serde(default, deserialize_with = "blank_is_none")]
    pub min_days: Option<u32>,
    /// Sort key (rank by default).
    #[serde(default)]
    pub sort: SortKey,
    /// Direction (ascending by default).
    #[serde(default)]
    pub dir: Dir,
    /// 1-based page.
    #[serde(default, deserialize_with = "blank_is_none")]
    pub page: Option<usize>,
}

/// A query field: blank is absent, anything else must parse.
fn blank_is_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
{
    let raw: Option<String> = serde::Deserialize::deserialize(d)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("{} is not a number", crate::echo::quoted(v)))
        }),
    }
}

impl ScreenQuery {
    /// The rows this query selects, in its order. Ties keep the rank
    /// order (the sort is stable), so pages never shuffle.
    pub fn select<'a>(&self, rows: &'a [DrawdownRow]) -> Vec<&'a DrawdownRow> {
        let floor = self.min_drawdown.map(|m| -m.abs());
        let mut out: Vec<&DrawdownRow> = rows
            .iter()
            .filter(|r| floor.is_none_or(|f| r.drawdown_pct <= f))
            .filter(|r| self.min_days.is_none_or(|d| r.days_since_peak >= d))
            .collect();
        out.sort_by_key(|r| r.rank);
        match self.sort {
            SortKey::Rank => {}
            SortKey::Drawdown => out.sort_by(|a, b| a.drawdown_pct.total_cmp(&b.drawdown_pct)),
            SortKey::Days => out.sort_by_key(|r| r.days_since_peak),
            SortKey::Symbol => out.sort_by(|a, b| a.symbol.cmp(&b.symbol)),
        }
        if self.dir == Dir::Desc {
            out.reverse();
        }
        out
    }

    /// This query's string with `page` and the sort given.
    fn query(&self, page: usize, sort: SortKey, dir: Dir) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(m) = self.min_drawdown {
            q.append_pair("min_drawdown", &m.abs().to_string());
        }
        if let Some(d) = self.min_days {
            q.append_pair("min_days", &d.to_string());
        }
        q.append_pair("sort", sort.as_str());
        q.append_pair("dir", if dir == Dir::Desc { "desc" } else { "asc" });
        q.append_pair("page", &page.to_string());
        q.finish()
    }

    /// This query's string with another page.
    pub(super) fn with_page(&self, page: usize) -> String {
        self.query(page, self.sort, self.dir)
    }

    /// The link of a column header: sort by `key` from page 1, the other
    /// way round when it is already sorted by it.
    fn sorted_by(&self, key: SortKey) -> String {
        let dir = match (self.sort == key, self.dir) {
            (true, Dir::Asc) => Dir::Desc,
            _ => Dir::Asc,
        };
        self.query(1, key, dir)
    }

    /// A header cell that sorts by `key`, with an arrow when it does.
    fn sort_header(&self, key: SortKey, label: &str, num: bool) -> Markup {
        self.sort_header_classed(key, label, num, false)
    }

    /// [`ScreenQuery::sort_header`] for a column dropped on a phone when
    /// `wide` is set.
    fn sort_header_classed(&self, key: SortKey, label: &str, num: bool, wide: bool) -> Markup {
        let arrow = match (self.sort == key, self.dir) {
            (false, _) => "",
            (true, Dir::Asc) => " ▲",
            (true, Dir::Desc) => " ▼",
        };
        let sort = if self.sort == key {
            if self.dir == Dir::Asc {
                "ascending"
            } else {
                "descending"
            }
        } else {
            "none"
        };
        html! {
            th.num[num].wide[wide] aria-sort=(sort) {
                a href={ "/screen?" (self.sorted_by(key)) } { (label) (arrow) }
            }
        }
    }

    /// The ranking's header row with sort links.
    pub(super) fn head(&self) -> Markup {
        html! {
            tr {
                (self.sort_header(SortKey::Rank, "Rank", true))
                (self.sort_header(SortKey::Symbol, "Symbol", false))
                (self.sort_header(SortKey::Drawdown, "Drawdown", true))
                th.num.wide { "Price" } th.num { "Peak" } th.num.wide { "Peak date" }
                (self.sort_header_classed(SortKey::Days, "Days", true, true))
                th.wide { "Chart" }
            }
        }
    }
}
