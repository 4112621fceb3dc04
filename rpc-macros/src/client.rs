//! `#[rpc_client]`: a typed client type from a trait definition.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{FnArg, ItemTrait, Pat, ReturnType, TraitItem, Type};

use crate::attr;
use crate::errors::Errors;

pub(crate) fn rpc_client(args: TokenStream, mut item: ItemTrait) -> TokenStream {
    let errors = Errors::default();
    let service_attrs = attr::service_attrs(args, &errors);
    let krate = service_attrs.crate_path("::rpc_client", &errors);
    let namespace = service_attrs.namespace.as_ref().map(syn::LitStr::value);
    let mut methods = Vec::new();
    for trait_item in &item.items {
        let TraitItem::Fn(func) = trait_item else {
            continue;
        };
        let attrs = attr::method_attrs(&func.attrs, &errors);
        let sig = &func.sig;
        if !matches!(sig.inputs.first(), Some(FnArg::Receiver(_))) {
            errors.spanned(&sig.ident, "client methods must take `&self`");
            continue;
        }
        let local_name = attrs
            .name
            .as_ref()
            .map_or_else(|| sig.ident.to_string(), syn::LitStr::value);
        let wire_name = match &namespace {
            Some(namespace) => format!("{namespace}.{local_name}"),
            None => local_name.clone(),
        };
        let mut params = Vec::new();
        for arg in sig.inputs.iter().skip(1) {
            let FnArg::Typed(typed) = arg else { continue };
            if crate::ast::injected(&typed.ty).is_some() {
                // Filled in on the server; not sent.
                continue;
            }
            match &*typed.pat {
                Pat::Ident(ident) => params.push((ident.ident.clone(), (*typed.ty).clone())),
                other => errors.spanned(other, "client parameters must be plain names"),
            }
        }
        let ident = &sig.ident;
        // The user's parameter names, which the generated docs show.
        let vars: Vec<_> = params.iter().map(|(name, _)| name).collect();
        let types = params.iter().map(|(_, ty)| ty);
        let docs = func.attrs.iter().filter(|a| a.path().is_ident("doc"));
        let method = if attrs.subscription.is_some() {
            let unsubscribe = match &attrs.unsubscribe {
                Some(given) => given.value(),
                None => crate::ast::unsubscribe_name(&local_name),
            };
            let unsubscribe = match &namespace {
                Some(namespace) => format!("{namespace}.{unsubscribe}"),
                None => unsubscribe,
            };
            let Some(item) = subscription_item(&sig.output) else {
                errors.spanned(
                    &sig.output,
                    "a subscription method returns `Subscription<T>` (or `impl Stream<Item = T>`), T being the item type",
                );
                continue;
            };
            quote! {
                #(#docs)*
                pub async fn #ident(&self, #(#vars: #types),*)
                    -> ::core::result::Result<#krate::Subscription<#item>, #krate::CallError>
                {
                    self.client.subscribe(#wire_name, (#(#vars,)*), #unsubscribe).await
                }
            }
        } else if attrs.notification {
            quote! {
                #(#docs)*
                pub async fn #ident(&self, #(#vars: #types),*)
                    -> ::core::result::Result<(), #krate::CallError>
                {
                    self.client.notify(#wire_name, (#(#vars,)*)).await
                }
            }
        } else {
            let output = match &sig.output {
                ReturnType::Default => quote!(()),
                ReturnType::Type(_, ty) if ends_with_result(ty) => {
                    quote!(<#ty as #krate::__private::ReturnsResult>::Ok)
                }
                ReturnType::Type(_, ty) => quote!(#ty),
            };
            quote! {
                #(#docs)*
                pub async fn #ident(&self, #(#vars: #types),*)
                    -> ::core::result::Result<#output, #krate::CallError>
                {
                    self.client.call(#wire_name, (#(#vars,)*)).await
                }
            }
        };
        methods.push(method);
    }
    for trait_item in &mut item.items {
        if let TraitItem::Fn(func) = trait_item {
            func.attrs.retain(|attr| !attr::is_rpc_attr(attr));
        }
    }
    if let Err(err) = errors.into_result() {
        // The trait is still emitted, so its other uses don't cascade.
        let errors = err.to_compile_error();
        return quote!(#item #errors);
    }
    let vis = &item.vis;
    let client = format_ident!("{}Client", item.ident);
    let doc = format!(
        "A typed client for [`{}`]: each method calls the server and returns its result or a `CallError`.",
        item.ident
    );
    quote! {
        #item

        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #client {
            client: #krate::Client,
        }

        impl #client {
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

/// The item type of a subscription method's return type:
/// `Subscription<T>`, `impl Stream<Item = T>`, or either in a `Result`.
fn subscription_item(output: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let ty = if ends_with_result(ty) {
        crate::ast::first_type_argument(ty)?
    } else {
        ty
    };
    match ty {
        Type::Path(path)
            if path
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Subscription") =>
        {
            crate::ast::first_type_argument(ty)
        }
        other => crate::ast::stream_item(other),
    }
}

fn ends_with_result(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident.to_string().ends_with("Result")))
}
