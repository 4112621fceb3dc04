//! `rpc-client` following a group with history: when the instance it is
//! on drains (a rolling restart), it moves to the next of its URLs at
//! once and reopens its subscription there with `since`, so the stream
//! yields every message once, in order, and no error.

use std::time::Duration;

use futures_util::StreamExt as _;
use rpc_client::Client;
use rpc_redis::RedisGroups;
use rpc_server::Server;
use serde_json::{Value, json};
use ws::within;

use crate::common::redis::{redis_url, unique_prefix};
use crate::common::ws;
use crate::server::history::Feed;

const LIMIT: Duration = Duration::from_secs(60);

fn config(url: &str, prefix: &str) -> rpc_redis::RedisConfig {
    let mut config = rpc_redis::RedisConfig::new(url).with_history(
        "room:*",
        rpc_server::groups::GroupHistory::new(10_000, Duration::from_secs(600)),
    );
    config.prefix = prefix.to_owned();
    config
}

#[tokio::test]
async fn a_subscription_moves_to_the_next_instance_when_one_drains_and_misses_nothing() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("client-drain");
        let mut handles = Vec::new();
        for _ in 0..2 {
            let groups = RedisGroups::with_config(config(&url, &prefix)).unwrap();
            assert!(groups.wait_connected(Duration::from_secs(5)).await);
            let handle = Server::builder()
                .groups(groups)
                .serve("127.0.0.1:0", Feed)
                .unwrap()
                .spawn();
            handles.push(handle);
        }
        let publisher = RedisGroups::with_config(config(&url, &prefix)).unwrap();
        assert!(publisher.wait_connected(Duration::from_secs(5)).await);

        let client = Client::builder(&format!("ws://{}", handles[0].local_addr()))
            .alternate_url(&format!("ws://{}", handles[1].local_addr()))
            .connect()
            .await
            .unwrap();
        let mut room = client
            .subscribe::<Value>(
                "subscribe_room",
                json!({"room": "room:d"}),
                "unsubscribe_room",
            )
            .await
            .unwrap();
        // Until the first instance hears the room.
        loop {
            publisher
                .notify_group("room:d", "said", json!({"n": 0}))
                .unwrap();
            if tokio::time::timeout(Duration::from_millis(200), room.next())
                .await
                .is_ok()
            {
                break;
            }
        }
        let last = 400;
        let publishing = tokio::spawn(async move {
            for n in 1..=last {
                publisher
                    .notify_group("room:d", "said", json!({"n": n}))
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            publisher.shutdown().await;
        });
        tokio::time::sleep(Duration::from_millis(250)).await;
        // A rolling restart: the first instance drains (1001).
        handles[0].shutdown_and_wait().await;

        let mut heard = Vec::new();
        while heard.last() != Some(&last) {
            let item = tokio::time::timeout(Duration::from_secs(10), room.next())
                .await
                .expect("items keep coming")
                .expect("the stream goes on");
            let item = item.unwrap_or_else(|err| panic!("no error after a drain: {err}"));
            let n = item["n"].as_u64().unwrap();
            if n > 0 {
                heard.push(n);
            }
        }
        assert_eq!(
            heard,
            (1..=last).collect::<Vec<_>>(),
            "every message once, in order"
        );
        publishing.await.unwrap();
        handles[1].shutdown_and_wait().await;
    })
    .await;
}
