// A dependency renamed in Cargo.toml (here with `extern crate … as`):
// `crate = "…"` tells the macros where the framework is.
extern crate rpc_client as my_client;
extern crate rpc_server as my_rpc;

struct Calc;

#[my_rpc::rpc_service(crate = "my_rpc")]
impl Calc {
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

#[my_client::rpc_client(crate = "my_client")]
trait Calculator {
    async fn add(&self, a: i64, b: i64) -> i64;
}

fn main() {
    let _ = my_rpc::serve("127.0.0.1:0", Calc);
}
