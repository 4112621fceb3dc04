//! Group history in one process (`LocalGroups::with_history`): positions
//! on a followed group's items, recovery with `since` after a disconnect,
//! the seam between history and live messages, and `recovered: false`
//! when the history no longer reaches back. The same over Redis is in
//! `redis_history.rs`.

use std::time::Duration;

use futures_util::Stream;
use rpc_server::groups::{GroupHistory, HistoryRules, LocalGroups, Position, Positioned};
use rpc_server::{RpcContext, RpcError, Server, ServerHandle, rpc_service};
use serde_json::{Value, json};
use ws::{Client, within};

use crate::common::ws;

const LIMIT: Duration = Duration::from_secs(60);

/// A room followed as a subscription, with recovery.
pub(crate) struct Feed;

#[rpc_service]
impl Feed {
    /// Every `said` in `room`, after `since` when given.
    #[rpc(subscription = "room")]
    fn subscribe_room(
        &self,
        ctx: &RpcContext,
        room: String,
        since: Option<Position>,
    ) -> Result<impl Stream<Item = Positioned<Value>> + Send + 'static, RpcError> {
        Ok(ctx.group_stream_since(&room, since)?.params_of("said"))
    }

    /// Joins `room` as a plain member (its `said` notifications as they are).
    fn join(&self, ctx: &RpcContext, room: String) -> Result<(), RpcError> {
        ctx.join(&room)
    }

    /// Says `n` in `room`.
    fn say(&self, ctx: &RpcContext, room: String, n: u64) -> Result<usize, RpcError> {
        let peer = ctx.peer().ok_or_else(RpcError::method_not_found)?;
        Ok(peer.notify_group(&room, "said", json!({"n": n}))?)
    }
}

fn history(max_messages: usize) -> LocalGroups {
    LocalGroups::new().with_history(HistoryRules::new().rule(
        "room:*",
        GroupHistory::new(max_messages, Duration::from_secs(600)),
    ))
}

fn start(groups: LocalGroups) -> ServerHandle {
    Server::builder()
        .groups(groups)
        .serve("127.0.0.1:0", Feed)
        .unwrap()
        .spawn()
}

/// Opens a subscription to `room` (from `since`); returns its id.
pub(crate) async fn follow(client: &mut Client, room: &str, since: Option<&Value>) -> String {
    let params = match since {
        Some(since) => json!({"room": room, "since": since}),
        None => json!({"room": room}),
    };
    let reply = call(client, "subscribe_room", params, 1).await;
    reply["result"]
        .as_str()
        .unwrap_or_else(|| panic!("a subscription id: {reply}"))
        .to_owned()
}

/// Sends a request and returns its reply, skipping the notifications that
/// arrive meanwhile.
pub(crate) async fn call(client: &mut Client, method: &str, params: Value, id: u64) -> Value {
    let request = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
    client.send(&request.to_string()).await;
    loop {
        let message = client.receive_json().await;
        if message.get("method").is_none() {
            assert_eq!(message["id"], id, "{message}");
            return message;
        }
    }
}

/// The next notification of subscription `id`: its params.
pub(crate) async fn next_item(client: &mut Client, id: &str) -> Value {
    loop {
        let message = client.receive_json().await;
        if message["params"]["subscription"] == id {
            return message["params"].clone();
        }
    }
}

/// Reads items until `n` has been seen; returns every `n` in order.
pub(crate) async fn read_through(client: &mut Client, id: &str, last: u64) -> (Vec<u64>, Value) {
    let mut seen = Vec::new();
    loop {
        let item = next_item(client, id).await;
        assert!(item.get("recovered").is_none(), "{item}");
        let n = item["result"]["n"].as_u64().expect("an n");
        seen.push(n);
        if n == last {
            return (seen, item["position"].clone());
        }
    }
}

#[tokio::test]
async fn a_follower_that_comes_back_gets_exactly_what_it_missed() {
    within(LIMIT, async {
        let server = start(history(1_000));
        let mut client = Client::connect(server.local_addr()).await;
        let id = follow(&mut client, "room:a", None).await;
        server
            .notify_group("room:a", "said", json!({"n": 0}))
            .unwrap();
        let first = next_item(&mut client, &id).await;
        assert_eq!(first["result"], json!({"n": 0}));
        assert_eq!(first["position"]["offset"], 1);
        let epoch = first["position"]["epoch"].clone();
        assert!(epoch.as_str().is_some_and(|epoch| !epoch.is_empty()));
        drop(client);

        for n in 1..=500 {
            server
                .notify_group("room:a", "said", json!({"n": n}))
                .unwrap();
        }
        let mut client = Client::connect(server.local_addr()).await;
        let id = follow(&mut client, "room:a", Some(&first["position"])).await;
        server
            .notify_group("room:a", "said", json!({"n": 501}))
            .unwrap();
        let (seen, last) = read_through(&mut client, &id, 501).await;
        assert_eq!(seen, (1..=501).collect::<Vec<_>>(), "all, in order, once");
        assert_eq!(last, json!({"epoch": epoch, "offset": 502}));
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn history_and_live_messages_meet_without_gap_or_duplicate() {
    within(LIMIT, async {
        let server = start(history(10_000));
        let publisher = {
            let server = server.clone();
            tokio::spawn(async move {
                for n in 1.. {
                    server
                        .notify_group("room:seam", "said", json!({"n": n}))
                        .unwrap();
                    if n % 8 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        };
        let mut client = Client::connect(server.local_addr()).await;
        let id = follow(&mut client, "room:seam", None).await;
        let mut since = next_item(&mut client, &id).await;
        for round in 0..200 {
            // Resubscribe from the last position seen, while messages keep
            // coming: the next ones continue the numbering exactly.
            let position = since["position"].clone();
            let expected = since["result"]["n"].as_u64().unwrap();
            let id = follow(&mut client, "room:seam", Some(&position)).await;
            let mut n = expected;
            for _ in 0..20 {
                let item = next_item(&mut client, &id).await;
                n += 1;
                assert_eq!(item["result"]["n"], n, "round {round}: {item}");
                assert_eq!(
                    item["position"]["offset"],
                    position["offset"].as_u64().unwrap() + n - expected
                );
                since = item;
            }
            let closed = call(&mut client, "unsubscribe_room", json!([id]), 2).await;
            assert_eq!(closed["result"], true, "{closed}");
        }
        publisher.abort();
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_since_past_the_history_is_told_once_then_live_items_follow() {
    within(LIMIT, async {
        let server = start(history(10));
        for n in 1..=30 {
            server.notify_group("room:b", "said", json!({"n": n})).unwrap();
        }
        let mut client = Client::connect(server.local_addr()).await;
        let id = follow(&mut client, "room:b", None).await;
        server.notify_group("room:b", "said", json!({"n": 31})).unwrap();
        let item = next_item(&mut client, &id).await;
        let epoch = item["position"]["epoch"].clone();

        // 10 kept: offset 5 is long gone.
        let id = follow(&mut client, "room:b", Some(&json!({"epoch": epoch, "offset": 5}))).await;
        let notice = next_item(&mut client, &id).await;
        assert_eq!(
            notice,
            json!({"subscription": id, "recovered": false, "position": {"epoch": epoch, "offset": 31}})
        );
        server.notify_group("room:b", "said", json!({"n": 32})).unwrap();
        let item = next_item(&mut client, &id).await;
        assert_eq!(item["result"]["n"], 32);
        assert_eq!(item["position"]["offset"], 32);

        // Another epoch (a restarted instance's, say): the same notice.
        let id = follow(&mut client, "room:b", Some(&json!({"epoch": "gone", "offset": 31}))).await;
        let notice = next_item(&mut client, &id).await;
        assert_eq!(notice["recovered"], false);
        assert_eq!(notice["position"], json!({"epoch": epoch, "offset": 32}));

        // Up to date: nothing to recover, and no notice.
        let id = follow(&mut client, "room:b", Some(&json!({"epoch": epoch, "offset": 32}))).await;
        server.notify_group("room:b", "said", json!({"n": 33})).unwrap();
        let item = next_item(&mut client, &id).await;
        assert_eq!(item["result"]["n"], 33, "{item}");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn a_group_without_history_carries_no_positions() {
    within(LIMIT, async {
        let server = start(history(10));
        let mut client = Client::connect(server.local_addr()).await;
        let id = follow(&mut client, "lobby", None).await;
        server
            .notify_group("lobby", "said", json!({"n": 1}))
            .unwrap();
        assert_eq!(
            next_item(&mut client, &id).await,
            json!({"subscription": id, "result": {"n": 1}})
        );
        let id = follow(
            &mut client,
            "lobby",
            Some(&json!({"epoch": "e", "offset": 1})),
        )
        .await;
        let notice = next_item(&mut client, &id).await;
        assert_eq!(notice["recovered"], false, "nothing to recover from");
        server.shutdown_and_wait().await;
    })
    .await;
}
