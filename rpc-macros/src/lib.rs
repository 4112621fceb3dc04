//! The `#[rpc_service]` and `#[rpc_client]` attributes. Use them through
//! `rpc-server` and `rpc-client`, which re-export them together with
//! everything the generated code needs; see those crates' documentation.
//!
//! Both macros run one pipeline, one file per stage: `attr` parses the
//! attributes, `ast` builds the model (a service's impl, or a client's
//! trait), `check` validates it with rules the two share (`errors` collects
//! every error so all are reported at once, each at its tokens), then
//! `expand` generates the service and `client` the typed client.

mod ast;
mod attr;
mod check;
mod client;
mod errors;
mod expand;

use proc_macro::TokenStream;

/// Turns an impl block into a JSON-RPC service: every `&self` method becomes
/// a method callable by name, with typed parameters decoded by position or by
/// name, and the service gets an OpenRPC description. See `rpc-server`'s
/// documentation for the attributes and rules.
#[proc_macro_attribute]
pub fn rpc_service(args: TokenStream, input: TokenStream) -> TokenStream {
    let item = match syn::parse::<syn::ItemImpl>(input.clone()) {
        Ok(item) => item,
        Err(err) => {
            let mut output = input;
            output.extend(TokenStream::from(syn::Error::new(
                err.span(),
                "#[rpc_service] goes on an impl block: `impl Trait for Type { … }` or `impl Type { … }`",
            ).to_compile_error()));
            return output;
        }
    };
    expand::rpc_service(args.into(), item).into()
}

/// Generates `<Trait>Client`, a typed client for the trait's methods: each
/// calls the server by position (or notifies it, with
/// `#[rpc(notification)]`) and returns `Result<T, CallError>`. Use it
/// through `rpc-client`, which re-exports it.
#[proc_macro_attribute]
pub fn rpc_client(args: TokenStream, input: TokenStream) -> TokenStream {
    let item = match syn::parse::<syn::ItemTrait>(input.clone()) {
        Ok(item) => item,
        Err(err) => {
            let mut output = input;
            output.extend(TokenStream::from(
                syn::Error::new(err.span(), "#[rpc_client] goes on a trait definition")
                    .to_compile_error(),
            ));
            return output;
        }
    };
    client::rpc_client(args.into(), item).into()
}
