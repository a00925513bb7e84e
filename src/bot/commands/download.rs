//! `/download [drawdowns|positions|bars|account|orders] [days]`: the last
//! `days` published dates of a dataset as one CSV document (or, on S3 with
//! `telegram.download_links`, a presigned link to it); `orders` is the
//! journal's last `days` New York dates, for admins only (it names chats and
//! sign-in addresses). The CSV itself is built by [`crate::bot::download`].

use std::time::Duration;

use super::parse::BadArgs;
use super::{Answer, Call, Spec};
use crate::access::Role;
use crate::bot::download::{
    Csv, MAX_DOCUMENT_BYTES, MAX_LINKED_BYTES, build_csv, build_orders_csv,
};
use crate::bot::error::BotError;
use crate::bot::html::escape;
use crate::bot::send;
use crate::journal::Exported;
use crate::numbers::thousands;
use crate::store::Dataset;

/// `/download`.
pub(crate) const SPEC: Spec = Spec::new(
    "download",
    " [drawdowns|positions|bars|account|orders] [days]",
    "A dataset as a CSV file",
    Answer::Act(|call| Box::pin(act(call))),
);

async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let Ok(args) = parse_download(call.request.args) else {
        return call.say(&download_usage()).await;
    };
    let ctx = &call.shared.ctx;
    if args.dataset == Exported::Orders && ctx.config.access.role(call.chat.0) != Role::Admin {
        return call.say(&orders_admins_only(call.chat.0)).await;
    }
    // Held until the file is sent: the CSV lives that long.
    let Some(_slot) = call.shared.downloads.enter().await else {
        return call.say(&download_busy()).await;
    };
    deliver(call, &args).await
}

/// Build the CSV and send it as a document, or as a link when the store
/// can share one and `telegram.download_links` asks for it.
async fn deliver(call: &Call<'_>, args: &DownloadArgs) -> Result<(), BotError> {
    let store = call.shared.ctx.runner.store();
    let telegram = &call.shared.ctx.config.telegram;
    let as_link = telegram.download_links && store.can_share();
    let max_bytes = if as_link {
        MAX_LINKED_BYTES
    } else {
        MAX_DOCUMENT_BYTES
    };
    let csv = match args.dataset {
        Exported::Dataset(d) => build_csv(store, d, args.days, max_bytes).await?,
        Exported::Orders => {
            let today = crate::market::calendar::exchange_date(call.request.now);
            build_orders_csv(&call.shared.ctx.journal, today, args.days, max_bytes).await?
        }
    };
    let Some(csv) = csv else {
        return call.say(&download_empty(args)).await;
    };
    let caption = download_caption(&csv, args);
    let name = download_filename(&csv);
    if as_link {
        let ttl = Duration::from_secs(telegram.download_link_ttl_secs);
        // A unique object per request: a link is never repointed.
        let object = format!("{}-{name}", call.request.now.timestamp_millis());
        let url = store.share(&object, csv.bytes, ttl).await?;
        call.say(&download_link(&caption, &name, url.as_str(), ttl.as_secs()))
            .await
    } else {
        send::csv(call.bot, call.chat, name, csv.bytes, &caption).await?;
        Ok(())
    }
}

/// The most published dates one `/download` concatenates.
pub(crate) const MAX_DOWNLOAD_DAYS: usize = 366;

/// `/download` arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DownloadArgs {
    /// Which dataset (default `drawdowns`), or the journal.
    pub dataset: Exported,
    /// How many of the latest published dates (default 1; for `orders`,
    /// New York dates up to today).
    pub days: usize,
    /// True when `days` was lowered to [`MAX_DOWNLOAD_DAYS`].
    pub capped: bool,
}

/// Parse `/download [dataset] [days]` (either may be left out, any order).
pub(crate) fn parse_download(arg: &str) -> Result<DownloadArgs, BadArgs> {
    let mut out = DownloadArgs {
        dataset: Exported::Dataset(Dataset::Drawdowns),
        days: 1,
        capped: false,
    };
    let (mut seen_dataset, mut seen_days) = (false, false);
    for word in arg.split_whitespace() {
        if let Some(d) = Exported::named(word) {
            if seen_dataset {
                return Err(BadArgs);
            }
            out.dataset = d;
            seen_dataset = true;
        } else if !seen_days && !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
            let days = word.parse::<usize>().unwrap_or(usize::MAX);
            if days == 0 {
                return Err(BadArgs);
            }
            out.capped = days > MAX_DOWNLOAD_DAYS;
            out.days = days.min(MAX_DOWNLOAD_DAYS);
            seen_days = true;
        } else {
            return Err(BadArgs);
        }
    }
    Ok(out)
}

/// `/download` with bad arguments.
pub(crate) fn download_usage() -> String {
    format!(
        "Usage: /download [drawdowns|positions|bars|account|orders] [days], for example /download bars 5. \
         Days from 1 to {MAX_DOWNLOAD_DAYS} (default 1: the latest date); the dataset defaults to drawdowns. \
         orders is the order and audit journal (admins only)."
    )
}

/// `/download orders` from a chat that is not an admin.
pub(crate) fn orders_admins_only(chat_id: i64) -> String {
    format!(
        "Only admins can download the order journal (it names chats and sign-ins). \
         This chat's id is <code>{chat_id}</code>."
    )
}

/// `/download` when every download slot stayed busy for the whole wait.
pub(crate) fn download_busy() -> String {
    "Other downloads are being prepared right now; please try /download again in a minute.".into()
}

/// `/download` when the dataset has no published date.
pub(crate) fn download_empty(args: &DownloadArgs) -> String {
    match args.dataset {
        Exported::Orders => match args.days {
            1 => "Nothing journalled today.".to_string(),
            n => format!("Nothing journalled in the last {n} days."),
        },
        Exported::Dataset(d) => format!("No {} published yet.", d.name()),
    }
}

/// The file name of a download.
pub(crate) fn download_filename(csv: &Csv) -> String {
    let name = csv.dataset.name();
    match (csv.dates.first(), csv.dates.last()) {
        (Some(a), Some(b)) if a != b => format!("{name}_{a}_{b}.csv"),
        (Some(a), _) => format!("{name}_{a}.csv"),
        _ => format!("{name}.csv"),
    }
}

/// A download answered with a presigned link (S3): the caption, then the
/// link and how long it works.
pub(crate) fn download_link(caption: &str, filename: &str, url: &str, ttl_secs: u64) -> String {
    let valid = if ttl_secs.is_multiple_of(3600) {
        let h = ttl_secs / 3600;
        format!("{h} hour{}", if h == 1 { "" } else { "s" })
    } else {
        format!("{} minutes", ttl_secs.div_ceil(60))
    };
    format!(
        "{caption}\n<a href=\"{}\">{}</a> (link works for {valid})",
        escape(url).replace('"', "&quot;"),
        escape(filename)
    )
}

/// The caption of a download.
pub(crate) fn download_caption(csv: &Csv, args: &DownloadArgs) -> String {
    let mut out = format!(
        "<b>{}</b>: {} date{}",
        csv.dataset.name(),
        csv.dates.len(),
        if csv.dates.len() == 1 { "" } else { "s" }
    );
    if let (Some(a), Some(b)) = (csv.dates.first(), csv.dates.last()) {
        if a == b {
            out.push_str(&format!(" ({a})"));
        } else {
            out.push_str(&format!(" ({a} → {b})"));
        }
    }
    out.push_str(&format!(", {} rows", thousands(csv.rows)));
    if args.capped {
        out.push_str(&format!(
            "\n<i>At most {MAX_DOWNLOAD_DAYS} days per file.</i>"
        ));
    }
    if csv.truncated {
        out.push_str(
            "\n<i>Older dates left out to stay under Telegram's file size limit; \
             `dipwatch export` has no limit.</i>",
        );
    }
    if csv.damaged > 0 {
        let what = match csv.dataset {
            Exported::Orders => "unreadable journal object",
            Exported::Dataset(_) => "damaged date",
        };
        out.push_str(&format!(
            "\n<i>{} {what}{} skipped.</i>",
            csv.damaged,
            if csv.damaged == 1 { "" } else { "s" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_arguments() {
        let d = |s| parse_download(s);
        assert_eq!(
            d(""),
            Ok(DownloadArgs {
                dataset: Exported::Dataset(Dataset::Drawdowns),
                days: 1,
                capped: false
            })
        );
        assert_eq!(
            d("bars 5").map(|a| (a.dataset, a.days)),
            Ok((Exported::Dataset(Dataset::Bars), 5))
        );
        assert_eq!(
            d("30 Positions").map(|a| (a.dataset, a.days)),
            Ok((Exported::Dataset(Dataset::Positions), 30))
        );
        assert_eq!(
            d("orders 7").map(|a| (a.dataset, a.days)),
            Ok((Exported::Orders, 7))
        );
        assert_eq!(d("orders bars"), Err(BadArgs));
        assert_eq!(d("9999").map(|a| (a.days, a.capped)), Ok((366, true)));
        assert_eq!(d("quotes"), Err(BadArgs));
        assert_eq!(d("bars bars"), Err(BadArgs));
        assert_eq!(d("0"), Err(BadArgs));
        assert_eq!(d("1 2"), Err(BadArgs));
    }

    #[test]
    fn download_link_escapes_the_url_and_says_how_long_it_works() {
        let html = download_link(
            "<b>bars</b>: 1 date",
            "bars_2026-11-20.csv",
            "http://127.0.0.1:9000/b/_downloads/x.csv?X-Amz-Expires=3600&X-Amz-Signature=ab\"c",
            7200,
        );
        assert_eq!(
            html,
            "<b>bars</b>: 1 date\n<a href=\"http://127.0.0.1:9000/b/_downloads/x.csv?X-Amz-Expires=3600&amp;X-Amz-Signature=ab&quot;c\">bars_2026-11-20.csv</a> (link works for 2 hours)"
        );
        assert!(crate::bot::html::well_formed(&html));
        assert!(download_link("c", "f", "u", 90).ends_with("(link works for 2 minutes)"));
        assert!(download_link("c", "f", "u", 3600).ends_with("(link works for 1 hour)"));
    }
}
