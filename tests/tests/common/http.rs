//! A bare HTTP/1.1 client over a real socket, enough to see every status
//! and header the server sends.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", self.body))
    }
}

/// Sends raw request bytes (one or several pipelined requests, each with
/// `Connection: close` on the last) and reads every response to the end.
pub async fn exchange(addr: SocketAddr, raw: &[u8]) -> Vec<HttpResponse> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(raw).await.expect("send");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.expect("read");
    parse_all(&String::from_utf8_lossy(&bytes))
}

/// One request with `Connection: close`.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let raw = build(method, path, headers, body, true);
    exchange(addr, raw.as_bytes())
        .await
        .pop()
        .expect("a response")
}

/// A JSON-RPC POST of `body`.
pub async fn post(addr: SocketAddr, body: &str) -> HttpResponse {
    request(
        addr,
        "POST",
        "/",
        &[("content-type", "application/json")],
        body,
    )
    .await
}

pub fn build(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    close: bool,
) -> String {
    let mut raw = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    if close {
        raw.push_str("connection: close\r\n");
    }
    raw.push_str("\r\n");
    raw.push_str(body);
    raw
}

fn parse_all(mut text: &str) -> Vec<HttpResponse> {
    let mut responses = Vec::new();
    while let Some(end) = text.find("\r\n\r\n") {
        let head = &text[..end];
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let length = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let body_start = end + 4;
        let body = text[body_start..(body_start + length).min(text.len())].to_owned();
        text = &text[(body_start + length).min(text.len())..];
        responses.push(HttpResponse {
            status,
            headers,
            body,
        });
    }
    responses
}

/// `GET /metrics`, checked to be the OpenMetrics text.
pub async fn metrics(addr: SocketAddr) -> String {
    let response = request(addr, "GET", "/metrics", &[], "").await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    response.body
}

/// The metrics once `line` is among them (what is counted asynchronously,
/// a closed connection or a message from another instance, shows a little
/// later); the caller's timeout bounds the wait.
pub async fn metrics_with(addr: SocketAddr, line: &str) -> String {
    loop {
        let text = metrics(addr).await;
        if text.lines().any(|l| l == line) {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Panics unless every line of `expected` is in `text`.
pub fn assert_metrics(text: &str, expected: &[&str]) {
    for line in expected {
        assert!(text.lines().any(|l| l == *line), "no {line:?} in:\n{text}");
    }
}
