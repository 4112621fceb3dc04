//! jsonrpsee 0.26 with `add(a, b)` and `echo(s)`, as shipped.
//!
//! Run with: cargo run --release -p rpc-bench --bin jsonrpsee_server -- [--addr 127.0.0.1:0]

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let (addr, handle) = rpc_bench::servers::jsonrpsee(&args.addr).await?;
    println!("listening on ws://{addr}");
    handle.stopped().await;
    Ok(())
}
