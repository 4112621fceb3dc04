//! `rpc`: a JSON-RPC 2.0 client for the terminal, over ws://, wss://,
//! http:// and https://.
//!
//! ```text
//! $ rpc call ws://127.0.0.1:9000 subtract '[42,23]'
//! 19
//! $ rpc call http://127.0.0.1:9006 math.divide a=1 b=4
//! 0.25
//! $ rpc discover ws://127.0.0.1:9000
//! $ rpc listen ws://127.0.0.1:9004 --call join room=lobby name=ann
//! ```
//!
//! Exit status: 0 success; 1 the server answered with a JSON-RPC error
//! (printed as JSON on stderr); 2 bad usage or bad PARAMS (nothing sent);
//! 3 no answer (could not connect, handshake refused, connection dropped,
//! timed out). `rpc --help` tells the rest.

mod args;
mod connection;
mod discover;
mod failure;
mod output;
mod params;

use std::io::Read as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};
use futures_util::StreamExt as _;
use serde::Serialize;
use serde_json::Value;

use crate::args::{CallArgs, Cli, Command, ConnectionOptions, DiscoverArgs, ListenArgs, UrlArg};
use crate::connection::{Connection, Request};
use crate::failure::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            // Not 1: that says the server answered with an error.
            eprintln!("rpc: could not start: {err}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report();
            failure.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let options = &cli.connection;
    match cli.command {
        Command::Call(args) => call(args, options).await,
        Command::Notify(args) => notify(args, options).await,
        Command::Batch(UrlArg { url }) => batch(&url, options).await,
        Command::Discover(args) => discover(args, options).await,
        Command::Listen(args) => listen(args, options).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "rpc", &mut std::io::stdout());
            Ok(())
        }
    }
}

async fn call(args: CallArgs, options: &ConnectionOptions) -> Result<(), Failure> {
    let params = params::parse(&args.params)?;
    let connection = Connection::open(&args.url, options).await?;
    let outcome = connection.call(&args.method, params.as_ref()).await;
    connection.close().await;
    output::print_raw(&outcome?);
    Ok(())
}

async fn notify(args: CallArgs, options: &ConnectionOptions) -> Result<(), Failure> {
    let params = params::parse(&args.params)?;
    let connection = Connection::open(&args.url, options).await?;
    let sent = connection.notify(&args.method, params.as_ref()).await;
    connection.close().await;
    sent
}

async fn batch(url: &str, options: &ConnectionOptions) -> Result<(), Failure> {
    connection::is_websocket(url)?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|err| Failure::Usage(format!("reading the batch from stdin: {err}")))?;
    let requests = batch_requests(&input)?;
    let connection = Connection::open(url, options).await?;
    let responses = connection.batch(requests).await;
    connection.close().await;
    let responses = responses?;
    let failed = responses
        .iter()
        .filter(|response| response.outcome.is_err())
        .count();
    if !responses.is_empty() {
        output::print(&responses);
    }
    match failed {
        0 => Ok(()),
        failed => Err(Failure::BatchErrors(failed)),
    }
}

/// The requests of a batch: a non-empty JSON array of
/// `{"method", "params"?, "id"?}` objects.
fn batch_requests(input: &str) -> Result<Vec<Request>, Failure> {
    let bad = |detail: String| Failure::Usage(format!("the batch on stdin: {detail}"));
    let value: Value =
        serde_json::from_str(input).map_err(|err| bad(format!("not valid JSON: {err}")))?;
    let Value::Array(items) = value else {
        return Err(bad("expected a JSON array of requests".to_owned()));
    };
    if items.is_empty() {
        return Err(bad("the array is empty".to_owned()));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(at, item)| {
            let Value::Object(mut object) = item else {
                return Err(bad(format!("item {at} is not an object")));
            };
            let method = match object.remove("method") {
                Some(Value::String(method)) => method,
                _ => return Err(bad(format!("item {at} has no \"method\" string"))),
            };
            let params = match object.remove("params") {
                None => None,
                Some(params @ (Value::Array(_) | Value::Object(_))) => Some(params),
                Some(_) => {
                    return Err(bad(format!(
                        "item {at}: \"params\" must be an array or an object"
                    )));
                }
            };
            let id = object.remove("id");
            object.remove("jsonrpc");
            if let Some(key) = object.keys().next() {
                return Err(bad(format!("item {at} has an unknown member {key:?}")));
            }
            Ok(Request { method, params, id })
        })
        .collect()
}

async fn discover(args: DiscoverArgs, options: &ConnectionOptions) -> Result<(), Failure> {
    let connection = Connection::open(&args.url, options).await?;
    let doc = connection.call("rpc.discover", None).await;
    connection.close().await;
    let doc = doc?;
    if args.json {
        output::print_raw(&doc);
        return Ok(());
    }
    let doc = serde_json::from_str(doc.get()).map_err(|err| {
        Failure::Unreachable(format!(
            "the server's OpenRPC document does not parse: {err}"
        ))
    })?;
    output::print_text(&discover::render(&doc));
    Ok(())
}

async fn listen(args: ListenArgs, options: &ConnectionOptions) -> Result<(), Failure> {
    if !connection::is_websocket(&args.url)? {
        return Err(Failure::Usage(
            "listen needs a ws:// or wss:// URL (the server cannot push over HTTP)".to_owned(),
        ));
    }
    let first_call = match args.call.split_first() {
        Some((method, params)) => Some((method.clone(), params::parse(params)?)),
        None => None,
    };
    let client = connection::websocket(&args.url, options).await?;
    // Listening starts before the call, so that nothing it causes is missed.
    let mut notifications = client.notifications();
    if let Some((method, params)) = first_call {
        let result = Connection::WebSocket(client.clone())
            .call(&method, params.as_ref())
            .await?;
        output::print_line(&result);
    }
    let mut seen = 0_u64;
    let interrupted = interrupted_by_signal();
    tokio::pin!(interrupted);
    while args.count.is_none_or(|count| seen < count) {
        tokio::select! {
            notification = notifications.next() => {
                let Some(notification) = notification else {
                    return Err(Failure::Unreachable(format!("{}: the connection closed", args.url)));
                };
                let line = NotificationLine {
                    jsonrpc: "2.0",
                    method: &notification.method,
                    params: notification.params.as_deref(),
                };
                output::print_line(&line);
                seen += 1;
            }
            () = &mut interrupted => break,
        }
    }
    client.close().await;
    Ok(())
}

/// A notification as `listen` prints it: its params as the server sent
/// them.
#[derive(Serialize)]
struct NotificationLine<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a serde_json::value::RawValue>,
}

/// Completes on Ctrl-C (and SIGTERM on Unix): listening ends cleanly, with
/// a closing handshake.
async fn interrupted_by_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
