//! The types transports move between tasks are `Send + Sync`, and the entry
//! point's future is `Send` (so a server can spawn it).

use std::sync::Arc;

use rpc_core::{
    Call, ConnectionInfo, ErrorCode, Extensions, Id, Limits, MethodFuture, OwnedId, Params,
    Protocol, Reply, RpcContext, RpcError, SerializedResult, Service,
};

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>(_: &T) {}

#[test]
fn public_types_are_send_and_sync() {
    assert_send_sync::<RpcError>();
    assert_send_sync::<ErrorCode>();
    assert_send_sync::<Limits>();
    assert_send_sync::<Protocol>();
    assert_send_sync::<RpcContext>();
    assert_send_sync::<ConnectionInfo>();
    assert_send_sync::<Extensions>();
    assert_send_sync::<Reply>();
    assert_send_sync::<Id<'static>>();
    assert_send_sync::<OwnedId>();
    assert_send_sync::<Params<'static>>();
    assert_send_sync::<SerializedResult>();
    assert_send_sync::<Call<'static>>();
}

struct Nothing;
impl Service for Nothing {
    fn call<'a>(&'a self, _: Call<'a>) -> MethodFuture<'a> {
        MethodFuture::err(RpcError::method_not_found())
    }
}

#[test]
fn the_entry_points_future_is_send() {
    let protocol = Protocol::new();
    let connection: Arc<ConnectionInfo> = ConnectionInfo::detached();
    assert_send(&protocol.handle(&Nothing, "[]", &connection));
    assert_send(&protocol.handle_bytes(&Nothing, b"[]", &connection));
    let dynamic: Arc<dyn Service> = Arc::new(Nothing);
    assert_send(&protocol.handle(&*dynamic, "[]", &connection));
}
