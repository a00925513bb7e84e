//! Pictures in the chat: a figure drawn as a PNG on a blocking thread (it is
//! CPU work) and sent as a photo with its caption; one that cannot be drawn
//! gets a short reply and an ERROR log line, never a panic. The commands
//! that send one (`/chart`, `/breadth`, `/risk`'s heatmap, `/backtest`) say
//! what to draw.

use teloxide::RequestError;
use teloxide::prelude::*;

use super::html::escape;
use super::send::{self, TgBot};
use crate::chart::{self, Figure, NoChart};

/// Why there is no chart to send.
pub(crate) fn no_chart(err: &NoChart) -> String {
    format!("No chart: {}.", escape(&err.to_string()))
}

/// A chart that could not be drawn (logged).
pub(crate) fn chart_failed() -> String {
    "Sorry, the chart could not be drawn. It has been logged; the text commands still work."
        .to_string()
}

/// Draw `figure` as a PNG on a blocking thread (it is CPU work).
async fn render(figure: Figure) -> Result<Vec<u8>, String> {
    tokio::task::spawn_blocking(move || chart::png(&figure, &figure.photo_style()))
        .await
        .map_err(|e| format!("the drawing task failed: {e}"))?
        .map_err(|e| e.to_string())
}

/// Send `figure` as a photo, or say that it could not be drawn.
pub(crate) async fn send_figure(
    bot: &TgBot,
    chat: ChatId,
    figure: Figure,
    filename: String,
    caption: &str,
) -> Result<(), RequestError> {
    match render(figure).await {
        Ok(png) => send::photo(bot, chat, filename, png, caption, None).await,
        Err(e) => {
            tracing::error!(chat_id = chat.0, error = %e, "a chart could not be drawn");
            send::html(bot, chat, &chart_failed()).await.map(|_| ())
        }
    }
}
