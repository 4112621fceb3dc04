//! What `#[rpc_service]` does with methods: names, returns, errors,
//! notifications, sync, async and blocking methods, trait and inherent
//! impls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{call, error, handle, result};
use rpc_server::{ErrorCode, RpcError, rpc_service};
use serde_json::json;

use crate::common;

enum AppError {
    NotFound(u64),
    Broken(std::io::Error),
}

impl From<AppError> for RpcError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::NotFound(id) => {
                RpcError::new(ErrorCode::new(4004), "not found").with_data(&json!({ "id": id }))
            }
            AppError::Broken(err) => RpcError::internal(err),
        }
    }
}

type ApiResult<T> = Result<T, RpcError>;

#[derive(Clone, Default)]
struct Methods {
    logged: Arc<AtomicUsize>,
}

#[rpc_service(namespace = "app")]
impl Methods {
    #[rpc(name = "mymodule.rpc.ping")]
    async fn ping(&self) -> &'static str {
        "pong"
    }

    fn lookup(&self, id: u64) -> Result<String, AppError> {
        match id {
            1 => Ok("one".to_owned()),
            2 => Err(AppError::Broken(std::io::Error::other(
                "disk /dev/sda on fire",
            ))),
            _ => Err(AppError::NotFound(id)),
        }
    }

    fn aliased(&self, ok: bool) -> ApiResult<u8> {
        if ok {
            Ok(7)
        } else {
            Err(RpcError::application("nope"))
        }
    }

    async fn unit(&self) {}

    fn unserializable(&self) -> std::collections::HashMap<Vec<u8>, u8> {
        std::iter::once((vec![1], 1)).collect()
    }

    #[rpc(notification)]
    fn log(&self, _line: String) {
        self.logged.fetch_add(1, Ordering::SeqCst);
    }

    #[rpc(notification)]
    fn strict_log(&self, line: String) -> Result<(), RpcError> {
        if line.is_empty() {
            return Err(RpcError::invalid_params("empty line"));
        }
        Ok(())
    }

    fn panics(&self) -> u8 {
        panic!("handler bug")
    }

    #[rpc(blocking)]
    fn blocking_wait(&self, gate: u64) -> u64 {
        // Blocks its thread until `release` has run: only works if it is
        // not on the thread that has to run `release`.
        let (lock, cvar) = &*GATE;
        let mut open = lock.lock().unwrap();
        while !*open {
            open = cvar.wait(open).unwrap();
        }
        gate
    }

    async fn release(&self) -> bool {
        let (lock, cvar) = &*GATE;
        *lock.lock().unwrap() = true;
        cvar.notify_all();
        true
    }

    #[rpc(blocking)]
    fn blocking_panics(&self) -> u8 {
        panic!("blocking bug")
    }
}

static GATE: std::sync::LazyLock<(std::sync::Mutex<bool>, std::sync::Condvar)> =
    std::sync::LazyLock::new(Default::default);

#[test]
fn custom_names_and_namespace() {
    assert_eq!(
        result(&Methods::default(), "app.mymodule.rpc.ping", None),
        json!("pong")
    );
    assert_eq!(error(&Methods::default(), "app.ping", None)["code"], -32601);
    assert_eq!(error(&Methods::default(), "ping", None)["code"], -32601);
}

#[test]
fn result_with_custom_error_keeps_code_and_data() {
    let m = Methods::default();
    assert_eq!(result(&m, "app.lookup", Some("[1]")), json!("one"));
    assert_eq!(
        error(&m, "app.lookup", Some("[9]")),
        json!({"code": 4004, "message": "not found", "data": {"id": 9}})
    );
}

#[test]
fn unexpected_errors_are_sanitized() {
    let err = error(&Methods::default(), "app.lookup", Some("[2]"));
    assert_eq!(err, json!({"code": -32603, "message": "Internal error"}));
}

#[test]
fn result_aliases_are_results() {
    let m = Methods::default();
    assert_eq!(result(&m, "app.aliased", Some("[true]")), json!(7));
    assert_eq!(error(&m, "app.aliased", Some("[false]"))["message"], "nope");
}

#[test]
fn unit_returns_null() {
    let reply = handle(
        &Methods::default(),
        r#"{"jsonrpc":"2.0","method":"app.unit","id":1}"#,
    );
    assert_eq!(
        reply.as_deref(),
        Some(r#"{"jsonrpc":"2.0","result":null,"id":1}"#)
    );
}

#[test]
fn unserializable_result_is_parse_result_error() {
    assert_eq!(
        error(&Methods::default(), "app.unserializable", None)["code"],
        -32701
    );
}

#[test]
fn notification_method_runs_and_sends_nothing() {
    let m = Methods::default();
    assert_eq!(
        handle(&m, r#"{"jsonrpc":"2.0","method":"app.log","params":["x"]}"#),
        None
    );
    assert_eq!(m.logged.load(Ordering::SeqCst), 1);
}

#[test]
fn notification_method_called_with_an_id_answers_null() {
    let m = Methods::default();
    assert_eq!(
        call(&m, "app.log", Some(r#"["x"]"#)),
        json!({"jsonrpc": "2.0", "result": null, "id": 1})
    );
    assert_eq!(result(&m, "app.strict_log", Some(r#"["x"]"#)), json!(null));
    assert_eq!(error(&m, "app.strict_log", Some(r#"[""]"#))["code"], -32602);
}

#[test]
fn a_panicking_method_is_an_internal_error() {
    assert_eq!(
        error(&Methods::default(), "app.panics", None),
        json!({"code": -32603, "message": "Internal error"})
    );
    assert_eq!(
        error(&Methods::default(), "app.blocking_panics", None),
        json!({"code": -32603, "message": "Internal error"})
    );
}

#[test]
fn blocking_methods_run_off_the_calling_task() {
    // Both run in one batch, so in one task: were `blocking_wait` run inline
    // it would block the task that must run `release`, and time out.
    let reply = handle(
        &Methods::default(),
        r#"[{"jsonrpc":"2.0","method":"app.blocking_wait","params":[5],"id":1},
            {"jsonrpc":"2.0","method":"app.release","id":2}]"#,
    )
    .expect("a reply");
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply[0]["result"], 5);
    assert_eq!(reply[1]["result"], true);
}

/// A trait whose impl is the service.
trait Greeter {
    async fn greet(&self, name: String) -> String;
    fn shout(&self, name: String) -> String;
    /// Not everything must be async.
    fn call(&self) -> u8;
}

struct English;

#[rpc_service(title = "Greeter", version = "2.1.0")]
impl Greeter for English {
    async fn greet(&self, name: String) -> String {
        format!("Hello, {name}!")
    }

    fn shout(&self, name: String) -> String {
        self.greet_sync(&name).to_uppercase()
    }

    /// A method named like `Service::call` still dispatches to itself.
    fn call(&self) -> u8 {
        42
    }
}

impl English {
    fn greet_sync(&self, name: &str) -> String {
        format!("Hello, {name}!")
    }
}

#[test]
fn trait_impls_are_services() {
    assert_eq!(
        result(&English, "greet", Some(r#"["Ada"]"#)),
        json!("Hello, Ada!")
    );
    assert_eq!(
        result(&English, "shout", Some(r#"{"name": "Ada"}"#)),
        json!("HELLO, ADA!")
    );
    assert_eq!(result(&English, "call", None), json!(42));
}

/// Where a generic service keeps its data: the usual reason for one.
trait Store: Send + Sync + 'static {
    fn get(&self, key: &str) -> Option<String>;
}

struct Memory(std::collections::HashMap<String, String>);

impl Store for Memory {
    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
}

struct Api<S> {
    store: Arc<S>,
}

#[rpc_service]
impl<S: Store> Api<S> {
    /// The value under `key`, if any.
    fn get(&self, key: String) -> Option<String> {
        self.store.get(&key)
    }
}

#[test]
fn generic_impls_are_services() {
    let store = Memory([("a".to_owned(), "1".to_owned())].into_iter().collect());
    let api = Api {
        store: Arc::new(store),
    };
    assert_eq!(result(&api, "get", Some(r#"["a"]"#)), json!("1"));
    assert_eq!(result(&api, "get", Some(r#"{"key": "b"}"#)), json!(null));
    let doc = rpc_server::service::Service::openrpc(&api).expect("a document");
    assert_eq!(doc.methods[0].name, "get");
}
