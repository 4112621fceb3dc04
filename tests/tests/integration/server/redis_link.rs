//! The Redis link against load and forgery (security review, round two):
//! mass joins on one instance hold up neither its heartbeat nor delivery
//! from another, a join or a leave writes to Redis in proportion to the
//! change, not to how many groups the connection is in, and what anyone
//! publishes on our channels reaches a socket only if it is a
//! notification.

use std::time::{Duration, Instant};

use redis::{PrivateRedis, instance_of, redis_url, unique_prefix};
use rpc_redis::{RedisConfig, RedisGroups};
use rpc_server::connect::ConnectionId;
use rpc_server::groups::GroupBackend as _;
use rpc_server::{RpcContext, RpcError, ServerHandle, rpc_service};
use serde_json::json;
use ws::{Client, within};

use crate::common::redis;
use crate::common::ws;

const LIMIT: Duration = Duration::from_secs(120);

struct Rooms;

#[rpc_service]
impl Rooms {
    fn join(&self, ctx: &RpcContext, room: String) -> Result<(), RpcError> {
        ctx.join(&room)
    }

    fn leave(&self, ctx: &RpcContext, room: String) {
        ctx.leave(&room);
    }

    fn whoami(&self, ctx: &RpcContext) -> ConnectionId {
        ctx.connection_id()
    }

    /// Joins `count` rooms named `prefix0`, `prefix1`, … (at once: a join
    /// costs more the more groups the connection is in).
    fn join_many(&self, ctx: &RpcContext, prefix: String, count: usize) -> Result<(), RpcError> {
        for n in 0..count {
            ctx.join(&format!("{prefix}{n}"))?;
        }
        Ok(())
    }
}

fn config(url: &str, prefix: &str) -> RedisConfig {
    let mut config = RedisConfig::new(url);
    config.prefix = prefix.to_owned();
    // Short enough that a link task holding up its heartbeat for the
    // joins (40,000 subscriptions one at a time: several seconds) lets the
    // alive key lapse; long enough for a busy 2-core CI machine.
    config.heartbeat = Duration::from_millis(300);
    config.expiry = Duration::from_secs(3);
    config.response_timeout = Duration::from_secs(2);
    config
}

async fn instance(config: RedisConfig) -> (ServerHandle, RedisGroups) {
    instance_of(config, Rooms).await
}

async fn admin(url: &str) -> ::redis::aio::MultiplexedConnection {
    // Patient: the process is busy with the joins.
    let config =
        ::redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(10)));
    ::redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mass_joins_hold_up_neither_the_heartbeat_nor_delivery() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("mass-joins");
        let (a, _) = instance(config(&url, &prefix)).await;
        let (b, b_groups) = instance(config(&url, &prefix)).await;
        let mut listener = Client::connect(b.local_addr()).await;
        assert_eq!(
            listener.call("join", json!(["watch"]), 1).await["result"],
            json!(null)
        );
        // Until B hears the room.
        loop {
            a.notify_group("watch", "tick", json!([0])).unwrap();
            let heard =
                tokio::time::timeout(Duration::from_millis(100), listener.receive_json()).await;
            if heard.is_ok() {
                break;
            }
        }
        while tokio::time::timeout(Duration::from_millis(100), listener.receive_json())
            .await
            .is_ok()
        {}

        // 40 connections each join 1,000 new rooms on B, in batches of
        // 100 calls (every cap kept).
        let mut joiners = Vec::new();
        for n in 0..40 {
            let addr = b.local_addr();
            joiners.push(tokio::spawn(async move {
                let mut client = Client::connect(addr).await;
                for batch in 0..10 {
                    let calls: Vec<_> = (0..100)
                        .map(|k| {
                            let room = format!("mass{n}-{}", batch * 100 + k);
                            json!({"jsonrpc": "2.0", "method": "join", "params": [room], "id": k})
                        })
                        .collect();
                    client.send(&json!(calls).to_string()).await;
                    let replies = client.receive_json().await;
                    assert_eq!(replies.as_array().map(Vec::len), Some(100), "{replies}");
                }
                client
            }));
        }
        // Meanwhile: B's alive key never lapses, and A's ticks reach B.
        let alive = format!("{prefix}:i:{}:alive", b_groups.instance());
        let mut redis = admin(&url).await;
        let started = Instant::now();
        let mut tick = 0_u64;
        let mut worst = Duration::ZERO;
        while started.elapsed() < Duration::from_secs(3)
            || joiners.iter().any(|joiner| !joiner.is_finished())
        {
            tick += 1;
            let sent = Instant::now();
            a.notify_group("watch", "tick", json!([tick])).unwrap();
            loop {
                let message =
                    tokio::time::timeout(Duration::from_secs(10), listener.receive_json())
                        .await
                        .expect("A's tick reaches B while B's members join");
                if message["params"][0] == tick {
                    break;
                }
            }
            worst = worst.max(sent.elapsed());
            let exists: bool = ::redis::cmd("EXISTS")
                .arg(&alive)
                .query_async(&mut redis)
                .await
                .unwrap();
            assert!(
                exists,
                "B's alive key lapsed during the joins (tick {tick})"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut clients = Vec::new();
        for joiner in joiners {
            clients.push(joiner.await.unwrap());
        }
        // The counts are there in the end.
        for _ in 0..500 {
            if a.member_count("mass39-999").await == Ok(1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(a.member_count("mass39-999").await, Ok(1));
        // Reported, not asserted (a timed assertion measures the machine):
        // on a 2-core debug build the joins themselves keep the process busy.
        eprintln!(
            "worst A to B latency during 40,000 joins: {worst:?} ({tick} ticks in {:?})",
            started.elapsed()
        );
        a.shutdown_and_wait().await;
        b.shutdown_and_wait().await;
    })
    .await;
}

/// Bytes Redis has read from its clients so far.
async fn bytes_into(redis: &mut ::redis::aio::MultiplexedConnection) -> u64 {
    let info: String = ::redis::cmd("INFO")
        .arg("stats")
        .query_async(redis)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("total_net_input_bytes:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("total_net_input_bytes")
}

#[tokio::test]
async fn a_join_or_leave_writes_in_proportion_to_the_change() {
    let Some(redis) = PrivateRedis::start().await else {
        return;
    };
    within(LIMIT, async {
        let url = redis.url();
        let (server, groups) = instance(config(&url, "proportional")).await;
        let mut client = Client::connect(server.local_addr()).await;
        let reply = client.call("join_many", json!(["room-", 999]), 1).await;
        assert_eq!(reply["result"], json!(null), "{reply}");
        assert!(groups.flush(Duration::from_secs(5)).await);
        tokio::time::sleep(Duration::from_millis(300)).await;

        let mut admin = admin(&url).await;
        let before = bytes_into(&mut admin).await;
        for n in 0..200 {
            client.call("join", json!(["extra"]), 2 * n).await;
            client.call("leave", json!(["extra"]), 2 * n + 1).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let written = bytes_into(&mut admin).await - before;
        // 400 changes of one membership each, plus heartbeats and this
        // query: a few hundred bytes apiece. Rewriting the connection's
        // whole list of 1,000 groups each time was about 26 KB apiece.
        eprintln!("400 joins and leaves wrote {written} bytes to Redis");
        assert!(written < 400 * 1024, "{written} bytes for 400 changes");

        // And the registry says what the connection is in.
        let id: ConnectionId =
            serde_json::from_value(client.call("whoami", json!([]), 1000).await["result"].clone())
                .expect("an id");
        let (other, _) = instance(config(&url, "proportional")).await;
        let seen = other.groups_of(id).await.expect("groups_of");
        assert_eq!(seen.len(), 999, "from the other instance");
        assert!(seen.contains(&"room-998".to_owned()));
        server.shutdown_and_wait().await;
        other.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn forged_frames_on_redis_never_reach_a_socket() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("forged");
        let (server, _) = instance(config(&url, &prefix)).await;
        let mut member = Client::connect(server.local_addr()).await;
        assert_eq!(
            member.call("join", json!(["room"]), 1).await["result"],
            json!(null)
        );
        let redis = admin(&url).await;
        let channel = format!("{prefix}:g:room");
        let publish = |payload: String| {
            let mut redis = redis.clone();
            let channel = channel.clone();
            async move {
                let _: i64 = ::redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(payload)
                    .query_async(&mut redis)
                    .await
                    .unwrap();
            }
        };
        // Until the instance hears the room, as another instance would be heard.
        let origin = "00000000000000aa";
        let mut seq = 0;
        loop {
            seq += 1;
            publish(format!(
                r#"{origin} {seq} -
{{"jsonrpc":"2.0","method":"hello","params":[{seq}]}}"#
            ))
            .await;
            if tokio::time::timeout(Duration::from_millis(100), member.receive_json())
                .await
                .is_ok()
            {
                break;
            }
        }
        while tokio::time::timeout(Duration::from_millis(100), member.receive_json())
            .await
            .is_ok()
        {}
        // A response, a call, stray text, bad params: none is forwarded.
        for forged in [
            r#"{"jsonrpc":"2.0","result":"forged","id":1}"#,
            r#"{"jsonrpc":"2.0","method":"steal","params":[],"id":7}"#,
            "\u{1b}]0;owned\u{7}",
            r#"{"jsonrpc":"2.0","method":"x","params":"str"}"#,
        ] {
            seq += 1;
            publish(format!("{origin} {seq} -\n{forged}")).await;
        }
        seq += 1;
        publish(format!(
            r#"{origin} {seq} -
{{"jsonrpc":"2.0","method":"hello","params":["after"]}}"#
        ))
        .await;
        let next = member.receive_json().await;
        assert_eq!(
            next["params"],
            json!(["after"]),
            "only the notification: {next}"
        );
        server.shutdown_and_wait().await;
    })
    .await;
}
