//! Group history on Redis (`RedisConfig::history`): followers recover what
//! they missed from any instance, the seam between history and live
//! messages holds across instances, a flushed Redis or an exceeded history
//! is told as `recovered: false`, and a Redis killed and restarted under a
//! steady publish rate loses nothing for members of a group with history.

use std::time::Duration;

use redis::{PrivateRedis, instance_of, quick_config, redis_url, unique_prefix};
use rpc_redis::{RedisConfig, RedisGroups};
use rpc_server::ServerHandle;
use rpc_server::groups::GroupHistory;
use serde_json::{Value, json};
use ws::{Client, within};

use super::history::{Feed, call, follow, next_item, read_through};
use crate::common::redis;
use crate::common::ws;

const LIMIT: Duration = Duration::from_secs(120);

fn config(url: &str, prefix: &str, max_messages: usize) -> RedisConfig {
    quick_config(url, prefix).with_history(
        "room:*",
        GroupHistory::new(max_messages, Duration::from_secs(600)),
    )
}

async fn instance(config: RedisConfig) -> (ServerHandle, RedisGroups) {
    instance_of(config, Feed).await
}

#[tokio::test]
async fn a_follower_recovers_what_it_missed_from_another_instance() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("history-recover");
        let (a, _) = instance(config(&url, &prefix, 1_000)).await;
        let (b, _) = instance(config(&url, &prefix, 1_000)).await;
        let mut client = Client::connect(b.local_addr()).await;
        let id = follow(&mut client, "room:r", None).await;
        // Said on A, heard on B once B hears the room.
        let first = loop {
            a.notify_group("room:r", "said", json!({"n": 0})).unwrap();
            let item =
                tokio::time::timeout(Duration::from_millis(200), next_item(&mut client, &id)).await;
            if let Ok(item) = item {
                break item;
            }
        };
        let epoch = first["position"]["epoch"].clone();
        drop(client);

        for n in 1..=500 {
            a.notify_group("room:r", "said", json!({"n": n})).unwrap();
        }
        // Back on the other instance, from the last position it saw.
        let mut client = Client::connect(a.local_addr()).await;
        let id = follow(&mut client, "room:r", Some(&first["position"])).await;
        a.notify_group("room:r", "said", json!({"n": 501})).unwrap();
        let (seen, last) = read_through(&mut client, &id, 501).await;
        let start = first["result"]["n"].as_u64().unwrap() + 1;
        let expected: Vec<u64> = (start..=501).collect();
        assert_eq!(seen, expected, "all, in order, once");
        assert_eq!(last["epoch"], epoch);
        a.shutdown_and_wait().await;
        b.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn the_seam_holds_across_instances() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("history-seam");
        let (a, _) = instance(config(&url, &prefix, 10_000)).await;
        let (b, _) = instance(config(&url, &prefix, 10_000)).await;
        let publisher = {
            let a = a.clone();
            tokio::spawn(async move {
                for n in 1.. {
                    a.notify_group("room:seam", "said", json!({"n": n}))
                        .unwrap();
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            })
        };
        let mut client = Client::connect(b.local_addr()).await;
        let id = follow(&mut client, "room:seam", None).await;
        let mut since = next_item(&mut client, &id).await;
        for round in 0..200 {
            let position = since["position"].clone();
            let from = since["result"]["n"].as_u64().unwrap();
            let id = follow(&mut client, "room:seam", Some(&position)).await;
            for k in 1..=5 {
                let item = next_item(&mut client, &id).await;
                assert_eq!(item["result"]["n"], from + k, "round {round}: {item}");
                assert_eq!(
                    item["position"]["offset"],
                    position["offset"].as_u64().unwrap() + k
                );
                since = item;
            }
            let closed = call(&mut client, "unsubscribe_room", json!([id]), 2).await;
            assert_eq!(closed["result"], true, "{closed}");
        }
        publisher.abort();
        a.shutdown_and_wait().await;
        b.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn an_exceeded_history_or_a_flushed_redis_is_not_recovered() {
    let Some(redis) = PrivateRedis::start().await else {
        return;
    };
    within(LIMIT, async {
        let url = redis.url();
        let (a, _) = instance(config(&url, "flush", 10)).await;
        let mut client = Client::connect(a.local_addr()).await;
        let id = follow(&mut client, "room:f", None).await;
        for n in 1..=300 {
            a.notify_group("room:f", "said", json!({"n": n})).unwrap();
        }
        let (_, last) = read_through(&mut client, &id, 300).await;
        let epoch = last["epoch"].clone();
        assert_eq!(last["offset"], 300);
        let mut admin = ::redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let kept: usize = ::redis::cmd("XLEN")
            .arg("flush:h:{room:f}")
            .query_async(&mut admin)
            .await
            .unwrap();
        // MAXLEN ~ trims whole stream nodes (100 entries each by default).
        assert!((10..=110).contains(&kept), "{kept} kept");
        let id = follow(&mut client, "room:f", Some(&json!({"epoch": epoch, "offset": 1}))).await;
        let notice = next_item(&mut client, &id).await;
        assert_eq!(
            notice,
            json!({"subscription": id, "recovered": false, "position": {"epoch": epoch, "offset": 300}})
        );

        let () = ::redis::cmd("FLUSHALL").query_async(&mut admin).await.unwrap();
        let id = follow(&mut client, "room:f", Some(&last)).await;
        let notice = next_item(&mut client, &id).await;
        assert_eq!(notice["recovered"], false, "{notice}");
        assert_ne!(notice["position"]["epoch"], epoch, "a new epoch");
        assert_eq!(notice["position"]["offset"], 0);
        a.notify_group("room:f", "said", json!({"n": 301})).unwrap();
        let item = next_item(&mut client, &id).await;
        assert_eq!(item["result"]["n"], 301);
        assert_eq!(item["position"], json!({"epoch": notice["position"]["epoch"], "offset": 1}));
        a.shutdown_and_wait().await;
    })
    .await;
}

/// What one receiver heard: the `n`s, in order.
async fn hear_until(client: &mut Client, id: Option<&str>, last: u64) -> Vec<u64> {
    let mut heard = Vec::new();
    loop {
        let message = client.receive_json().await;
        let n = match id {
            Some(id) if message["params"]["subscription"] == id => {
                &message["params"]["result"]["n"]
            }
            None if message["method"] == "said" => &message["params"]["n"],
            _ => continue,
        };
        let n = n.as_u64().unwrap_or_else(|| panic!("{message}"));
        heard.push(n);
        if n == last {
            return heard;
        }
    }
}

#[tokio::test]
async fn a_redis_restart_under_load_loses_nothing_in_a_group_with_history() {
    let Some(mut redis) = PrivateRedis::start_durable().await else {
        return;
    };
    within(LIMIT, async {
        let url = redis.url();
        let (a, _) = instance(config(&url, "restart", 10_000)).await;
        let (b, _) = instance(config(&url, "restart", 10_000)).await;
        let mut member = Client::connect(b.local_addr()).await;
        assert_eq!(
            call(&mut member, "join", json!(["room:x"]), 1).await["result"],
            Value::Null
        );
        let mut follower_b = Client::connect(b.local_addr()).await;
        let id_b = follow(&mut follower_b, "room:x", None).await;
        let mut follower_a = Client::connect(a.local_addr()).await;
        let id_a = follow(&mut follower_a, "room:x", None).await;
        // Until B hears the room, nothing counts.
        loop {
            a.notify_group("room:x", "said", json!({"n": 0})).unwrap();
            if tokio::time::timeout(
                Duration::from_millis(200),
                next_item(&mut follower_b, &id_b),
            )
            .await
            .is_ok()
            {
                break;
            }
        }
        let last = 600;
        let publisher = {
            let a = a.clone();
            tokio::spawn(async move {
                for n in 1..=last {
                    a.notify_group("room:x", "said", json!({"n": n})).unwrap();
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        redis.stop();
        tokio::time::sleep(Duration::from_millis(500)).await;
        redis.restart().await;
        publisher.await.unwrap();

        let expected: Vec<u64> = (1..=last).collect();
        for (who, client, id) in [
            ("B's member", &mut member, None),
            ("B's follower", &mut follower_b, Some(id_b.as_str())),
            ("A's follower", &mut follower_a, Some(id_a.as_str())),
        ] {
            let mut heard =
                tokio::time::timeout(Duration::from_secs(20), hear_until(client, id, last))
                    .await
                    .unwrap_or_else(|_| panic!("{who} did not hear {last} within 20 s"));
            // Before the publisher started, the room may have said 0 a few times.
            heard.retain(|n| *n != 0);
            assert_eq!(heard, expected, "{who}: every message once, in order");
        }
        a.shutdown_and_wait().await;
        b.shutdown_and_wait().await;
    })
    .await;
}
