//! The raw tokio-tungstenite echo server: the limit a JSON-RPC server over
//! the same stack can approach.
//!
//! Run with: cargo run --release -p rpc-bench --bin echo_server -- [--addr 127.0.0.1:0] [--read-buffer 4096]

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// tungstenite's read buffer, in bytes.
    #[arg(long, default_value_t = rpc_bench::servers::ECHO_READ_BUFFER)]
    read_buffer: usize,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    rpc_bench::servers::echo(listener, args.read_buffer).await;
    Ok(())
}
