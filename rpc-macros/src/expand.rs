//! Generating the `Service` impl, the dispatch `match` and the metadata.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl, LitStr, Type};

use crate::ast::{Arg, Method, Output, Service, Subscription};
use crate::attr;
use crate::check;
use crate::errors::Errors;

pub(crate) fn rpc_service(args: TokenStream, item: ItemImpl) -> TokenStream {
    let errors = Errors::default();
    let attrs = attr::service_attrs(args, &errors);
    let service = Service::from_syn(&item, attrs, &errors);
    check::service(&service, &errors);
    let user_impl = without_rpc_attrs(item.clone());
    let use_private = use_private(&service, &errors);
    match errors.into_result() {
        // The user's impl is still emitted, and a `Service` impl that does
        // nothing, so that one mistake is reported once: not again as
        // "method not found" or "`Service` is not implemented" wherever the
        // service is used.
        Err(err) => {
            let errors = err.to_compile_error();
            let stub = stub_impl(&service);
            quote!(#user_impl #errors const _: () = { #use_private #stub };)
        }
        Ok(()) => {
            let generated = service_impl(&service);
            quote!(#user_impl const _: () = { #use_private #generated };)
        }
    }
}

/// The user's impl, minus the `#[rpc(...)]` attributes only we understand.
fn without_rpc_attrs(mut item: ItemImpl) -> ItemImpl {
    for item in &mut item.items {
        if let ImplItem::Fn(func) = item {
            func.attrs.retain(|attr| !attr::is_rpc_attr(attr));
        }
    }
    item
}

/// The generated code's name for the framework's support module: every
/// block the macro emits starts with `use <crate>::__private as __rpc_rt;`
/// (the crate path being `::rpc_server`, or the service's `crate = "…"`).
fn private() -> TokenStream {
    quote!(__rpc_rt)
}

/// `use <crate>::__private as __rpc_rt;`, for the top of each emitted block.
fn use_private(service: &Service<'_>, errors: &Errors) -> TokenStream {
    let krate = service.attrs.crate_path("::rpc_server", errors);
    quote!(use #krate::__private as __rpc_rt;)
}

/// `impl<…> Service for Type<…> where Type<…>: Send + Sync + 'static`: the
/// impl's own generics, bounded as `Service` requires.
fn impl_header(service: &Service<'_>) -> TokenStream {
    let rt = private();
    let self_ty = &service.item.self_ty;
    let mut generics = service.item.generics.clone();
    generics
        .make_where_clause()
        .predicates
        .push(syn::parse_quote!(
            #self_ty: ::core::marker::Send + ::core::marker::Sync + 'static
        ));
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    quote!(impl #impl_generics #rt::Service for #self_ty #where_clause)
}

/// The `Service` impl emitted when the impl has errors: it serves nothing,
/// and is never run (the crate does not compile).
fn stub_impl(service: &Service<'_>) -> TokenStream {
    let rt = private();
    let header = impl_header(service);
    quote! {
        #[automatically_derived]
        #header {
            fn call<'__rpc>(&'__rpc self, _: #rt::Call<'__rpc>) -> #rt::MethodFuture<'__rpc> {
                #rt::MethodFuture::err(#rt::RpcError::method_not_found())
            }
        }
    }
}

fn service_impl(service: &Service<'_>) -> TokenStream {
    let rt = private();
    let header = impl_header(service);

    // Every method on the wire: the user's, and the unsubscribe method of
    // each subscription.
    let (mut arms, mut names, mut param_tables, mut infos) = (vec![], vec![], vec![], vec![]);
    for (index, method) in service.methods.iter().enumerate() {
        arms.push(dispatch_arm(service, method));
        let (table, info) = method_info(method, index);
        names.push(&method.wire_name);
        param_tables.push(table);
        infos.push(info);
        if let Some(subscription) = &method.subscription {
            arms.push(unsubscribe_arm(subscription));
            let (table, info) = unsubscribe_info(method, subscription, index);
            names.push(&subscription.unsubscribe);
            param_tables.push(table);
            infos.push(info);
        }
    }
    let count = infos.len();
    let lookups = names.iter().enumerate().map(
        |(index, name)| quote!(#name => ::core::option::Option::Some(&__RPC_METHODS[#index]),),
    );
    let assertions = service.methods.iter().map(type_assertions);

    let title = service.attrs.title.as_ref().map_or_else(
        || quote!(::core::env!("CARGO_PKG_NAME")),
        ToTokens::to_token_stream,
    );
    let version = service.attrs.version.as_ref().map_or_else(
        || quote!(::core::env!("CARGO_PKG_VERSION")),
        ToTokens::to_token_stream,
    );
    let docs = &service.docs;

    quote! {
        const _: () = {
            #(#assertions)*
            #(#param_tables)*

            static __RPC_METHODS: [#rt::MethodInfo; #count] = [#(#infos),*];

            #[automatically_derived]
            // Deprecated methods stay callable; the attribute is documented.
            #[allow(deprecated)]
            #header {
                fn call<'__rpc>(
                    &'__rpc self,
                    __rpc_call: #rt::Call<'__rpc>,
                ) -> #rt::MethodFuture<'__rpc> {
                    match __rpc_call.method {
                        #(#arms)*
                        _ => #rt::MethodFuture::err(#rt::RpcError::method_not_found()),
                    }
                }

                fn methods(&self) -> &[#rt::MethodInfo] {
                    &__RPC_METHODS
                }

                fn method(&self, __rpc_name: &str) -> ::core::option::Option<&#rt::MethodInfo> {
                    match __rpc_name {
                        #(#lookups)*
                        _ => ::core::option::Option::None,
                    }
                }

                fn openrpc(&self) -> ::core::option::Option<&#rt::OpenRpc> {
                    static DOCUMENT: ::std::sync::OnceLock<#rt::OpenRpc> = ::std::sync::OnceLock::new();
                    ::core::option::Option::Some(DOCUMENT.get_or_init(|| {
                        #rt::OpenRpc::build(
                            #rt::OpenRpcInfo::new(#title, #version).with_description(#docs),
                            &__RPC_METHODS,
                        )
                    }))
                }
            }
        };
    }
}

/// `"name" => { decode; call; respond }`.
fn dispatch_arm(service: &Service<'_>, method: &Method<'_>) -> TokenStream {
    let rt = private();
    let wire_name = &method.wire_name;
    let ident = &method.sig.ident;

    let json: Vec<_> = method.json_params().collect();
    let vars: Vec<_> = (0..json.len())
        .map(|i| format_ident!("__rpc_arg{}", i))
        .collect();
    let types = json.iter().map(|(_, ty, _)| ty);
    let names = json.iter().map(|(name, _, _)| name.to_string());
    let takes_raw_params = method.args.iter().any(|arg| matches!(arg, Arg::RawParams));
    // A method that takes the params whole decodes them itself.
    let decode = (!takes_raw_params).then(|| {
        quote! {
            let (#(#vars,)*) = match #rt::decode::<(#(#types,)*)>(__rpc_call.params, &[#(#names),*]) {
                ::core::result::Result::Ok(args) => args,
                ::core::result::Result::Err(err) => return #rt::MethodFuture::err(err),
            };
        }
    });

    let mut json_vars = vars.iter();
    let mut setup = TokenStream::new();
    let call_args: Vec<_> = method
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Json { .. } => json_vars.next().to_token_stream(),
            Arg::Context => {
                setup.extend(quote!(let __rpc_ctx = __rpc_call.context();));
                quote!(&__rpc_ctx)
            }
            Arg::RawParams => quote!(__rpc_call.params),
            Arg::Peer => {
                setup.extend(quote! {
                    let __rpc_peer = match __rpc_call.connection.peer() {
                        ::core::option::Option::Some(peer) => ::core::clone::Clone::clone(peer),
                        ::core::option::Option::None => {
                            return #rt::MethodFuture::err(#rt::RpcError::method_not_found());
                        }
                    };
                });
                quote!(__rpc_peer)
            }
            Arg::Invalid => unreachable_arg(),
        })
        .collect();

    let receiver = if method.attrs.blocking.is_some() {
        quote!(&__rpc_this)
    } else {
        quote!(self)
    };
    let function = match service.trait_path {
        Some(trait_path) => quote!(<Self as #trait_path>::#ident),
        None => quote!(Self::#ident),
    };
    let mut invocation = quote!(#function(#receiver, #(#call_args),*));
    if method.is_async() {
        invocation = quote!(#invocation.await);
    }
    if let Some(subscription) = &method.subscription {
        return subscribe_arm(method, subscription, decode, setup, &invocation);
    }
    // Spanned at the return type, so that a result that cannot be
    // serialized, or an error that is not an `RpcError`, is reported there.
    let respond = match (&method.output, method.attrs.notification) {
        (Output::Result(ty), false) => {
            let respond = quote_spanned!(ty.span()=> #rt::respond_result(__rpc_out));
            quote!({ let __rpc_out = #invocation; #respond })
        }
        (Output::Result(ty), true) => {
            let respond = quote_spanned!(ty.span()=> #rt::respond_null_result(__rpc_out));
            quote!({ let __rpc_out = #invocation; #respond })
        }
        (Output::Value(ty), false) => {
            let respond = quote_spanned!(ty.span()=> #rt::respond(__rpc_out));
            quote!({ let __rpc_out = #invocation; #respond })
        }
        (Output::Unit, false) => quote!(#rt::respond(#invocation)),
        (_, true) => quote!({ #invocation; #rt::respond_null() }),
    };

    let run = if let Some(span) = method.attrs.blocking {
        let this = quote_spanned!(span=> #rt::clone_for_blocking(self));
        quote! {
            let __rpc_this = #this;
            #rt::MethodFuture::from_result_future(#rt::run_blocking(move || #respond))
        }
    } else {
        method_future(method, &respond)
    };

    quote! {
        #wire_name => {
            #decode
            #setup
            #run
        }
    }
}

/// The `MethodFuture` of `respond`: awaited for an `async fn`, ready for a
/// plain one.
fn method_future(method: &Method<'_>, respond: &TokenStream) -> TokenStream {
    let rt = private();
    if method.is_async() {
        quote!(#rt::MethodFuture::from_result_future(async move { #respond }))
    } else {
        quote!(#rt::MethodFuture::ready(#respond))
    }
}

/// `"subscribe_x" => { decode; check the call; call; open }`: the
/// subscription's own reply, then its items, are sent by the connection.
fn subscribe_arm(
    method: &Method<'_>,
    subscription: &Subscription<'_>,
    decode: Option<TokenStream>,
    setup: TokenStream,
    invocation: &TokenStream,
) -> TokenStream {
    let rt = private();
    let wire_name = &method.wire_name;
    let notification = &subscription.notification;
    // Spanned at the return type, so that a return type that is not a
    // stream of items is reported there.
    let open = match &method.output {
        Output::Result(ty) => quote_spanned!(ty.span()=> __rpc_opening.open_result(__rpc_out)),
        Output::Value(ty) => quote_spanned!(ty.span()=> __rpc_opening.open(__rpc_out)),
        Output::Unit => unreachable_arg(),
    };
    let respond = quote!({ let __rpc_out = #invocation; #open });
    let run = method_future(method, &respond);
    quote! {
        #wire_name => {
            #decode
            let __rpc_opening = match #rt::Opening::new(&__rpc_call, #notification) {
                ::core::result::Result::Ok(opening) => opening,
                ::core::result::Result::Err(err) => return #rt::MethodFuture::err(err),
            };
            #setup
            #run
        }
    }
}

/// `"unsubscribe_x" => unsubscribe`.
fn unsubscribe_arm(subscription: &Subscription<'_>) -> TokenStream {
    let rt = private();
    let name = &subscription.unsubscribe;
    let notification = &subscription.notification;
    quote! {
        #name => #rt::MethodFuture::ready(#rt::unsubscribe(&__rpc_call, #notification)),
    }
}

/// The subscription's item type, as generated code names it.
fn item_type(method: &Method<'_>, subscription: &Subscription<'_>) -> TokenStream {
    let rt = private();
    match (subscription.item, &method.output) {
        (Some(item), _) => quote!(#item),
        (None, Output::Result(ty)) => {
            quote!(<<#ty as #rt::ReturnsResult>::Ok as #rt::Stream>::Item)
        }
        (None, Output::Value(ty)) => quote!(<#ty as #rt::Stream>::Item),
        (None, Output::Unit) => quote!(()),
    }
}

/// The unsubscribe method's `MethodInfo`, and its parameter table: it
/// takes the subscription's id, answers whether it was open, and may be
/// called by whoever may subscribe.
fn unsubscribe_info(
    method: &Method<'_>,
    subscription: &Subscription<'_>,
    index: usize,
) -> (TokenStream, TokenStream) {
    let rt = private();
    let table = format_ident!("__RPC_UNSUBSCRIBE_PARAMS_{}", index);
    let param_table = quote! {
        static #table: [#rt::ParamInfo; 1] = [
            #rt::ParamInfo::new("subscription", "String", true, #rt::schema_for::<::std::string::String>)
        ];
    };
    let name = &subscription.unsubscribe;
    let docs = format!(
        "Ends a subscription opened with `{}`; true if it was open.",
        method.wire_name
    );
    let mut info = quote! {
        #rt::MethodInfo::new(#name)
            .with_params(&#table)
            .with_result(#rt::schema_for::<bool>)
            .with_docs(#docs)
            .only_over(#rt::Transport::WebSocket)
    };
    if !method.attrs.permissions.is_empty() {
        let permissions = &method.attrs.permissions;
        info.extend(quote!(.with_permissions(&[#(#permissions),*])));
    }
    (param_table, info)
}

/// An argument that failed to parse was reported already and code is only
/// generated when there are no errors; this keeps the types honest.
fn unreachable_arg() -> TokenStream {
    quote!(::core::unreachable!())
}

/// The method's `MethodInfo` expression, and the static table of its
/// parameters that it refers to.
fn method_info(method: &Method<'_>, index: usize) -> (TokenStream, TokenStream) {
    let rt = private();
    let table = format_ident!("__RPC_PARAMS_{}", index);
    let params: Vec<_> = method
        .json_params()
        .map(|(name, ty, optional)| {
            let name = name.to_string();
            let type_name = type_name(ty);
            let required = !optional;
            let schema = quote_spanned!(ty.span()=> #rt::schema_for::<#ty>);
            quote!(#rt::ParamInfo::new(#name, #type_name, #required, #schema))
        })
        .collect();
    let count = params.len();
    let param_table = quote!(static #table: [#rt::ParamInfo; #count] = [#(#params),*];);

    let name = &method.wire_name;
    let docs = &method.docs;
    let mut info = quote!(#rt::MethodInfo::new(#name).with_params(&#table).with_docs(#docs));
    if let Some(subscription) = &method.subscription {
        let notification = &subscription.notification;
        let unsubscribe = &subscription.unsubscribe;
        let item = item_type(method, subscription);
        info.extend(quote! {
            .with_result(#rt::schema_for::<::std::string::String>)
            .subscription(#notification, #unsubscribe, #rt::item_schema::<#item>)
        });
    } else if let Some(result) = result_type(method) {
        info.extend(quote!(.with_result(#rt::schema_for::<#result>)));
    }
    if method.args.iter().any(|arg| matches!(arg, Arg::RawParams)) {
        info.extend(quote!(.with_raw_params()));
    }
    if method.attrs.notification {
        info.extend(quote!(.notification()));
    }
    if !method.attrs.permissions.is_empty() {
        let permissions = &method.attrs.permissions;
        info.extend(quote!(.with_permissions(&[#(#permissions),*])));
    }
    if let Some(ms) = method.attrs.timeout_ms {
        info.extend(quote!(.with_timeout(::core::time::Duration::from_millis(#ms))));
    }
    if let Some(attr::Rate {
        calls,
        per_secs,
        burst,
    }) = method.attrs.rate
    {
        info.extend(quote!(.with_rate(
            #rt::Rate::new(#calls, ::core::time::Duration::from_secs(#per_secs)).with_burst(#burst)
        )));
    }
    if method.deprecated {
        info.extend(quote!(.deprecated()));
    }
    // A method that takes a `Peer`, or opens a subscription, needs a
    // two-way connection.
    let transport = if method.takes_peer() || method.subscription.is_some() {
        Some(attr::Transport::WebSocket)
    } else {
        method.attrs.transport
    };
    match transport {
        Some(attr::Transport::WebSocket) => {
            info.extend(quote!(.only_over(#rt::Transport::WebSocket)));
        }
        Some(attr::Transport::Http) => info.extend(quote!(.only_over(#rt::Transport::Http))),
        None => {}
    }
    (param_table, info)
}

/// The type the result's schema describes; `None` for a notification.
fn result_type(method: &Method<'_>) -> Option<TokenStream> {
    if method.attrs.notification {
        return None;
    }
    let rt = private();
    Some(match method.output {
        Output::Unit => quote!(()),
        Output::Value(ty) => quote!(#ty),
        Output::Result(ty) => quote!(<#ty as #rt::ReturnsResult>::Ok),
    })
}

/// Compile-time checks whose errors point at the user's types.
fn type_assertions(method: &Method<'_>) -> TokenStream {
    let rt = private();
    let mut checks = TokenStream::new();
    for (_, ty, _) in method.json_params() {
        checks.extend(quote_spanned! {ty.span()=>
            #rt::assert_param::<#ty>();
        });
    }
    if method.subscription.is_some() {
        // The item is checked where its schema is taken and where the
        // stream is opened.
        return quote!(const _: () = { #checks };);
    }
    let result = match method.output {
        Output::Value(ty) if !method.attrs.notification => Some((ty, quote!(#ty))),
        Output::Result(ty) if !method.attrs.notification => {
            Some((ty, quote!(<#ty as #rt::ReturnsResult>::Ok)))
        }
        _ => None,
    };
    if let Some((ty, checked)) = result {
        checks.extend(quote_spanned! {ty.span()=>
            #rt::assert_result::<#checked>();
        });
    }
    quote!(const _: () = { #checks };)
}

/// A readable rendering of a type: `Option<Vec<String>>`, not
/// `Option < Vec < String > >`.
fn type_name(ty: &Type) -> LitStr {
    let mut text = ty.to_token_stream().to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("& ", "&"),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
        ("( ", "("),
        (" )", ")"),
    ] {
        text = text.replace(from, to);
    }
    LitStr::new(&text, ty.span())
}
