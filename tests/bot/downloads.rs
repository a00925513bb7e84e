//! /download: presigned links on S3, bounded concurrent downloads.

#![allow(unused_imports)]

use super::helpers::*;

/// On an S3 store with `telegram.download_links`, `/download` answers with
/// a presigned link (escaped in the HTML), and the link serves exactly the
/// CSV a document would have carried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_on_s3_answers_with_a_presigned_link_that_serves_the_csv() {
    let mut h = start(Setup::with(|s| s.s3_links = true)).await;
    let chat = READERS.start;
    let reply = h.ask(chat, "/download drawdowns 3", 1).await;
    let msg = &reply[0];
    assert_eq!(msg.method, "sendMessage", "a link, not a document");
    assert!(msg.document.is_none());
    fake_telegram::check_html(&msg.text).unwrap();
    assert!(
        msg.text.contains("(link works for 10 minutes)"),
        "{}",
        msg.text
    );
    let href = msg
        .text
        .split("<a href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a link")
        .replace("&amp;", "&");
    assert!(href.contains("/dipwatch-bot/lake/_downloads/"), "{href}");
    assert!(href.contains("X-Amz-Signature="), "{href}");
    assert!(
        !href.contains("secret_access_key") && !href.contains("testing&"),
        "{href}"
    );
    // Fetched with no credentials at all: the signature is the permission.
    let body = reqwest::get(&href).await.unwrap();
    assert_eq!(body.status(), 200, "{href}");
    let csv = body.text().await.unwrap();
    let expected = dipwatch::bot::download::build_csv(
        h.runner.store(),
        dipwatch::store::Dataset::Drawdowns,
        3,
        usize::MAX,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(csv.as_bytes(), expected.bytes.as_slice());
    assert!(csv.starts_with("date,symbol,current_price,peak_price,"));
    h.stop().await;
}

/// Many chats asking `/download bars` at once take turns: no more than
/// `MAX_CONCURRENT_DOWNLOADS` files are in flight to the Bot API at any
/// moment (each slot is held until its file is sent), and every chat gets
/// its file, identical to what one request alone builds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_downloads_are_bounded_and_all_answered() {
    use dipwatch::bot::download::MAX_CONCURRENT_DOWNLOADS;
    let mut h = start(Setup::default()).await;
    h.fake.set_document_latency(Duration::from_millis(150));
    let chats: Vec<i64> = READERS.take(12).collect();
    h.push_to_all(&chats, "/download bars 366");
    let got = h
        .fake
        .wait_until(Duration::from_secs(60), |s| {
            chats
                .iter()
                .all(|c| s.iter().any(|x| x.chat_id == *c && x.document.is_some()))
        })
        .await;
    assert!(got.is_ok(), "every chat gets its file");
    let peak = h.fake.documents_peak();
    assert!(
        (1..=MAX_CONCURRENT_DOWNLOADS).contains(&peak),
        "{peak} documents in flight at once"
    );
    let expected =
        dipwatch::bot::download::build_csv(h.runner.store(), Dataset::Bars, 366, usize::MAX)
            .await
            .unwrap()
            .unwrap();
    for c in &chats {
        let sent = h.fake.sent_to(*c);
        assert_eq!(sent.len(), 1, "one answer to chat {c}");
        let (_, bytes) = sent[0].document.as_ref().unwrap();
        assert_eq!(bytes, &expected.bytes);
    }
    h.stop().await;
}
