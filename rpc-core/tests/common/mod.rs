//! A hand-written service with the JSON-RPC 2.0 specification's example
//! methods and a few for testing failures, and helpers that run frames
//! through the protocol with a timeout.

#![allow(dead_code, unreachable_pub)]

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use rpc_core::{Call, ConnectionInfo, MethodFuture, Protocol, RpcError, Service};
use serde::Deserialize;
use serde_json::Value;

/// The specification's example methods, and some for testing.
#[derive(Default)]
pub struct SpecService {
    latch: Latch,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubtractByName {
    minuend: i64,
    subtrahend: i64,
}

impl Service for SpecService {
    fn call<'a>(&'a self, call: Call<'a>) -> MethodFuture<'a> {
        let params = call.params;
        match call.method {
            "subtract" => {
                let args = if params.is_object() {
                    params
                        .parse::<SubtractByName>()
                        .map(|p| (p.minuend, p.subtrahend))
                } else {
                    params.parse::<(i64, i64)>()
                };
                match args {
                    Ok((minuend, subtrahend)) => MethodFuture::ok(&(minuend - subtrahend)),
                    Err(err) => MethodFuture::err(err),
                }
            }
            "sum" => match params.parse::<Vec<i64>>() {
                Ok(numbers) => MethodFuture::ok(&numbers.iter().sum::<i64>()),
                Err(err) => MethodFuture::err(err),
            },
            "update" | "notify_hello" | "notify_sum" => MethodFuture::ok(&()),
            "get_data" => MethodFuture::ok(&("hello", 5)),
            // Echoes the id the method saw in its context.
            "whoami" => {
                let ctx = call.context();
                MethodFuture::new(async move { Ok(ctx.id().map(|id| id.as_raw().to_owned())) })
            }
            "panic_now" => panic!("boom while dispatching"),
            "panic_later" => MethodFuture::new(async {
                if true {
                    panic!("boom while running");
                }
                Ok(())
            }),
            "fail_internal" => MethodFuture::err(RpcError::internal("db password=hunter2")),
            "fail_app" => MethodFuture::err(
                RpcError::new(4001, "quota exceeded").with_data(&serde_json::json!({"left": 0})),
            ),
            "unserializable" => {
                let mut map = std::collections::HashMap::new();
                map.insert((1, 2), 3);
                MethodFuture::ok(&map)
            }
            // Completes only once `release` has run: proves batch elements
            // run concurrently.
            "wait" => MethodFuture::new(async move {
                self.latch.wait().await;
                Ok("released")
            }),
            "release" => {
                self.latch.open();
                MethodFuture::ok(&"done")
            }
            _ => MethodFuture::err(RpcError::method_not_found()),
        }
    }
}

/// A one-shot gate that futures can wait on, with no runtime behind it.
#[derive(Default, Clone)]
struct Latch(Arc<Mutex<(bool, Vec<Waker>)>>);

impl Latch {
    fn open(&self) {
        let mut state = self.0.lock().unwrap();
        state.0 = true;
        state.1.drain(..).for_each(Waker::wake);
    }

    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.0.lock().unwrap();
            if state.0 {
                Poll::Ready(())
            } else {
                state.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// Runs one frame through `protocol` on its own thread, failing the test if
/// it takes longer than a few seconds.
pub fn handle_with(protocol: Protocol, frame: impl Into<Vec<u8>>) -> Option<String> {
    let frame = frame.into();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let service = SpecService::default();
        let connection = ConnectionInfo::detached();
        let reply =
            futures_executor::block_on(protocol.handle_bytes(&service, &frame, &connection));
        let _ = tx.send(reply.map(|r| r.into_string()));
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the protocol did not answer within 10 s")
}

/// Runs one frame with the default protocol.
pub fn handle(frame: &str) -> Option<String> {
    handle_with(Protocol::new(), frame)
}

/// Runs one frame that must get a reply, and parses the reply.
pub fn reply(frame: &str) -> Value {
    let text = handle(frame).unwrap_or_else(|| panic!("no reply to {frame}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("reply {text} is not JSON: {e}"))
}

/// Asserts that a reply equals `expected`, ignoring each error's `data`
/// (ours explains the error; the specification's examples leave it out).
#[track_caller]
pub fn assert_reply(actual: &Value, expected: &Value) {
    assert_eq!(
        &without_error_data(actual.clone()),
        expected,
        "reply {actual} differs from {expected}"
    );
}

fn without_error_data(mut value: Value) -> Value {
    match &mut value {
        Value::Array(items) => {
            for item in items {
                *item = without_error_data(item.take());
            }
        }
        Value::Object(obj) => {
            if let Some(Value::Object(error)) = obj.get_mut("error") {
                error.remove("data");
            }
        }
        _ => {}
    }
    value
}

/// The error code of a single error reply.
#[track_caller]
pub fn error_code(reply: &Value) -> i64 {
    reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error reply: {reply}"))
}
