// Generated code still compiles when the user shadows prelude names.
#![allow(dead_code, non_camel_case_types)]

use rpc_server::{rpc_service, RpcError};

type Result = ();
type Option = ();
struct Ok;
struct Err;
struct Some;
struct None;
struct Box;
struct Vec;
struct String;
trait Clone {}
trait Send {}
trait Future {}
mod core {}
mod std {}
mod serde {}
mod schemars {}

#[derive(::core::clone::Clone)]
struct Svc;

#[rpc_service]
impl Svc {
    async fn greet(&self, name: ::std::string::String) -> ::std::string::String {
        name
    }

    fn fallible(&self, n: ::core::option::Option<u8>) -> ::core::result::Result<u8, RpcError> {
        ::core::result::Result::Ok(n.unwrap_or(0))
    }

    #[rpc(blocking)]
    fn blocking(&self) -> u8 {
        1
    }
}

fn main() {}
