//! A bare hyper HTTP/1.1 server answering every request with a fixed
//! JSON-RPC reply: the limit an HTTP JSON-RPC server can approach.
//!
//! Run with: cargo run --release -p rpc-bench --bin hyper_server -- [--addr 127.0.0.1:0]

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    rpc_bench::servers::bare_hyper(listener).await;
    Ok(())
}
