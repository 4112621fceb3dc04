//! The rules a `#[rpc_service]` impl must follow, each reported at the
//! offending tokens.

use std::collections::HashMap;

use syn::{FnArg, ReceiverKind, Safety};

use crate::ast::{Arg, Output, Service};
use crate::errors::Errors;

/// JSON parameters a method may have (rpc-core's `ParamList` arities).
const MAX_PARAMS: usize = 16;

pub(crate) fn service(service: &Service<'_>, errors: &Errors) {
    let generics = &service.item.generics;
    if !generics.params.is_empty() {
        errors.spanned(generics, "#[rpc_service] does not support generic impls");
    }
    let mut seen = HashMap::new();
    for method in &service.methods {
        let sig = &method.func.sig;

        match sig.inputs.first() {
            Some(FnArg::Receiver(receiver))
                if matches!(receiver.kind, ReceiverKind::Reference(_, _, None)) => {}
            Some(FnArg::Receiver(receiver)) => errors.spanned(
                receiver,
                "RPC methods must take `&self` (methods run concurrently on a shared service)",
            ),
            _ => errors.spanned(
                &sig.ident,
                "RPC methods must take `&self`; move associated functions to another impl block",
            ),
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            errors.spanned(
                &sig.generics,
                "RPC methods cannot be generic: their parameter types must be known to decode them",
            );
        }
        if let Safety::Unsafe(token) = &sig.safety {
            errors.spanned(token, "RPC methods cannot be `unsafe`");
        }
        if let Some(abi) = &sig.abi {
            errors.spanned(abi, "RPC methods cannot have an `extern` ABI");
        }
        if let Some(constness) = &sig.constness {
            errors.spanned(constness, "RPC methods cannot be `const`");
        }

        let mut names = vec![(&method.wire_name, method.name_span)];
        if let Some(subscription) = &method.subscription {
            names.push((&subscription.unsubscribe, subscription.unsubscribe_span));
        }
        for (name, span) in names {
            if name.starts_with("rpc.") {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "method names beginning with `rpc.` are reserved for the framework: `{name}`"
                    ),
                ));
            }
            if let Some(first) = seen.insert(name.clone(), span) {
                let mut error =
                    syn::Error::new(span, format!("duplicate RPC method name `{name}`"));
                error.combine(syn::Error::new(
                    first,
                    format!("`{name}` is first used here"),
                ));
                errors.push(error);
            }
        }
        subscription(method, errors);

        let json_params = method.json_params().count();
        if json_params > MAX_PARAMS {
            errors.spanned(
                &sig.inputs,
                format!(
                    "RPC methods take at most {MAX_PARAMS} JSON parameters; group them in a struct"
                ),
            );
        }
        let raw = method
            .args
            .iter()
            .filter(|arg| matches!(arg, Arg::RawParams))
            .count();
        if raw > 1 || (raw == 1 && json_params > 0) {
            errors.spanned(
                &sig.inputs,
                "a method that takes `Params` (the raw params, whole) cannot take other JSON parameters",
            );
        }
        let contexts = method
            .args
            .iter()
            .filter(|arg| matches!(arg, Arg::Context))
            .count();
        if contexts > 1 {
            errors.spanned(&sig.inputs, "a method takes `&RpcContext` at most once");
        }

        if method.takes_peer()
            && matches!(method.attrs.transport, Some(crate::attr::Transport::Http))
        {
            errors.spanned(
                &sig.inputs,
                "a method that takes a `Peer` is WebSocket-only; it cannot be `transport = \"http\"`",
            );
        }
        if let Some(span) = method.attrs.blocking {
            if method.is_async() {
                errors.push(syn::Error::new(
                    span,
                    "`blocking` is for plain `fn` methods; an `async fn` must not block",
                ));
            }
        }
        if method.attrs.notification && method.subscription.is_none() {
            if let Output::Value(ty) = method.output {
                errors.spanned(
                    ty,
                    "a notification method returns nothing (or a `Result<(), E>` to report failures)",
                );
            }
        }
    }
}

/// The rules of `#[rpc(subscription)]` and `#[rpc(unsubscribe)]`.
fn subscription(method: &crate::ast::Method<'_>, errors: &Errors) {
    let attrs = &method.attrs;
    let Some(subscription) = &method.subscription else {
        if let Some(unsubscribe) = &attrs.unsubscribe {
            errors.spanned(
                unsubscribe,
                "`unsubscribe` names the method that ends a subscription: it goes with `subscription`",
            );
        }
        return;
    };
    let Some(span) = attrs.subscription.as_ref().map(|sub| sub.span) else {
        return;
    };
    let conflicts = [
        (attrs.notification, "`notification`"),
        (attrs.blocking.is_some(), "`blocking`"),
        (
            matches!(attrs.transport, Some(crate::attr::Transport::Http)),
            "`transport = \"http\"` (subscriptions need a WebSocket)",
        ),
    ];
    for (conflicting, what) in conflicts {
        if conflicting {
            errors.push(syn::Error::new(
                span,
                format!("a subscription method cannot be {what}"),
            ));
        }
    }
    let sig = &method.func.sig;
    if matches!(method.output, Output::Unit) {
        errors.spanned(
            &sig.ident,
            "a subscription method returns its items as a stream: `-> impl Stream<Item = T> + Send + 'static` (or a `Result` of one)",
        );
    } else if subscription.unnamed_item {
        errors.spanned(
            &sig.output,
            "name the stream's item type in the return type: `impl Stream<Item = T> + Send + 'static`",
        );
    }
}
