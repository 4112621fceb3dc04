//! `#[rpc_client]`: a typed client type from a trait definition, through
//! the same stages as `#[rpc_service]`: attributes, the model
//! ([`ast::Client`]), the shared checks, then this expansion.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{ItemTrait, TraitItem};

use crate::ast::{Client, Method, Output};
use crate::attr;
use crate::check;
use crate::errors::Errors;

pub(crate) fn rpc_client(args: TokenStream, item: ItemTrait) -> TokenStream {
    let errors = Errors::default();
    let attrs = attr::service_attrs(args, &errors);
    let client = Client::from_syn(&item, attrs, &errors);
    check::client(&client, &errors);
    let krate = client.attrs.crate_path("::rpc_client", &errors);
    let user_trait = without_rpc_attrs(item.clone());
    if let Err(err) = errors.into_result() {
        // The trait is still emitted, so its other uses don't cascade.
        let errors = err.to_compile_error();
        return quote!(#user_trait #errors);
    }
    let methods = client
        .methods
        .iter()
        .map(|method| client_method(method, &krate));
    let vis = &client.item.vis;
    let name = format_ident!("{}Client", client.item.ident);
    let doc = format!(
        "A typed client for [`{}`]: each method calls the server and returns its result or a `CallError`.",
        client.item.ident
    );
    quote! {
        #user_trait

        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #name {
            client: #krate::Client,
        }

        impl #name {
            /// Wraps a connected client.
            #vis fn new(client: #krate::Client) -> Self {
                Self { client }
            }

            /// The untyped client underneath.
            #vis fn client(&self) -> &#krate::Client {
                &self.client
            }

            #(#methods)*
        }
    }
}

/// The trait, minus the `#[rpc(...)]` attributes only we understand.
fn without_rpc_attrs(mut item: ItemTrait) -> ItemTrait {
    for item in &mut item.items {
        if let TraitItem::Fn(func) = item {
            func.attrs.retain(|attr| !attr::is_rpc_attr(attr));
        }
    }
    item
}

/// One method of the client: its JSON parameters (under the trait's names;
/// what the server fills in is left out), sent by position.
fn client_method(method: &Method<'_>, krate: &syn::Path) -> TokenStream {
    let ident = &method.sig.ident;
    let wire_name = &method.wire_name;
    let (vars, types): (Vec<_>, Vec<_>) =
        method.json_params().map(|(name, ty, _)| (name, ty)).unzip();
    let docs = (!method.docs.is_empty()).then(|| {
        let docs = &method.docs;
        quote!(#[doc = #docs])
    });
    if let Some(subscription) = &method.subscription {
        let unsubscribe = &subscription.unsubscribe;
        // `check` made sure the item type is there.
        let item = subscription.item;
        return quote! {
            #docs
            pub async fn #ident(&self, #(#vars: #types),*)
                -> ::core::result::Result<#krate::Subscription<#item>, #krate::CallError>
            {
                self.client.subscribe(#wire_name, (#(#vars,)*), #unsubscribe).await
            }
        };
    }
    if method.attrs.notification {
        return quote! {
            #docs
            pub async fn #ident(&self, #(#vars: #types),*)
                -> ::core::result::Result<(), #krate::CallError>
            {
                self.client.notify(#wire_name, (#(#vars,)*)).await
            }
        };
    }
    let output = match method.output {
        Output::Unit => quote!(()),
        Output::Result(ty) => quote!(<#ty as #krate::__private::ReturnsResult>::Ok),
        Output::Value(ty) => quote!(#ty),
    };
    quote! {
        #docs
        pub async fn #ident(&self, #(#vars: #types),*)
            -> ::core::result::Result<#output, #krate::CallError>
        {
            self.client.call(#wire_name, (#(#vars,)*)).await
        }
    }
}
