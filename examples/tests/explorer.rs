//! The API explorer (`GET /explorer`) in a real headless Chromium, driven by
//! `tests/explorer/explorer.mjs` (playwright-core) against the running
//! calculator, chat, tour and axum_app examples: methods listed, a result,
//! an error with its code, a notification, tokens, the page under a mount
//! prefix, and no request anywhere but the server.
//!
//! Without node, the npm package or Debian's chromium, the test says so and
//! passes, unless `RPC_REQUIRE_BROWSER` is set (as `.ci/run` does).

mod common;

use std::time::Duration;

use common::running::{Running, start};

#[test]
fn the_explorer_works_in_headless_chromium() {
    let driver = common::node::project("explorer");
    if !common::node::browser_available() {
        return;
    }
    let (calculator, chat, tour) = (start("calculator"), start("chat"), start("tour"));
    let axum_app = start("axum_app");
    let url = |example: &Running| format!("http://{}", example.addr);
    let (calculator, chat, tour) = (url(&calculator), url(&chat), url(&tour));
    let mounted = format!("{}/rpc", url(&axum_app));
    let mut args = vec![
        "explorer.mjs",
        "--calculator",
        &calculator,
        "--chat",
        &chat,
        "--tour",
        &tour,
        "--mounted",
        &mounted,
    ];
    // `RPC_EXPLORER_SCREENSHOT=docs/explorer.png` renews the README's.
    let screenshot = std::env::var("RPC_EXPLORER_SCREENSHOT").ok();
    if let Some(path) = &screenshot {
        args.extend(["--screenshot", path]);
    }
    common::node::run(&driver, &args, Duration::from_secs(90));
}
