//! The API explorer's form for every kind of parameter (text, number,
//! boolean and enum choices, JSON for arrays of objects, optional params),
//! and the server's strings shown as text, never as markup, in a real
//! headless Chromium driven by `tests/explorer/forms.mjs`.
//!
//! Without node, the npm package or Debian's chromium, the test says so and
//! passes, unless `RPC_REQUIRE_BROWSER` is set (as `.ci/run` does).

use std::time::Duration;

use rpc_server::{RpcError, Server, rpc_service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::node;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Point {
    x: f64,
    y: f64,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Unit {
    Cm,
    Inch,
}

struct Forms;

#[rpc_service(title = "forms")]
impl Forms {
    /// Says back what it was given.
    fn describe(
        &self,
        label: String,
        count: u32,
        visible: bool,
        unit: Unit,
        points: Vec<Point>,
        note: Option<String>,
    ) -> Value {
        json!({
            "label": label, "count": count, "visible": visible,
            "unit": unit, "points": points, "note": note,
        })
    }

    /// <img src=x onerror="window.injected = true"> is shown as text.
    fn markup(&self) -> Result<(), RpcError> {
        Err(
            RpcError::new(4001, r#"<img src=x onerror="window.injected = true">"#)
                .with_data(&"<script>window.injected = true</script>"),
        )
    }
}

#[test]
fn every_kind_of_parameter_has_its_field() {
    let driver = node::project("explorer");
    if !node::browser_available() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(async {
        Server::builder()
            .serve("127.0.0.1:0", Forms)
            .expect("a server")
            .spawn()
    });
    let url = format!("http://{}", server.local_addr());
    node::run(
        &driver,
        &["forms.mjs", "--url", &url],
        Duration::from_secs(90),
    );
}
