//! A typed client for the calculator: `#[rpc_client]` on the API's trait
//! generates `CalculatorClient`, so calls read like method calls.
//!
//! Run with: cargo run -p examples --example typed_client [-- --url ws://127.0.0.1:9000]
//!
//! Start the calculator first (`cargo run -p examples --example calculator`).

use rpc_client::{CallError, Client, rpc_client};

/// The calculator's API, as its clients see it.
#[rpc_client]
#[allow(dead_code)] // The trait is the API's description; the client implements the calls.
trait Calculator {
    async fn add(&self, a: i64, b: i64) -> i64;
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64;
    #[rpc(name = "math.divide")]
    async fn divide(&self, a: f64, b: f64) -> f64;
    #[rpc(notification)]
    async fn log(&self, line: String);
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = examples::flag_from_args("--url", "ws://HOST:PORT", "ws://127.0.0.1:9000");
    let calc = CalculatorClient::new(Client::connect(&url).await?);
    println!("42 - 23 = {}", calc.subtract(42, 23).await?);
    println!("2 + 3 = {}", calc.add(2, 3).await?);
    println!("1 / 4 = {}", calc.divide(1.0, 4.0).await?);
    match calc.divide(1.0, 0.0).await {
        Err(CallError::Remote(error)) => {
            println!("1 / 0 fails: {} ({})", error.message(), error.code())
        }
        other => println!("1 / 0 gave {other:?}"),
    }
    calc.log("typed client was here".to_owned()).await?;
    calc.client().close().await;
    Ok(())
}
