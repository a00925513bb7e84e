//! A loopback fake of the Telegram Bot API for integration tests and
//! benchmarks: real long polling, the methods dipwatch uses, Telegram's
//! checks on what is sent, and the faults the bot must survive.
//!
//! Requests go to `POST /bot<TOKEN>/<method>` as teloxide sends them (JSON
//! bodies, multipart for `sendDocument` and `sendPhoto`); a wrong token gets
//! 401 like the real API. Methods: `getMe`, `getUpdates` (offset confirms,
//! `timeout` long-polls until an update arrives), `sendMessage`,
//! `sendDocument`, `sendPhoto`, `editMessageText`, `editMessageReplyMarkup`
//! (recorded as sends, with the edited message's id), `answerCallbackQuery`
//! (its text kept), `setMyCommands`, `getWebhookInfo`, `deleteWebhook`;
//! button presses are injected with [`FakeTelegram::push_callback_on`]. Sent text is checked
//! the way Telegram checks it: HTML parse mode well-formed (known tags,
//! balanced, entities), 1..=4096 characters after parsing (captions 1024),
//! and refused with a 400 otherwise; every send is recorded either way.
//!
//! Faults: one-shot per-method answers (a status with `retry_after`, a
//! connection reset), an outage (every request read, then the connection
//! reset), added latency, and an optional global send limit that answers
//! 429 like Telegram's flood control. After a 429 with `retry_after`, any
//! send arriving before the wait is over is counted as an early retry (and
//! refused again).
//!
//! The server is a small HTTP/1.1 implementation (keep-alive, chunked
//! bodies) on its own tokio runtime in a background thread, so it can reset
//! connections at will; dropping the handle stops it.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};

/// A token in Telegram's format (digits, a colon, 35 characters), so
/// teloxide's own redaction recognises it.
pub const TOKEN: &str = "7000000001:AAFakeTokenForDipwatchTests_0123456";

/// The fake bot's username.
pub const BOT_USERNAME: &str = "dipwatch_test_bot";

/// Largest request head read before giving up on a connection.
const MAX_HEAD: usize = 64 * 1024;

/// A one-shot misbehaviour for the next call of a method.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and description (and `retry_after`).
    Status {
        /// HTTP status and `error_code`.
        code: u16,
        /// `description`.
        description: String,
        /// `parameters.retry_after`, seconds.
        retry_after: Option<u32>,
    },
    /// Read the request, then reset the connection.
    Reset,
}

impl Fault {
    /// Telegram's flood control: 429 with `retry_after`.
    pub fn too_many_requests(retry_after: u32) -> Self {
        Self::Status {
            code: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            retry_after: Some(retry_after),
        }
    }
}

/// One message, document, photo or edit the bot sent (accepted or not).
#[derive(Debug, Clone)]
pub struct Sent {
    /// `sendMessage`, `sendDocument`, `sendPhoto`, `editMessageText` or
    /// `editMessageReplyMarkup`.
    pub method: String,
    /// The message's id: the one given to a new message, or the one an
    /// edit targets.
    pub message_id: i64,
    /// Target chat.
    pub chat_id: i64,
    /// The text (or the document's caption), as sent.
    pub text: String,
    /// `parse_mode`, if any.
    pub parse_mode: Option<String>,
    /// The document's (or photo's) file name and content.
    pub document: Option<(String, Vec<u8>)>,
    /// The inline keyboard, if any.
    pub reply_markup: Option<Value>,
    /// When it arrived.
    pub at: Instant,
    /// Why the fake refused it (as Telegram would), if it did.
    pub refused: Option<String>,
}

/// One request the fake saw.
#[derive(Debug, Clone)]
pub struct Call {
    /// Bot API method.
    pub method: String,
    /// HTTP status answered (0 when the connection was reset).
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
    /// The JSON body (multipart and unreadable bodies: `Null`).
    pub body: Value,
}

#[derive(Debug, Clone)]
struct Pending {
    id: i64,
    update: Value,
    pushed_at: Instant,
}

#[derive(Default)]
struct Data {
    /// The text and keyboard of each message sent, by (chat, message id).
    messages: HashMap<(i64, i64), (String, Option<Value>)>,
    answered_callbacks: usize,
    callback_answers: Vec<(String, String)>,
    next_update_id: i64,
    next_message_id: i64,
    pending: VecDeque<Pending>,
    released: HashMap<i64, Instant>,
    pushed: HashMap<i64, Instant>,
    sent: Vec<Sent>,
    calls: Vec<Call>,
    faults: VecDeque<(String, Fault)>,
    outage: bool,
    latency: Duration,
    document_latency: Duration,
    documents_in_flight: usize,
    documents_peak: usize,
    webhook_url: Option<String>,
    commands: Option<Value>,
    send_limit_per_sec: Option<usize>,
    recent_sends: VecDeque<Instant>,
    frozen_until: Option<Instant>,
    early_retries: usize,
    rate_limited: usize,
    bad_token: usize,
}

impl Data {
    /// Queue the update `update(id)` makes under the next update id; the id.
    fn enqueue(&mut self, update: impl FnOnce(i64) -> Value) -> i64 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        let now = Instant::now();
        self.pushed.insert(id, now);
        self.pending.push_back(Pending {
            id,
            update: update(id),
            pushed_at: now,
        });
        id
    }

    /// The next message id (a user's message or the bot's).
    fn next_message(&mut self) -> i64 {
        self.next_message_id += 1;
        self.next_message_id - 1
    }
}

struct Inner {
    data: Mutex<Data>,
    /// Wakes long polls (new update, outage).
    updates: Notify,
    /// Wakes waiters for sends.
    sends: Notify,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running fake; stops on drop.
pub struct FakeTelegram {
    addr: SocketAddr,
    inner: Arc<Inner>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeTelegram {
    /// Start on a free loopback port.
    pub fn start() -> Self {
        let inner = Arc::new(Inner {
            data: Mutex::new(Data {
                answered_callbacks: 0,
                next_update_id: 1,
                next_message_id: 1,
                ..Data::default()
            }),
            updates: Notify::new(),
            sends: Notify::new(),
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let (stop_tx, stop_rx) = oneshot::channel();
        let served = inner.clone();
        let thread = std::thread::Builder::new()
            .name("fake-telegram".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("listener");
                    tokio::select! {
                        () = accept_loop(listener, served) => {}
                        _ = stop_rx => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(100));
            })
            .expect("thread");
        Self {
            addr,
            inner,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The Bot API base URL (`TELOXIDE_API_URL`).
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr)).expect("url")
    }

    /// Queue a text message from `chat_id` (private chat when positive, a
    /// group otherwise); returns its update id.
    pub fn push_text(&self, chat_id: i64, text: &str) -> i64 {
        self.push_many(&[(chat_id, text.to_string())])[0]
    }

    /// Queue several messages at once (one `getUpdates` can return them all).
    pub fn push_many(&self, messages: &[(i64, String)]) -> Vec<i64> {
        let mut ids = Vec::new();
        {
            let mut d = self.inner.lock();
            for (chat_id, text) in messages {
                let message = message_json(d.next_message(), *chat_id, text);
                ids.push(d.enqueue(|id| json!({"update_id": id, "message": message})));
            }
        }
        self.inner.updates.notify_waiters();
        ids
    }

    /// Queue a press of an inline button carrying `data`, on a message of
    /// the bot in `chat_id`; returns its update id.
    pub fn push_callback(&self, chat_id: i64, data: &str) -> i64 {
        let message_id = {
            let mut d = self.inner.lock();
            d.next_message_id += 1;
            d.next_message_id - 1
        };
        self.push_callback_on(chat_id, message_id, data)
    }

    /// Queue a press of an inline button carrying `data` under the bot's
    /// message `message_id` in `chat_id`; returns its update id (the
    /// callback query's id is `cb<update id>`).
    pub fn push_callback_on(&self, chat_id: i64, message_id: i64, data: &str) -> i64 {
        let id = {
            let mut d = self.inner.lock();
            let mut message = message_json(message_id, chat_id, "(a message of the bot)");
            message["from"] =
                json!({"id": 7_000_000_001_i64, "is_bot": true, "first_name": "dipwatch test"});
            let from_id = if chat_id > 0 { chat_id } else { 4242 };
            d.enqueue(|id| {
                json!({
                    "update_id": id,
                    "callback_query": {
                        "id": format!("cb{id}"),
                        "from": {"id": from_id, "is_bot": false, "first_name": "Tester"},
                        "message": message,
                        "chat_instance": "ci",
                        "data": data,
                    },
                })
            })
        };
        self.inner.updates.notify_waiters();
        id
    }

    /// The answers to callback queries so far: the query id and the text
    /// shown (empty for a bare answer), in order.
    pub fn callback_answers(&self) -> Vec<(String, String)> {
        self.inner.lock().callback_answers.clone()
    }

    /// `answerCallbackQuery` calls so far.
    pub fn answered_callbacks(&self) -> usize {
        self.inner.lock().answered_callbacks
    }

    /// Queue a photo (no text) from `chat_id`.
    pub fn push_photo(&self, chat_id: i64) -> i64 {
        self.push_edited(chat_id, "", |message| {
            if let Some(m) = message.as_object_mut() {
                m.remove("text");
                m.remove("entities");
                m.insert(
                    "photo".into(),
                    json!([{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]),
                );
            }
        })
    }

    /// Queue a text message from `chat_id` after `edit` changed its JSON
    /// (e.g. into one teloxide cannot parse); returns its update id.
    pub fn push_edited(&self, chat_id: i64, text: &str, edit: impl FnOnce(&mut Value)) -> i64 {
        let mut d = self.inner.lock();
        let mut message = message_json(d.next_message(), chat_id, text);
        edit(&mut message);
        let id = d.enqueue(|id| json!({"update_id": id, "message": message}));
        drop(d);
        self.inner.updates.notify_waiters();
        id
    }

    /// When update `id` was first handed to the bot by `getUpdates`.
    pub fn released_at(&self, id: i64) -> Option<Instant> {
        self.inner.lock().released.get(&id).copied()
    }

    /// When update `id` was queued.
    pub fn pushed_at(&self, id: i64) -> Option<Instant> {
        self.inner.lock().pushed.get(&id).copied()
    }

    /// Queue a one-shot fault for the next call of `method`.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.inner.lock().faults.push_back((method.into(), fault));
    }

    /// Start or end an outage: every request is read and its connection
    /// reset, as when the API is unreachable mid-request.
    pub fn set_outage(&self, down: bool) {
        self.inner.lock().outage = down;
        self.inner.updates.notify_waiters();
    }

    /// Delay every answer by `latency` (a slow API).
    pub fn set_latency(&self, latency: Duration) {
        self.inner.lock().latency = latency;
    }

    /// Delay the answer to every `sendDocument` by `latency` (a slow
    /// upload), so concurrent ones overlap.
    pub fn set_document_latency(&self, latency: Duration) {
        self.inner.lock().document_latency = latency;
    }

    /// The most `sendDocument` requests that were in flight at once.
    pub fn documents_peak(&self) -> usize {
        self.inner.lock().documents_peak
    }

    /// Pretend a webhook is set (polling must delete it first).
    pub fn set_webhook(&self, url: &str) {
        self.inner.lock().webhook_url = Some(url.into());
    }

    /// Enforce a global limit of `per_sec` sends in any one-second window
    /// (less 50 ms of slack for loopback jitter), answering 429 beyond it.
    pub fn limit_sends_per_sec(&self, per_sec: usize) {
        self.inner.lock().send_limit_per_sec = Some(per_sec);
    }

    /// Every send so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.inner.lock().sent.clone()
    }

    /// Sends to `chat_id` so far.
    pub fn sent_to(&self, chat_id: i64) -> Vec<Sent> {
        self.inner
            .lock()
            .sent
            .iter()
            .filter(|s| s.chat_id == chat_id)
            .cloned()
            .collect()
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().calls.clone()
    }

    /// Requests of `method` so far.
    pub fn count(&self, method: &str) -> usize {
        self.inner
            .lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .count()
    }

    /// The commands registered with `setMyCommands`, if any.
    pub fn commands(&self) -> Option<Value> {
        self.inner.lock().commands.clone()
    }

    /// Whether a webhook is set.
    pub fn webhook(&self) -> Option<String> {
        self.inner.lock().webhook_url.clone()
    }

    /// Sends that came before a `retry_after` wait was over.
    pub fn early_retries(&self) -> usize {
        self.inner.lock().early_retries
    }

    /// Sends answered 429 (faults, limit and early retries).
    pub fn rate_limited(&self) -> usize {
        self.inner.lock().rate_limited
    }

    /// Requests with a wrong token.
    pub fn bad_token_requests(&self) -> usize {
        self.inner.lock().bad_token
    }

    /// Updates queued but not yet confirmed by an offset.
    pub fn unconfirmed(&self) -> usize {
        self.inner.lock().pending.len()
    }

    /// Whether update `id` was pushed and then confirmed by an offset (the
    /// Bot API will not hand it out again).
    pub fn is_confirmed(&self, id: i64) -> bool {
        let d = self.inner.lock();
        d.pushed.contains_key(&id) && !d.pending.iter().any(|p| p.id == id)
    }

    /// Wait until `pred(sent)` holds, or `timeout`; returns the sends.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        pred: impl Fn(&[Sent]) -> bool,
    ) -> Result<Vec<Sent>, Vec<Sent>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.sends.notified();
            {
                let d = self.inner.lock();
                if pred(&d.sent) {
                    return Ok(d.sent.clone());
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let d = self.inner.lock();
                return if pred(&d.sent) {
                    Ok(d.sent.clone())
                } else {
                    Err(d.sent.clone())
                };
            }
        }
    }

    /// Wait for `n` sends to `chat_id` (panics after `timeout`, listing
    /// what was sent).
    pub async fn replies(&self, chat_id: i64, n: usize, timeout: Duration) -> Vec<Sent> {
        match self
            .wait_until(timeout, |s| {
                s.iter().filter(|x| x.chat_id == chat_id).count() >= n
            })
            .await
        {
            Ok(all) => all.into_iter().filter(|x| x.chat_id == chat_id).collect(),
            Err(all) => panic!(
                "chat {chat_id}: expected {n} replies within {timeout:?}; sent so far: {:#?}",
                all.iter()
                    .map(|s| (s.chat_id, s.text.chars().take(80).collect::<String>()))
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// Wait until `method` has been called `n` times.
    pub async fn wait_calls(&self, method: &str, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.count(method) >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.count(method) >= n
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn message_json(message_id: i64, chat_id: i64, text: &str) -> Value {
    let chat = if chat_id > 0 {
        json!({"id": chat_id, "type": "private", "first_name": "Tester"})
    } else {
        json!({"id": chat_id, "type": "group", "title": "Test group"})
    };
    let from_id = if chat_id > 0 { chat_id } else { 4242 };
    let mut m = json!({
        "message_id": message_id,
        "date": 1_764_000_000,
        "chat": chat,
        "from": {"id": from_id, "is_bot": false, "first_name": "Tester"},
        "text": text,
    });
    // Telegram marks a leading /command as a bot_command entity.
    if text.starts_with('/') {
        let word = text.split(char::is_whitespace).next().unwrap_or("");
        m["entities"] = json!([{
            "type": "bot_command",
            "offset": 0,
            "length": word.encode_utf16().count(),
        }]);
    }
    m
}

fn bot_user() -> Value {
    json!({
        "id": 7_000_000_001_i64,
        "is_bot": true,
        "first_name": "dipwatch test",
        "username": BOT_USERNAME,
    })
}

// ------------------------------------------------------------------ HTTP

struct Request {
    method: String,
    path: String,
    content_type: String,
    body: Vec<u8>,
    close: bool,
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, inner.clone()));
    }
}

async fn connection(mut stream: TcpStream, inner: Arc<Inner>) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let Some(req) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        match answer(&inner, &req).await {
            None => {
                let _ = stream.set_zero_linger();
                return;
            }
            Some((status, body)) => {
                let reason = match status {
                    200 => "OK",
                    400 => "Bad Request",
                    401 => "Unauthorized",
                    404 => "Not Found",
                    429 => "Too Many Requests",
                    _ => "Error",
                };
                let head = format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                    body.len(),
                    if req.close {
                        "Connection: close\r\n"
                    } else {
                        ""
                    }
                );
                if stream.write_all(head.as_bytes()).await.is_err()
                    || stream.write_all(body.as_bytes()).await.is_err()
                    || req.close
                {
                    return;
                }
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD || !fill(stream, buf).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let (mut length, mut chunked, mut close, mut content_type) =
        (0usize, false, false, String::new());
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        match k.as_str() {
            "content-length" => length = v.parse().ok()?,
            "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
            "connection" => close = v.eq_ignore_ascii_case("close"),
            "content-type" => content_type = v.to_string(),
            _ => {}
        }
    }
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(buf, b"\r\n") {
                    break i;
                }
                if !fill(stream, buf).await {
                    return None;
                }
            };
            let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                if !fill(stream, buf).await {
                    return None;
                }
            }
            body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
            if size == 0 {
                break;
            }
        }
        body
    } else {
        while buf.len() < length {
            if !fill(stream, buf).await {
                return None;
            }
        }
        buf.drain(..length).collect()
    };
    Some(Request {
        method,
        path,
        content_type,
        body,
        close,
    })
}

// ------------------------------------------------------------------ API

fn ok(result: Value) -> (u16, String) {
    (200, json!({"ok": true, "result": result}).to_string())
}

fn err(code: u16, description: &str, retry_after: Option<u32>) -> (u16, String) {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(s) = retry_after {
        body["parameters"] = json!({"retry_after": s});
    }
    (code, body.to_string())
}

/// The answer to one request; `None` resets the connection.
async fn answer(inner: &Arc<Inner>, req: &Request) -> Option<(u16, String)> {
    let arrived = Instant::now();
    let (token, method) = req
        .path
        .strip_prefix("/bot")
        .and_then(|p| p.split_once('/'))
        .unwrap_or(("", ""));
    // Method names are case-insensitive (teloxide sends `GetMe`); record
    // them as the documentation spells them.
    let method = canonical(method);
    let body: Value = if req.content_type.starts_with("application/json") {
        serde_json::from_slice(&req.body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let (fault, outage, latency) = {
        let mut d = inner.lock();
        let fault = d
            .faults
            .iter()
            .position(|(m, _)| *m == method)
            .and_then(|i| d.faults.remove(i))
            .map(|(_, f)| f);
        (fault, d.outage, d.latency)
    };
    let record = |status: u16| {
        inner.lock().calls.push(Call {
            method: method.clone(),
            status,
            at: arrived,
            body: body.clone(),
        });
    };
    if outage || fault == Some(Fault::Reset) {
        record(0);
        return None;
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if req.method != "POST" && req.method != "GET" {
        record(405);
        return Some(err(405, "Method Not Allowed", None));
    }
    if token != TOKEN {
        inner.lock().bad_token += 1;
        record(401);
        return Some(err(401, "Unauthorized", None));
    }
    if let Some(Fault::Status {
        code,
        description,
        retry_after,
    }) = fault
    {
        if let Some(s) = retry_after {
            let mut d = inner.lock();
            d.frozen_until = Some(Instant::now() + Duration::from_secs(u64::from(s)));
            if code == 429 {
                d.rate_limited += 1;
            }
        }
        record(code);
        return Some(err(code, &description, retry_after));
    }
    let answer = match method.as_str() {
        "getMe" => ok(json!({
            "id": 7_000_000_001_i64,
            "is_bot": true,
            "first_name": "dipwatch test",
            "username": BOT_USERNAME,
            "can_join_groups": true,
            "can_read_all_group_messages": false,
            "supports_inline_queries": false,
            "can_connect_to_business": false,
            "has_main_web_app": false,
        })),
        "getWebhookInfo" => {
            let d = inner.lock();
            ok(json!({
                "url": d.webhook_url.clone().unwrap_or_default(),
                "has_custom_certificate": false,
                "pending_update_count": d.pending.len(),
            }))
        }
        "deleteWebhook" => {
            inner.lock().webhook_url = None;
            ok(json!(true))
        }
        "setMyCommands" => set_my_commands(inner, &body),
        "getUpdates" => {
            let status_body = get_updates(inner, &body).await;
            if status_body.is_none() {
                record(0);
                return None;
            }
            status_body.unwrap_or_else(|| err(500, "unreachable", None))
        }
        "sendMessage" => send(inner, &method, SendParts::from_json(&body)),
        "sendDocument" => {
            let slow = {
                let mut d = inner.lock();
                d.documents_in_flight += 1;
                d.documents_peak = d.documents_peak.max(d.documents_in_flight);
                d.document_latency
            };
            tokio::time::sleep(slow).await;
            let answer = send(inner, &method, SendParts::from_multipart(req));
            inner.lock().documents_in_flight -= 1;
            answer
        }
        "answerCallbackQuery" => {
            let mut d = inner.lock();
            d.answered_callbacks += 1;
            let field = |k: &str| {
                body.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let text = field("text");
            if text.chars().count() > 200 {
                return Some(err(
                    400,
                    "Bad Request: callback answer text is too long",
                    None,
                ));
            }
            d.callback_answers.push((field("callback_query_id"), text));
            ok(json!(true))
        }
        "sendPhoto" => send(inner, &method, SendParts::from_multipart(req)),
        "editMessageText" | "editMessageReplyMarkup" => {
            send(inner, &method, SendParts::from_json(&body))
        }
        _ => err(404, "Not Found", None),
    };
    record(answer.0);
    Some(answer)
}

/// The documented spelling of a method name, matched case-insensitively.
fn canonical(method: &str) -> String {
    const METHODS: [&str; 11] = [
        "answerCallbackQuery",
        "sendPhoto",
        "editMessageText",
        "editMessageReplyMarkup",
        "getMe",
        "getUpdates",
        "sendMessage",
        "sendDocument",
        "setMyCommands",
        "getWebhookInfo",
        "deleteWebhook",
    ];
    METHODS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(method))
        .map_or_else(|| method.to_string(), |m| (*m).to_string())
}

fn set_my_commands(inner: &Arc<Inner>, body: &Value) -> (u16, String) {
    let Some(list) = body.get("commands").and_then(Value::as_array) else {
        return err(400, "Bad Request: commands must be an array", None);
    };
    for c in list {
        let name = c.get("command").and_then(Value::as_str).unwrap_or("");
        let name = name.strip_prefix('/').unwrap_or(name);
        let desc = c.get("description").and_then(Value::as_str).unwrap_or("");
        let good_name = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !good_name || !(1..=256).contains(&desc.chars().count()) {
            return err(400, "Bad Request: BOT_COMMAND_INVALID", None);
        }
    }
    inner.lock().commands = Some(Value::Array(list.clone()));
    ok(json!(true))
}

/// `getUpdates`: confirm below `offset`, then answer what is pending, or
/// wait up to `timeout` seconds for something. `None` when an outage began
/// while waiting (the connection is reset).
async fn get_updates(inner: &Arc<Inner>, body: &Value) -> Option<(u16, String)> {
    let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0);
    let limit = body
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let timeout = Duration::from_secs(body.get("timeout").and_then(Value::as_u64).unwrap_or(0));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let notified = inner.updates.notified();
        {
            let mut d = inner.lock();
            if d.outage {
                return None;
            }
            if offset > 0 {
                while d.pending.front().is_some_and(|p| p.id < offset) {
                    d.pending.pop_front();
                }
            } else if offset < 0 {
                let keep = offset.unsigned_abs() as usize;
                while d.pending.len() > keep {
                    d.pending.pop_front();
                }
            }
            let batch: Vec<Pending> = d.pending.iter().take(limit).cloned().collect();
            if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                let now = Instant::now();
                for p in &batch {
                    d.released.entry(p.id).or_insert(now);
                }
                let updates: Vec<Value> = batch.into_iter().map(|p| p.update).collect();
                return Some(ok(Value::Array(updates)));
            }
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}

/// The parts of a send the fake checks and records.
struct SendParts {
    chat_id: Option<i64>,
    /// The message an edit targets.
    message_id: Option<i64>,
    text: String,
    parse_mode: Option<String>,
    document: Option<(String, Vec<u8>)>,
    reply_markup: Option<Value>,
}

impl SendParts {
    fn from_json(body: &Value) -> Self {
        Self {
            chat_id: body.get("chat_id").and_then(|c| {
                c.as_i64()
                    .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
            }),
            message_id: body.get("message_id").and_then(Value::as_i64),
            text: body
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            parse_mode: body
                .get("parse_mode")
                .and_then(Value::as_str)
                .map(str::to_string),
            document: None,
            reply_markup: body.get("reply_markup").cloned(),
        }
    }

    fn from_multipart(req: &Request) -> Self {
        let mut out = Self {
            chat_id: None,
            message_id: None,
            text: String::new(),
            parse_mode: None,
            document: None,
            reply_markup: None,
        };
        // name -> (filename, content)
        let mut parts: HashMap<String, (Option<String>, Vec<u8>)> = HashMap::new();
        let Some(boundary) = req
            .content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
        else {
            return out;
        };
        let delim = format!("--{}", boundary.trim_matches('"'));
        let body = &req.body;
        let Some(first) = find(body, delim.as_bytes()) else {
            return out;
        };
        let mut pos = first + delim.len();
        // After a delimiter: "--" ends the body, else CRLF and a part.
        while !body[pos..].starts_with(b"--") {
            let part_start = pos + 2;
            let Some(next) = find(&body[part_start..], delim.as_bytes()) else {
                break;
            };
            let part = &body[part_start..part_start + next];
            let part = part.strip_suffix(b"\r\n").unwrap_or(part);
            if let Some(h) = find(part, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&part[..h]).into_owned();
                if let Some(name) = header_attr(&head, "name") {
                    parts.insert(
                        name,
                        (header_attr(&head, "filename"), part[h + 4..].to_vec()),
                    );
                }
            }
            pos = part_start + next + delim.len();
        }
        let text = |name: &str| {
            parts
                .get(name)
                .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
        };
        out.chat_id = text("chat_id").and_then(|c| c.trim().parse().ok());
        out.text = text("caption").unwrap_or_default();
        out.parse_mode = text("parse_mode");
        // The file is the `document` part itself, or the part it names
        // with `attach://NAME` (how teloxide sends a shared file).
        out.reply_markup = text("reply_markup").and_then(|m| serde_json::from_str(&m).ok());
        let file = parts.get("document").or_else(|| parts.get("photo"));
        out.document = match file {
            Some((Some(filename), content)) => Some((filename.clone(), content.clone())),
            Some((None, value)) => String::from_utf8_lossy(value)
                .strip_prefix("attach://")
                .and_then(|name| parts.get(name))
                .and_then(|(f, c)| f.clone().map(|f| (f, c.clone()))),
            None => None,
        };
        out
    }
}

/// `key="value"` from a part's headers (the value as written).
fn header_attr(head: &str, key: &str) -> Option<String> {
    let needle = format!("; {key}=\"");
    let start = head.to_ascii_lowercase().find(&needle)? + needle.len();
    let end = head[start..].find('"')? + start;
    Some(head[start..end].to_string())
}

fn send(inner: &Arc<Inner>, method: &str, parts: SendParts) -> (u16, String) {
    let now = Instant::now();
    let mut d = inner.lock();
    let with_file = matches!(method, "sendDocument" | "sendPhoto");
    let edit = method.starts_with("edit");
    let limit = if with_file { 1024 } else { 4096 };
    let mut refused = None;
    let mut reply = None;
    if let Some(until) = d.frozen_until {
        if now < until {
            d.early_retries += 1;
            d.rate_limited += 1;
            let left = (until - now).as_secs_f64().ceil() as u32;
            reply = Some(err(
                429,
                &format!("Too Many Requests: retry after {left}"),
                Some(left.max(1)),
            ));
            refused = Some("early retry".to_string());
        } else {
            d.frozen_until = None;
        }
    }
    if reply.is_none()
        && let Some(per_sec) = d.send_limit_per_sec
    {
        let window = Duration::from_millis(950);
        while d
            .recent_sends
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            d.recent_sends.pop_front();
        }
        if d.recent_sends.len() >= per_sec {
            d.rate_limited += 1;
            reply = Some(err(429, "Too Many Requests: retry after 1", Some(1)));
            refused = Some("over the global send limit".to_string());
        }
    }
    if reply.is_none() {
        let checked = match parts.parse_mode.as_deref() {
            Some("HTML") => check_html(&parts.text),
            None => Ok(parts.text.encode_utf16().count()),
            Some(other) => Err(format!("unsupported parse_mode {other}")),
        };
        let problem = match (parts.chat_id, checked) {
            (None, _) => Some("Bad Request: chat not found".to_string()),
            (_, Err(e)) => Some(format!("Bad Request: can't parse entities: {e}")),
            (_, Ok(0)) if matches!(method, "sendMessage" | "editMessageText") => {
                Some("Bad Request: message text is empty".to_string())
            }
            (_, Ok(n)) if n > limit => Some(format!(
                "Bad Request: {} is too long ({n} > {limit})",
                if with_file {
                    "message caption"
                } else {
                    "message"
                }
            )),
            _ if with_file && parts.document.is_none() => {
                Some("Bad Request: there is no file in the request".to_string())
            }
            (Some(chat), _) if edit => {
                let key = (chat, parts.message_id.unwrap_or(0));
                match d.messages.get(&key) {
                    None => Some("Bad Request: message to edit not found".to_string()),
                    Some((text, markup))
                        if (method == "editMessageReplyMarkup" || *text == parts.text)
                            && *markup == parts.reply_markup =>
                    {
                        Some(
                            "Bad Request: message is not modified: specified new message \
                             content and reply markup are exactly the same as a current \
                             content and reply markup of the message"
                                .to_string(),
                        )
                    }
                    Some(_) => None,
                }
            }
            _ => None,
        };
        match problem {
            Some(p) => {
                reply = Some(err(400, &p, None));
                refused = Some(p);
            }
            None => {
                d.recent_sends.push_back(now);
            }
        }
    }
    let message_id = if edit {
        parts.message_id.unwrap_or(0)
    } else {
        d.next_message_id += 1;
        d.next_message_id - 1
    };
    let chat_id = parts.chat_id.unwrap_or(0);
    if reply.is_none() {
        let kept = d
            .messages
            .entry((chat_id, message_id))
            .or_insert_with(|| (String::new(), None));
        if method != "editMessageReplyMarkup" {
            kept.0 = parts.text.clone();
        }
        kept.1 = parts.reply_markup.clone();
    }
    d.sent.push(Sent {
        method: method.to_string(),
        message_id,
        chat_id,
        text: parts.text.clone(),
        parse_mode: parts.parse_mode.clone(),
        document: parts.document.clone(),
        reply_markup: parts.reply_markup.clone(),
        at: now,
        refused,
    });
    drop(d);
    inner.sends.notify_waiters();
    if let Some(r) = reply {
        return r;
    }
    let chat = if chat_id > 0 {
        json!({"id": chat_id, "type": "private", "first_name": "Tester"})
    } else {
        json!({"id": chat_id, "type": "group", "title": "Test group"})
    };
    let mut m = json!({
        "message_id": message_id,
        "date": 1_764_000_001,
        "chat": chat,
        "from": bot_user(),
    });
    match parts.document {
        Some((_, bytes)) if method == "sendPhoto" => {
            // Telegram answers with the sizes it made; the original's is
            // read from the PNG header (0 x 0 when it is not a PNG).
            let (w, h) = png_size(&bytes).unwrap_or((0, 0));
            m["photo"] = json!([{
                "file_id": format!("photo{message_id}"),
                "file_unique_id": format!("u{message_id}"),
                "width": w,
                "height": h,
                "file_size": bytes.len(),
            }]);
            if !parts.text.is_empty() {
                m["caption"] = json!(parts.text);
            }
        }
        Some((name, bytes)) => {
            m["document"] = json!({
                "file_id": format!("doc{message_id}"),
                "file_unique_id": format!("u{message_id}"),
                "file_name": name,
                "file_size": bytes.len(),
            });
            if !parts.text.is_empty() {
                m["caption"] = json!(parts.text);
            }
        }
        None => m["text"] = json!(parts.text),
    }
    ok(m)
}

/// Width and height from a PNG's signature and IHDR chunk.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&bytes[16..20]), be(&bytes[20..24])))
}

/// Check `html` the way Telegram's HTML parse mode does and return the
/// parsed text's length in UTF-16 units: only Telegram's tags, properly
/// nested; `<`, `>` and `&` only as markup or entities; whitespace-only
/// text counts as empty.
pub fn check_html(html: &str) -> Result<usize, String> {
    const TAGS: [&str; 17] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
        "tg-time",
    ];
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or("unclosed start tag")?;
                let inner = &rest[1..end];
                let (closing, inner) = match inner.strip_prefix('/') {
                    Some(i) => (true, i),
                    None => (false, inner),
                };
                let name: String = inner
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect::<String>()
                    .to_ascii_lowercase();
                if !TAGS.contains(&name.as_str()) {
                    return Err(format!("unsupported start tag \"{name}\""));
                }
                if closing {
                    match stack.pop() {
                        Some(open) if open == name => {}
                        other => {
                            return Err(format!(
                                "can't find end tag corresponding to start tag \"{}\"",
                                other.unwrap_or_default()
                            ));
                        }
                    }
                } else {
                    stack.push(name);
                }
                rest = &rest[end + 1..];
            }
            '>' => return Err("unexpected \">\" outside a tag".into()),
            '&' => {
                let end = rest
                    .char_indices()
                    .take(12)
                    .find(|(_, c)| *c == ';')
                    .map(|(i, _)| i)
                    .ok_or("unescaped \"&\"")?;
                let entity = &rest[1..end];
                let decoded = match entity {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or("bad numeric entity")?,
                    e if e.starts_with('#') => e[1..]
                        .parse::<u32>()
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or("bad numeric entity")?,
                    e => return Err(format!("unsupported entity &{e};")),
                };
                text.push(decoded);
                rest = &rest[end + 1..];
            }
            c => {
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!(
            "can't find end tag corresponding to start tag \"{open}\""
        ));
    }
    if text.trim().is_empty() {
        return Ok(0);
    }
    Ok(text.encode_utf16().count())
}
