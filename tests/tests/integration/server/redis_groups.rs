//! Several server instances sharing groups on a real Redis (`rpc-redis`):
//! broadcasts from every instance, one connection addressed from anywhere,
//! a publisher without a server, counts, and faults (Redis restarting, an
//! instance dying, a Redis that never answers).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::{PrivateRedis, quick_config as quick, redis_url, unique_prefix};
use rpc_redis::{RedisConfig, RedisGroups};
use rpc_server::connect::ConnectionId;
use rpc_server::groups::{GroupBackend as _, GroupStream};
use rpc_server::hooks::{BackendEvent, DropCause, Hooks};
use rpc_server::{RpcContext, RpcError, Server, ServerHandle, rpc_service};
use serde_json::{Value, json};
use ws::{Client, within};

use crate::common::http;
use crate::common::redis;
use crate::common::ws;

const LIMIT: Duration = Duration::from_secs(120);

struct Rooms;

#[rpc_service]
impl Rooms {
    fn join(&self, ctx: &RpcContext, room: String) -> Result<(), rpc_server::RpcError> {
        ctx.join(&room)
    }

    fn whoami(&self, ctx: &RpcContext) -> ConnectionId {
        ctx.connection_id()
    }

    /// Sends `text` to connection `to`, wherever it is.
    fn tell(&self, ctx: &RpcContext, to: ConnectionId, text: String) -> Result<bool, RpcError> {
        let peer = ctx.peer().ok_or_else(|| RpcError::application("no peer"))?;
        Ok(peer.notify_connection(to, "told", [text])?)
    }

    fn ping(&self) -> &'static str {
        "pong"
    }

    /// Everything broadcast to `room`, as a subscription.
    #[rpc(subscription = "room")]
    fn subscribe_room(&self, ctx: &RpcContext, room: String) -> Result<GroupStream, RpcError> {
        ctx.group_stream(&room)
    }
}

/// How many subscribers `channel` has on the Redis at `url`.
async fn subscribers(url: &str, channel: &str) -> usize {
    let client = ::redis::Client::open(url).expect("a Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let (_, count): (String, usize) = ::redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(&mut connection)
        .await
        .expect("PUBSUB NUMSUB");
    count
}

/// Backend events, as a server's hooks hear them.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<BackendEvent>>>);

impl Hooks for Events {
    fn group_backend(&self, event: &BackendEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Events {
    fn dropped(&self, cause: DropCause) -> u64 {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|event| match event {
                BackendEvent::Dropped { messages, cause: c } if *c == cause => *messages,
                _ => 0,
            })
            .sum()
    }

    fn saw(&self, wanted: fn(&BackendEvent) -> bool) -> bool {
        self.0.lock().unwrap().iter().any(wanted)
    }
}

struct Instance {
    handle: ServerHandle,
    groups: RedisGroups,
    events: Events,
}

async fn instance(config: RedisConfig) -> Instance {
    let groups = RedisGroups::with_config(config).expect("a valid URL");
    let events = Events::default();
    let handle = Server::builder()
        .groups(groups.clone())
        .hooks(events.clone())
        .serve("127.0.0.1:0", Rooms)
        .expect("bound")
        .spawn();
    Instance {
        handle,
        groups,
        events,
    }
}

/// Waits until `group` has `expected` members over every instance, as
/// `instance` counts them.
async fn wait_for_members(instance: &Instance, group: &str, expected: usize) {
    for _ in 0..500 {
        if instance.handle.member_count(group).await == Ok(expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{group} never had {expected} members (last count {:?})",
        instance.handle.member_count(group).await
    );
}

/// Broadcasts numbered messages from `handle` every 10 ms for `duration`;
/// each reaches the one local member at once, Redis or not.
async fn send_for(handle: &ServerHandle, sent: &mut u64, duration: Duration) {
    let deadline = tokio::time::Instant::now() + duration;
    while tokio::time::Instant::now() < deadline {
        let here = handle.notify_group("room", "n", [*sent]).unwrap();
        assert_eq!(here, 1, "the local member always gets it");
        *sent += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn joined(addr: std::net::SocketAddr, room: &str) -> Client {
    let mut client = Client::connect(addr).await;
    assert_eq!(
        client.call("join", json!([room]), 0).await["result"],
        Value::Null
    );
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_from_any_instance_reaches_every_member_once_and_in_order() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("broadcast");
        let mut instances = Vec::new();
        for _ in 0..3 {
            instances.push(instance(quick(&url, &prefix)).await);
        }
        let mut clients = Vec::new();
        for n in 0..300 {
            clients.push(joined(instances[n % 3].handle.local_addr(), "room").await);
        }
        for instance in &instances {
            wait_for_members(instance, "room", 300).await;
        }
        const EACH: u64 = 20;
        for n in 0..EACH {
            for (from, instance) in instances.iter().enumerate() {
                let here = instance
                    .handle
                    .notify_group("room", "news", json!({"from": from, "n": n}))
                    .unwrap();
                assert_eq!(here, 100, "the count is of this instance's members");
            }
        }
        let readers: Vec<_> = clients
            .into_iter()
            .map(|mut client| {
                tokio::spawn(async move {
                    let mut next = [0u64; 3];
                    for _ in 0..3 * EACH {
                        let news = client.receive_json().await;
                        let from = news["params"]["from"].as_u64().unwrap() as usize;
                        assert_eq!(news["params"]["n"], next[from], "in order, once: {news}");
                        next[from] += 1;
                    }
                    // Nothing more: the next message is this call's reply.
                    assert_eq!(client.call("ping", json!([]), 9).await["result"], "pong");
                })
            })
            .collect();
        for reader in readers {
            reader.await.unwrap();
        }
        for instance in &instances {
            let stats = instance.groups.stats();
            assert_eq!(stats.published, EACH, "one publish per broadcast");
            assert_eq!(stats.received, 2 * EACH, "the others' broadcasts, once");
            assert_eq!(stats.dropped_not_received + stats.dropped_outbox, 0);
            instance.handle.shutdown_and_wait().await;
        }
    })
    .await;
}

/// `/metrics` of instances sharing Redis: the backend's state, and what it
/// carried, counted exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_backend_and_its_traffic() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("metrics");
        let mut handles = Vec::new();
        for _ in 0..2 {
            let groups = RedisGroups::with_config(quick(&url, &prefix)).expect("a valid URL");
            let handle = Server::builder()
                .groups(groups)
                .metrics(true)
                .serve("127.0.0.1:0", Rooms)
                .expect("bound")
                .spawn();
            handles.push(handle);
        }
        let (a, b) = (&handles[0], &handles[1]);
        let mut member = joined(b.local_addr(), "room").await;
        for _ in 0..500 {
            if a.member_count("room").await == Ok(1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for n in 0..3 {
            assert_eq!(a.notify_group("room", "n", [n]).unwrap(), 0);
        }
        for n in 0..3 {
            assert_eq!(member.receive_json().await["params"], json!([n]));
        }
        let sent = http::metrics_with(a.local_addr(), "rpc_group_backend_published_total 3").await;
        http::assert_metrics(
            &sent,
            &[
                "rpc_group_backend_up 1",
                "rpc_group_backend_dropped_total 0",
            ],
        );
        let got = http::metrics_with(b.local_addr(), "rpc_group_backend_received_total 3").await;
        http::assert_metrics(&got, &["rpc_group_backend_up 1"]);
        for handle in handles {
            handle.shutdown_and_wait().await;
        }
    })
    .await;
}

/// A subscription fed by a group follows it across instances, with no code
/// of its own for Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_to_a_group_follows_it_across_instances() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("room-subscription");
        let here = instance(quick(&url, &prefix)).await;
        let there = instance(quick(&url, &prefix)).await;
        let mut client = Client::connect(here.handle.local_addr()).await;
        let reply = client.call("subscribe_room", json!(["lobby"]), 1).await;
        let id = reply["result"]
            .as_str()
            .expect("a subscription id")
            .to_owned();
        wait_for_members(&there, "lobby", 1).await;
        there
            .handle
            .notify_group("lobby", "said", json!({"text": "hi"}))
            .unwrap();
        assert_eq!(
            client.receive_json().await,
            json!({"jsonrpc": "2.0", "method": "room", "params": {
                "subscription": id,
                "result": {"method": "said", "params": {"text": "hi"}}
            }})
        );
        // Unsubscribed: no longer a member anywhere.
        let reply = client.call("unsubscribe_room", json!([id]), 2).await;
        assert_eq!(reply["result"], true);
        wait_for_members(&there, "lobby", 0).await;
        here.handle.shutdown_and_wait().await;
        there.handle.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_is_reached_from_another_instance_and_from_a_publisher() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("direct");
        let a = instance(quick(&url, &prefix)).await;
        let b = instance(quick(&url, &prefix)).await;
        let mut on_a = joined(a.handle.local_addr(), "lobby").await;
        let mut on_b = joined(b.handle.local_addr(), "lobby").await;
        let b_id: ConnectionId =
            serde_json::from_value(on_b.call("whoami", json!([]), 1).await["result"].clone())
                .unwrap();
        assert_eq!(b_id.instance(), b.groups.instance());

        // From a handler on A, through its peer.
        let reply = on_a
            .call("tell", json!([b_id, "from a client on A"]), 2)
            .await;
        assert_eq!(reply["result"], true);
        let told = on_b.receive_json().await;
        assert_eq!(told["method"], "told");
        assert_eq!(told["params"], json!(["from a client on A"]));

        // From A's server handle.
        assert!(
            a.handle
                .notify_connection(b_id, "told", ["from A"])
                .unwrap()
        );
        assert_eq!(on_b.receive_json().await["params"], json!(["from A"]));

        // Counts and memberships over both instances.
        wait_for_members(&a, "lobby", 2).await;
        assert_eq!(a.handle.groups_of(b_id).await.unwrap(), ["lobby"]);
        assert_eq!(b.handle.groups_of(b_id).await.unwrap(), ["lobby"]);

        // From a process that serves nothing.
        let publisher = RedisGroups::with_config(quick(&url, &prefix)).unwrap();
        assert!(publisher.wait_connected(Duration::from_secs(5)).await);
        assert_eq!(publisher.member_count("lobby").await, Ok(2));
        assert_eq!(
            publisher
                .notify_group("lobby", "news", ["from a cron job"])
                .unwrap(),
            0,
            "no members here"
        );
        assert!(
            publisher
                .notify_connection(b_id, "told", ["just you"])
                .unwrap()
        );
        assert!(
            publisher.flush(Duration::from_secs(2)).await,
            "both handed to Redis"
        );
        publisher.shutdown().await;
        // A stopped publisher says so, and counts what it can no longer send.
        assert!(!publisher.is_connected());
        publisher
            .notify_group("lobby", "news", ["too late"])
            .unwrap();
        assert_eq!(publisher.stats().dropped_outbox, 1);
        for client in [&mut on_a, &mut on_b] {
            assert_eq!(
                client.receive_json().await["params"],
                json!(["from a cron job"])
            );
        }
        assert_eq!(on_b.receive_json().await["params"], json!(["just you"]));
        assert_eq!(on_a.call("ping", json!([]), 3).await["result"], "pong");
        assert_eq!(publisher.stats().published, 2);

        // A connection that left is gone from the counts everywhere, and
        // its instance, with no member left, stops listening to the group.
        let channel = format!("{prefix}:g:lobby");
        assert_eq!(subscribers(&url, &channel).await, 2);
        drop(on_b);
        wait_for_members(&a, "lobby", 1).await;
        assert!(a.handle.groups_of(b_id).await.unwrap().is_empty());
        assert_eq!(subscribers(&url, &channel).await, 1);
        a.handle.shutdown_and_wait().await;
        b.handle.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_stops_no_local_delivery_and_every_loss_is_reported() {
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    within(LIMIT, async {
        let prefix = unique_prefix("restart");
        let mut config = quick(&redis.url(), &prefix);
        // Room for about a third of what is sent during the outage.
        config.max_outbox_bytes = 1_500;
        let a = instance(config.clone()).await;
        let b = instance(config).await;
        let mut near = joined(a.handle.local_addr(), "room").await;
        let mut far = joined(b.handle.local_addr(), "room").await;
        wait_for_members(&a, "room", 2).await;

        let mut sent = 0;
        send_for(&a.handle, &mut sent, Duration::from_millis(300)).await;
        redis.stop();
        send_for(&a.handle, &mut sent, Duration::from_millis(300)).await;
        // Calls go on while Redis is away; health says so.
        let mut bystander = Client::connect(a.handle.local_addr()).await;
        assert_eq!(bystander.call("ping", json!([]), 1).await["result"], "pong");
        assert!(matches!(
            a.groups.health(),
            rpc_server::groups::BackendHealth::Degraded(_)
        ));
        send_for(&a.handle, &mut sent, Duration::from_millis(300)).await;
        redis.restart().await;
        assert!(a.groups.wait_connected(Duration::from_secs(10)).await);
        assert!(b.groups.wait_connected(Duration::from_secs(10)).await);
        wait_for_members(&a, "room", 2).await;
        send_for(&a.handle, &mut sent, Duration::from_millis(300)).await;
        let total = sent;

        // The near member got everything, in order.
        let mut expected = 0;
        while expected < total {
            let message = near.receive_json().await;
            assert_eq!(message["params"][0], expected);
            expected += 1;
        }
        // The far one got an ordered subset ending with the last message.
        let mut got = Vec::new();
        while got.last() != Some(&(total - 1)) {
            let message = far.receive_json().await;
            got.push(message["params"][0].as_u64().unwrap());
        }
        assert!(
            got.windows(2).all(|pair| pair[0] < pair[1]),
            "in order: {got:?}"
        );
        let missed = total - got.len() as u64;
        assert!(missed > 0, "the outage cost the far member something");
        let (a_stats, b_stats) = (a.groups.stats(), b.groups.stats());
        assert!(a_stats.dropped_outbox > 0, "the outbox bound was reached");
        assert_eq!(
            a_stats.dropped_outbox + b_stats.dropped_not_received,
            missed,
            "every message the far member missed is reported ({a_stats:?}, {b_stats:?})"
        );
        // … to the hooks too, with the outage itself.
        assert_eq!(
            a.events.dropped(DropCause::OutboxFull),
            a_stats.dropped_outbox
        );
        assert_eq!(
            b.events.dropped(DropCause::NotReceived),
            b_stats.dropped_not_received
        );
        for events in [&a.events, &b.events] {
            assert!(events.saw(|e| matches!(e, BackendEvent::Down { .. })));
            assert!(events.saw(|e| *e == BackendEvent::Up));
        }
        a.handle.shutdown_and_wait().await;
        b.handle.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_dies_without_cleaning_up_leaves_the_counts_within_the_expiry() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("expiry");
        let survivor = instance(quick(&url, &prefix)).await;
        let _member = joined(survivor.handle.local_addr(), "room").await;

        // The other instance runs on a runtime of its own, which is then
        // torn down: its tasks vanish mid-await, as in a crash.
        let (url_b, prefix_b) = (url.clone(), prefix.clone());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let doomed = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let b = instance(quick(&url_b, &prefix_b)).await;
                addr_tx
                    .send((b.handle.local_addr(), b.groups.clone()))
                    .unwrap();
                std::mem::forget(b);
            });
            stop_rx.recv().unwrap();
            runtime.shutdown_background();
        });
        let (addr, groups_b) = addr_rx.recv().unwrap();
        let mut members = Vec::new();
        for _ in 0..3 {
            members.push(joined(addr, "room").await);
        }
        wait_for_members(&survivor, "room", 4).await;

        stop_tx.send(()).unwrap();
        doomed.join().unwrap();
        std::mem::forget(groups_b);
        let died = tokio::time::Instant::now();
        wait_for_members(&survivor, "room", 1).await;
        let gone_after = died.elapsed();
        assert!(
            gone_after < Duration::from_millis(2_500),
            "gone within the 1 s expiry (and a heartbeat): {gone_after:?}"
        );
        // A live member never expires, however long it stays.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(survivor.handle.member_count("room").await, Ok(1));
        survivor.handle.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_never_answers_holds_up_neither_startup_nor_shutdown() {
    within(LIMIT, async {
        // Accepts connections and never says a word.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", silent.local_addr().unwrap());
        let held = Arc::new(Mutex::new(Vec::new()));
        let holder = Arc::clone(&held);
        tokio::spawn(async move {
            while let Ok((socket, _)) = silent.accept().await {
                holder.lock().unwrap().push(socket);
            }
        });
        let started = tokio::time::Instant::now();
        let a = instance(quick(&url, "silent")).await;
        let mut client = joined(a.handle.local_addr(), "room").await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(!a.groups.wait_connected(Duration::from_secs(2)).await);
        assert_eq!(a.handle.notify_group("room", "n", [1]).unwrap(), 1);
        assert_eq!(client.receive_json().await["params"], json!([1]));
        assert!(
            a.handle.member_count("room").await.is_err(),
            "counts need Redis"
        );
        let health = health_body(a.handle.local_addr()).await;
        assert!(health.starts_with("degraded: "), "{health}");

        let stopping = tokio::time::Instant::now();
        a.handle.shutdown_and_wait().await;
        a.groups.shutdown().await;
        assert!(
            stopping.elapsed() < Duration::from_secs(5),
            "{:?}",
            stopping.elapsed()
        );
    })
    .await;
}

/// `GET /health`'s body, over a bare socket.
async fn health_body(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_to_a_thousand_members_over_two_instances_arrives_in_full() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("burst");
        let a = instance(quick(&url, &prefix)).await;
        let b = instance(quick(&url, &prefix)).await;
        let mut clients = Vec::new();
        for n in 0..1_000 {
            let on = if n % 2 == 0 { &a } else { &b };
            clients.push(joined(on.handle.local_addr(), "all").await);
        }
        wait_for_members(&a, "all", 1_000).await;
        const BURST: u64 = 100;
        for n in 0..BURST {
            a.handle.notify_group("all", "n", [n]).unwrap();
        }
        let readers: Vec<_> = clients
            .into_iter()
            .map(|mut client| {
                tokio::spawn(async move {
                    for n in 0..BURST {
                        assert_eq!(client.receive_json().await["params"], json!([n]));
                    }
                    client
                })
            })
            .collect();
        let mut clients = Vec::new();
        for reader in readers {
            clients.push(reader.await.unwrap());
        }
        assert_eq!(
            a.handle.member_count("all").await,
            Ok(1_000),
            "nobody was dropped"
        );
        let mut by_instance = HashMap::new();
        for instance in [&a, &b] {
            by_instance.insert(
                instance.groups.instance(),
                instance.handle.group_size("all"),
            );
        }
        assert_eq!(by_instance.values().sum::<usize>(), 1_000);
        a.handle.shutdown_and_wait().await;
        b.handle.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_private_certificate_carries_broadcasts() {
    let generated =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("a certificate");
    let dir = std::env::temp_dir().join(format!("rpc-rediss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let Some(redis) = PrivateRedis::start_tls(cert.clone(), key).await else {
        return;
    };
    within(LIMIT, async {
        let prefix = unique_prefix("tls");
        let mut config = quick(&redis.url(), &prefix);
        config.tls_ca = Some(cert);
        let a = instance(config.clone()).await;
        let b = instance(config).await;
        assert!(a.groups.wait_connected(Duration::from_secs(5)).await);
        let mut far = joined(b.handle.local_addr(), "room").await;
        wait_for_members(&a, "room", 1).await;
        a.handle.notify_group("room", "n", ["over TLS"]).unwrap();
        assert_eq!(far.receive_json().await["params"], json!(["over TLS"]));

        // Without trusting that certificate, the handshake fails: the
        // backend stays degraded, and says why.
        let untrusted = RedisGroups::with_config(quick(&redis.url(), &prefix)).unwrap();
        assert!(!untrusted.wait_connected(Duration::from_secs(1)).await);
        assert!(matches!(
            untrusted.health(),
            rpc_server::groups::BackendHealth::Degraded(_)
        ));
        a.handle.shutdown_and_wait().await;
        b.handle.shutdown_and_wait().await;
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_member_that_does_not_read_meets_the_slow_member_policy() {
    let Some(url) = redis_url().await else { return };
    within(LIMIT, async {
        let prefix = unique_prefix("slow");
        let a = instance(quick(&url, &prefix)).await;
        let groups = RedisGroups::with_config(quick(&url, &prefix)).unwrap();
        let b = Server::builder()
            .groups(groups.clone())
            .max_queued_bytes(4 * 64 * 1024)
            .serve("127.0.0.1:0", Rooms)
            .expect("bound")
            .spawn();
        let mut reader = joined(a.handle.local_addr(), "room").await;
        let mut sleeper = joined(b.local_addr(), "room").await;
        wait_for_members(&a, "room", 2).await;
        // 64 KiB messages from A; the member on B never reads them.
        let big = "x".repeat(64 * 1024);
        for n in 0..200 {
            a.handle
                .notify_group("room", "blob", json!([n, big]))
                .unwrap();
            assert_eq!(reader.receive_json().await["params"][0], n);
        }
        wait_for_members(&a, "room", 1).await;
        assert_eq!(b.group_size("room"), 0, "disconnected on its own instance");
        if let Some(frame) = sleeper.closed().await {
            assert_eq!(frame.reason.as_str(), "too slow to keep up");
        }
        a.handle.shutdown_and_wait().await;
        b.shutdown_and_wait().await;
    })
    .await;
}
