//! `rpc-client`'s subscriptions and notification stream against our
//! server over real sockets: typed items, unsubscribing by drop, opening
//! again after a server restart, and notifications nothing else took.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use rpc_client::{Client, ConnectionState, Reconnect, Subscription, SubscriptionError, rpc_client};
use rpc_server::{RpcContext, RpcError, Server, ServerHandle, rpc_service};
use ws::within;

use crate::common::ws;

const LIMIT: Duration = Duration::from_secs(60);

/// Counts the streams alive on the server.
#[derive(Clone, Default)]
struct Feeds {
    alive: Arc<AtomicUsize>,
}

struct Alive(Arc<AtomicUsize>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[rpc_service]
impl Feeds {
    #[rpc(subscription = "counter")]
    fn subscribe_counter(
        &self,
        start: u64,
        every_ms: u64,
    ) -> impl Stream<Item = u64> + Send + 'static {
        self.alive.fetch_add(1, Ordering::SeqCst);
        let alive = Alive(Arc::clone(&self.alive));
        let every = Duration::from_millis(every_ms);
        futures_util::stream::unfold((start, alive), move |(next, alive)| async move {
            tokio::time::sleep(every).await;
            Some((next, (next + 1, alive)))
        })
    }

    /// `count` numbers at once, right behind the reply.
    #[rpc(subscription)]
    fn burst(&self, count: u64) -> impl Stream<Item = u64> + Send + 'static {
        futures_util::stream::iter(0..count)
    }

    /// Sends the caller a notification nothing on the client handles.
    async fn poke(&self, ctx: &RpcContext, text: String) -> Result<(), RpcError> {
        let peer = ctx.peer().ok_or_else(RpcError::method_not_found)?;
        Ok(peer.notify("news", [text]).await?)
    }
}

/// The same service, as a typed client sees it (the trait itself is not
/// implemented here).
#[rpc_client]
#[allow(dead_code)]
trait FeedsApi {
    #[rpc(subscription)]
    async fn subscribe_counter(&self, start: u64, every_ms: u64) -> Subscription<u64>;

    #[rpc(subscription)]
    async fn burst(&self, count: u64) -> impl Stream<Item = u64>;
}

#[tokio::test]
async fn a_typed_client_subscribes_through_its_trait() {
    within(LIMIT, async {
        let feeds = Feeds::default();
        let alive = Arc::clone(&feeds.alive);
        let server = start(feeds);
        let api = FeedsApiClient::new(Client::connect(&url(&server)).await.unwrap());
        let mut counter = api.subscribe_counter(3, 10).await.unwrap();
        assert_eq!(counter.next().await.unwrap().unwrap(), 3);
        drop(counter);
        wait_until("unsubscribed", || alive.load(Ordering::SeqCst) == 0).await;
        let burst: Vec<u64> = api
            .burst(5)
            .await
            .unwrap()
            .take(5)
            .map(|item| item.unwrap())
            .collect()
            .await;
        assert_eq!(burst, [0, 1, 2, 3, 4]);
        api.client().close().await;
        server.shutdown_and_wait().await;
    })
    .await;
}

fn start(feeds: Feeds) -> ServerHandle {
    Server::builder()
        .drain_timeout(Duration::from_millis(200))
        .serve("127.0.0.1:0", feeds)
        .unwrap()
        .spawn()
}

fn url(server: &ServerHandle) -> String {
    format!("ws://{}", server.local_addr())
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not within 5 s");
}

#[tokio::test]
async fn items_arrive_typed_and_dropping_the_stream_unsubscribes() {
    within(LIMIT, async {
        let feeds = Feeds::default();
        let alive = Arc::clone(&feeds.alive);
        let server = start(feeds);
        let client = Client::connect(&url(&server)).await.unwrap();
        let mut counter = client
            .subscribe::<u64>("subscribe_counter", (5, 20), "unsubscribe_counter")
            .await
            .unwrap();
        assert_eq!(
            counter.id().map(|id| id.len()),
            Some(34),
            "a quoted 32-digit id"
        );
        for n in 5..10 {
            assert_eq!(counter.next().await.unwrap().unwrap(), n);
        }
        drop(counter);
        wait_until("the server dropped the stream", || {
            alive.load(Ordering::SeqCst) == 0
        })
        .await;

        // Or explicitly, with the server's answer.
        let counter = client
            .subscribe::<u64>("subscribe_counter", (0, 20), "unsubscribe_counter")
            .await
            .unwrap();
        assert!(counter.unsubscribe().await.unwrap());
        assert_eq!(alive.load(Ordering::SeqCst), 0);
        client.close().await;
        server.shutdown_and_wait().await;
    })
    .await;
}

/// The server sends items right behind its reply: none is lost before the
/// stream exists.
#[tokio::test]
async fn items_sent_right_behind_the_reply_are_all_delivered() {
    within(LIMIT, async {
        let server = start(Feeds::default());
        let client = Client::connect(&url(&server)).await.unwrap();
        for _ in 0..10 {
            let burst = client
                .subscribe::<u64>("burst", (100,), "unsubscribe_burst")
                .await
                .unwrap();
            let items: Vec<u64> = burst.take(100).map(|item| item.unwrap()).collect().await;
            assert_eq!(items, (0..100).collect::<Vec<_>>());
        }
        client.close().await;
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn after_a_server_restart_the_subscription_is_opened_again_and_says_so() {
    within(LIMIT, async {
        let server = start(Feeds::default());
        let addr = server.local_addr();
        let client = Client::builder(&url(&server))
            .reconnect(
                Reconnect::default()
                    .initial_delay(Duration::from_millis(50))
                    .max_delay(Duration::from_millis(200)),
            )
            .connect()
            .await
            .unwrap();
        let mut counter = client
            .subscribe::<u64>("subscribe_counter", (0, 20), "unsubscribe_counter")
            .await
            .unwrap();
        assert_eq!(counter.next().await.unwrap().unwrap(), 0);
        let first_id = counter.id();
        server.shutdown_and_wait().await;
        let mut state = client.watch_state();
        state
            .wait_for(|s| matches!(s, ConnectionState::Reconnecting { .. }))
            .await
            .unwrap();

        let feeds = Feeds::default();
        let alive = Arc::clone(&feeds.alive);
        let again = Server::builder()
            .serve(addr, feeds)
            .expect("the port is free again")
            .spawn();
        // Whatever was queued before, then the notice, then items anew.
        loop {
            match counter.next().await.expect("the stream goes on") {
                Ok(_) => {}
                Err(SubscriptionError::Missed(None)) => break,
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(
            counter.next().await.unwrap().unwrap(),
            0,
            "from the start again"
        );
        assert_ne!(counter.id(), first_id, "a new id on the new connection");
        assert_eq!(alive.load(Ordering::SeqCst), 1);
        drop(counter);
        wait_until("unsubscribed on the new server", || {
            alive.load(Ordering::SeqCst) == 0
        })
        .await;
        client.close().await;
        again.shutdown_and_wait().await;
    })
    .await;
}

/// Reopened on a server whose rate limit refuses most of them at first
/// (40 subscriptions, `10/s, burst 10`): refusals that pass are tried
/// again as the server asks (`retry_after_ms`), so every stream goes on.
#[tokio::test]
async fn subscriptions_refused_by_a_rate_limit_after_a_restart_are_tried_again() {
    within(LIMIT, async {
        let server = start(Feeds::default());
        let addr = server.local_addr();
        let client = Client::builder(&url(&server))
            .reconnect(
                Reconnect::default()
                    .initial_delay(Duration::from_millis(50))
                    .max_delay(Duration::from_millis(200)),
            )
            .connect()
            .await
            .unwrap();
        let mut counters = Vec::new();
        for _ in 0..40 {
            let counter = client
                .subscribe::<u64>("subscribe_counter", (0, 50), "unsubscribe_counter")
                .await
                .unwrap();
            counters.push(counter);
        }
        server.shutdown_and_wait().await;
        let feeds = Feeds::default();
        let alive = Arc::clone(&feeds.alive);
        let limited = Server::builder()
            .rate_limit(Some("10/s, burst 10".parse().unwrap()))
            .serve(addr, feeds)
            .expect("the port is free again")
            .spawn();
        // 30 refused at first, each tried again about 100 ms later: seconds.
        for _ in 0..2_000 {
            if alive.load(Ordering::SeqCst) == 40 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            alive.load(Ordering::SeqCst),
            40,
            "every subscription reopened"
        );
        for counter in &mut counters {
            // Past what was queued and the notice: items anew, no end.
            loop {
                match counter.next().await.expect("the stream goes on") {
                    Ok(0) => break,
                    Ok(_) | Err(SubscriptionError::Missed(_)) => {}
                    Err(other) => panic!("{other}"),
                }
            }
        }
        drop(counters);
        client.close().await;
        limited.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn notifications_nothing_else_takes_come_out_of_the_stream() {
    within(LIMIT, async {
        let server = start(Feeds::default());
        let client = Client::builder(&url(&server))
            .on_notification("handled", |_| {})
            .connect()
            .await
            .unwrap();
        let mut notifications = client.notifications();
        client.call::<()>("poke", ["hello"]).await.unwrap();
        let news = notifications.next().await.unwrap();
        assert_eq!(news.method, "news");
        assert_eq!(news.params::<(String,)>().unwrap().0, "hello");
        // A subscription's items are its own, not the stream's.
        let mut counter = client
            .subscribe::<u64>("subscribe_counter", (0, 10), "unsubscribe_counter")
            .await
            .unwrap();
        counter.next().await.unwrap().unwrap();
        client.call::<()>("poke", ["again"]).await.unwrap();
        let news = notifications.next().await.unwrap();
        assert_eq!(news.params::<(String,)>().unwrap().0, "again");
        // Closed for good: the streams end.
        client.close().await;
        assert!(notifications.next().await.is_none());
        assert!(counter.next().await.is_none());
        server.shutdown_and_wait().await;
    })
    .await;
}

/// Our client subscribes to jsonrpsee's server, whose subscription ids are
/// numbers.
#[tokio::test]
async fn our_client_subscribes_to_a_jsonrpsee_server() {
    use jsonrpsee_server::{RpcModule, SubscriptionMessage};
    within(LIMIT, async {
        let server = jsonrpsee_server::Server::builder()
            .build("127.0.0.1:0")
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let ended = Arc::new(AtomicUsize::new(0));
        let mut module = RpcModule::new(Arc::clone(&ended));
        module
            .register_subscription(
                "subscribe_hello",
                "hello",
                "unsubscribe_hello",
                |_params, pending, ended, _extensions| async move {
                    let Ok(sink) = pending.accept().await else {
                        return;
                    };
                    for n in 0..3_u64 {
                        let item = serde_json::value::to_raw_value(&n).unwrap();
                        if sink.send(SubscriptionMessage::from(item)).await.is_err() {
                            return;
                        }
                    }
                    sink.closed().await;
                    ended.fetch_add(1, Ordering::SeqCst);
                },
            )
            .unwrap();
        let handle = server.start(module);
        let client = Client::connect(&format!("ws://{addr}")).await.unwrap();
        let hello = client
            .subscribe::<u64>("subscribe_hello", (), "unsubscribe_hello")
            .await
            .unwrap();
        assert!(
            hello.id().unwrap().parse::<u64>().is_ok(),
            "{:?}",
            hello.id()
        );
        let items: Vec<u64> = hello.take(3).map(|item| item.unwrap()).collect().await;
        assert_eq!(items, [0, 1, 2]);
        // Dropped: jsonrpsee ignores notifications, so the unsubscribe is a
        // call.
        wait_until("jsonrpsee ended the subscription", || {
            ended.load(Ordering::SeqCst) == 1
        })
        .await;
        client.close().await;
        handle.stop().unwrap();
        handle.stopped().await;
    })
    .await;
}
