//! A call joining its caller's distributed trace: the server's spans go to
//! OpenTelemetry (here an exporter that prints them; in production, OTLP to
//! a collector), and a `traceparent` header sent with a request makes the
//! caller's span their parent. Needs rpc-server's `opentelemetry` feature.
//!
//! Run with: cargo run -p examples --example tracing_otel [-- --addr 127.0.0.1:9010]
//!
//! It starts the server, POSTs one call with a `traceparent`, stops, and
//! prints the spans: `rpc_request` and `rpc_call` with the caller's trace
//! id, `rpc_request`'s parent the caller's span.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use rpc_server::{Server, rpc_service};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// What the caller's own tracing would send: its trace, and its span.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

struct Calc;

#[rpc_service]
impl Calc {
    /// `a + b`.
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Spans to OpenTelemetry: the framework's are at debug.
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
        .build();
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new(
            "rpc_core=debug,rpc_server=debug",
        ))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("tracing_otel")))
        .init();

    let server = Server::builder()
        .serve(examples::addr_from_args("127.0.0.1:9010"), Calc)?
        .spawn();
    let addr = server.local_addr();
    let body = r#"{"jsonrpc":"2.0","method":"add","params":[2,3],"id":1}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         traceparent: {TRACEPARENT}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await?;
    let answer = reply.split("\r\n\r\n").nth(1).unwrap_or_default();
    println!("add(2, 3) over HTTP with traceparent {TRACEPARENT}: {answer}");
    server.shutdown_and_wait().await;
    // Prints the spans still held, then stops exporting.
    provider.force_flush()?;
    provider.shutdown()?;
    Ok(())
}
