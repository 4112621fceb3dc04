use std::sync::Arc;

use rpc_server::{rpc_service, serve};
use rpc_server::service::Service;

/// Where the data lives: the usual reason for a generic service.
trait Store: Send + Sync + 'static {
    fn get(&self, key: &str) -> Option<String>;
}

struct Api<S> {
    store: Arc<S>,
}

#[rpc_service]
impl<S: Store> Api<S> {
    fn get(&self, key: String) -> Option<String> {
        self.store.get(&key)
    }
}

trait Counter {
    fn count(&self) -> usize;
}

struct Counted<T, const N: usize>(std::marker::PhantomData<T>);

#[rpc_service]
impl<T, const N: usize> Counter for Counted<T, N>
where
    T: Send + Sync + 'static,
{
    fn count(&self) -> usize {
        N
    }
}

struct Memory;

impl Store for Memory {
    fn get(&self, key: &str) -> Option<String> {
        Some(key.to_owned())
    }
}

fn main() {
    let api = Api { store: Arc::new(Memory) };
    assert_eq!(api.methods().len(), 1);
    let _ = serve("127.0.0.1:0", api);
    let _ = serve("127.0.0.1:0", Counted::<u8, 3>(std::marker::PhantomData));
}
