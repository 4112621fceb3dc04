//! The rules a `#[rpc_service]` impl and a `#[rpc_client]` trait must
//! follow (one function per rule; the two macros share most), each reported
//! at the offending tokens.

use std::collections::HashMap;

use syn::{FnArg, GenericParam, Ident, ReceiverKind, Safety, Type};

use crate::ast::{Arg, Client, Method, Output, Service};
use crate::errors::Errors;

/// JSON parameters a method may have (rpc-core's `ParamList` arities).
const MAX_PARAMS: usize = 16;

pub(crate) fn service(service: &Service<'_>, errors: &Errors) {
    let generic_names = generic_impl(service, errors);
    let mut names = Names::default();
    for method in &service.methods {
        for (_, ty, _) in method.json_params() {
            borrowed_param(ty, errors);
        }
        wire_types_in_generic_impl(method, &generic_names, errors);
        receiver(
            method,
            "move associated functions to another impl block",
            errors,
        );
        signature(method, errors);
        names.check(method, errors);
        subscription(method, errors);
        arguments(method, errors);
        blocking(method, errors);
        notification(method, errors);
    }
}

/// The rules of a `#[rpc_client]` trait: those of the service that
/// implements it, but for what only the server sees (`blocking`, how
/// parameters are decoded, generic impls).
pub(crate) fn client(client: &Client<'_>, errors: &Errors) {
    let mut names = Names::default();
    for method in &client.methods {
        receiver(method, "client methods are called on the client", errors);
        signature(method, errors);
        names.check(method, errors);
        subscription(method, errors);
        client_subscription_item(method, errors);
        arguments(method, errors);
        notification(method, errors);
    }
}

/// A generic impl's parameters on the wire: their schemas are static.
fn wire_types_in_generic_impl(method: &Method<'_>, generic_names: &[Ident], errors: &Errors) {
    for ty in method_types(method) {
        if let Some(name) = mentions(ty, generic_names) {
            errors.spanned(
                ty,
                format!(
                    "in a generic impl, the types on the wire cannot use the impl's parameter `{name}`: \
                     their schemas are built once, for every instance of the service"
                ),
            );
        }
    }
}

/// `&self`, and nothing else: methods run concurrently on a shared service.
/// `hint` says what to do instead.
fn receiver(method: &Method<'_>, hint: &str, errors: &Errors) {
    let sig = &method.sig;
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver))
            if matches!(receiver.kind, ReceiverKind::Reference(_, _, None)) => {}
        Some(FnArg::Receiver(receiver)) => errors.spanned(
            receiver,
            "RPC methods must take `&self` (methods run concurrently on a shared service)",
        ),
        _ => errors.spanned(&sig.ident, format!("RPC methods must take `&self`; {hint}")),
    }
}

/// No generics, `unsafe`, `extern` or `const`.
fn signature(method: &Method<'_>, errors: &Errors) {
    let sig = &method.sig;
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
}

/// The names on the wire so far: each once, none under `rpc.`.
#[derive(Default)]
struct Names(HashMap<String, proc_macro2::Span>);

impl Names {
    fn check(&mut self, method: &Method<'_>, errors: &Errors) {
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
            if let Some(first) = self.0.insert(name.clone(), span) {
                let mut error =
                    syn::Error::new(span, format!("duplicate RPC method name `{name}`"));
                error.combine(syn::Error::new(
                    first,
                    format!("`{name}` is first used here"),
                ));
                errors.push(error);
            }
        }
    }
}

/// How many JSON parameters, raw `Params` alone, one `&RpcContext`, and a
/// `Peer` only over WebSocket.
fn arguments(method: &Method<'_>, errors: &Errors) {
    let sig = &method.sig;
    let json_params = method.json_params().count();
    if json_params > MAX_PARAMS {
        errors.spanned(
            &sig.inputs,
            format!(
                "RPC methods take at most {MAX_PARAMS} JSON parameters; group them in a struct"
            ),
        );
    }
    let count = |kind: fn(&Arg<'_>) -> bool| method.args.iter().filter(|arg| kind(arg)).count();
    let raw = count(|arg| matches!(arg, Arg::RawParams));
    if raw > 1 || (raw == 1 && json_params > 0) {
        errors.spanned(
            &sig.inputs,
            "a method that takes `Params` (the raw params, whole) cannot take other JSON parameters",
        );
    }
    if count(|arg| matches!(arg, Arg::Context)) > 1 {
        errors.spanned(&sig.inputs, "a method takes `&RpcContext` at most once");
    }
    if method.takes_peer() && matches!(method.attrs.transport, Some(crate::attr::Transport::Http)) {
        errors.spanned(
            &sig.inputs,
            "a method that takes a `Peer` is WebSocket-only; it cannot be `transport = \"http\"`",
        );
    }
}

/// `#[rpc(blocking)]` only on a plain `fn`.
fn blocking(method: &Method<'_>, errors: &Errors) {
    if let Some(span) = method.attrs.blocking {
        if method.is_async() {
            errors.push(syn::Error::new(
                span,
                "`blocking` is for plain `fn` methods; an `async fn` must not block",
            ));
        }
    }
}

/// A notification returns nothing.
fn notification(method: &Method<'_>, errors: &Errors) {
    if method.attrs.notification && method.subscription.is_none() {
        if let Output::Value(ty) = method.output {
            errors.spanned(
                ty,
                "a notification method returns nothing (or a `Result<(), E>` to report failures)",
            );
        }
    }
}

/// The rules of `#[rpc(subscription)]` and `#[rpc(unsubscribe)]`.
fn subscription(method: &Method<'_>, errors: &Errors) {
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
    let sig = &method.sig;
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

/// A client's subscription method says what it receives.
fn client_subscription_item(method: &Method<'_>, errors: &Errors) {
    if let Some(subscription) = &method.subscription {
        let reported = subscription.unnamed_item || matches!(method.output, Output::Unit);
        if subscription.item.is_none() && !reported {
            errors.spanned(
                &method.sig.output,
                "a subscription method returns `Subscription<T>` (or `impl Stream<Item = T>`), T being the item type",
            );
        }
    }
}

/// A generic impl (`impl<S: Store> Api<S>`, to inject a backend) is served
/// like any other; lifetimes cannot be (a service lives as long as the
/// server). The names of its type and const parameters.
fn generic_impl(service: &Service<'_>, errors: &Errors) -> Vec<Ident> {
    let mut names = Vec::new();
    for param in &service.item.generics.params {
        match param {
            GenericParam::Type(param) => names.push(param.ident.clone()),
            GenericParam::Const(param) => names.push(param.ident.clone()),
            GenericParam::Lifetime(param) => errors.spanned(
                param,
                "a service cannot borrow: it is shared by every connection for as long as the \
                 server runs (hold an `Arc` instead of a reference)",
            ),
        }
    }
    names
}

/// `&str` and other references: parameters are decoded into owned values.
fn borrowed_param(ty: &Type, errors: &Errors) {
    let Type::Reference(reference) = ty else {
        return;
    };
    let owned = match &*reference.elem {
        Type::Path(path) if path.path.is_ident("str") => "`String`".to_owned(),
        Type::Slice(slice) => {
            let item = &slice.elem;
            format!("`Vec<{}>`", quote::quote!(#item))
        }
        elem => format!("`{}`", quote::quote!(#elem)),
    };
    errors.spanned(
        ty,
        format!("parameters are decoded into owned values: write {owned} instead of a reference"),
    );
}

/// The types a method puts on the wire: its JSON parameters, its result,
/// its subscription's item.
fn method_types<'a>(method: &Method<'a>) -> Vec<&'a Type> {
    let mut types: Vec<&Type> = method.json_params().map(|(_, ty, _)| ty).collect();
    if let Output::Result(ty) | Output::Value(ty) = method.output {
        types.push(ty);
    }
    if let Some(item) = method.subscription.as_ref().and_then(|sub| sub.item) {
        types.push(item);
    }
    types
}

/// The first of `names` that `ty` mentions, if any.
fn mentions(ty: &Type, names: &[Ident]) -> Option<Ident> {
    if names.is_empty() {
        return None;
    }
    fn walk(tokens: proc_macro2::TokenStream, names: &[Ident]) -> Option<Ident> {
        tokens.into_iter().find_map(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => {
                names.iter().find(|name| **name == ident).cloned()
            }
            proc_macro2::TokenTree::Group(group) => walk(group.stream(), names),
            _ => None,
        })
    }
    walk(quote::ToTokens::to_token_stream(ty), names)
}
