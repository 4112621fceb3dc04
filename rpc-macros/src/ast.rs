//! The model both macros work from: a `#[rpc_service]` impl, or a
//! `#[rpc_client]` trait, as methods that say what each is called on the
//! wire, what it takes and what it returns, with references to the user's
//! syntax for spans.

use proc_macro2::Span;
use syn::{
    Attribute, Expr, FnArg, GenericArgument, Ident, ImplItem, ItemImpl, ItemTrait, Lit, Pat, Path,
    PathArguments, ReturnType, Signature, TraitItem, Type, TypeParamBound,
};

use crate::attr::{self, MethodAttrs, ServiceAttrs};
use crate::errors::Errors;

pub(crate) struct Service<'a> {
    pub(crate) item: &'a ItemImpl,
    pub(crate) attrs: ServiceAttrs,
    /// The trait being implemented, or `None` for an inherent impl.
    pub(crate) trait_path: Option<&'a Path>,
    pub(crate) docs: String,
    pub(crate) methods: Vec<Method<'a>>,
}

/// A `#[rpc_client]` trait: the calls its client makes.
pub(crate) struct Client<'a> {
    pub(crate) item: &'a ItemTrait,
    pub(crate) attrs: ServiceAttrs,
    pub(crate) methods: Vec<Method<'a>>,
}

pub(crate) struct Method<'a> {
    /// The method's signature, in the impl or in the trait.
    pub(crate) sig: &'a Signature,
    pub(crate) attrs: MethodAttrs,
    /// The name on the wire (renamed and namespaced).
    pub(crate) wire_name: String,
    /// Where the wire name comes from, for errors about it.
    pub(crate) name_span: Span,
    pub(crate) args: Vec<Arg<'a>>,
    pub(crate) output: Output<'a>,
    pub(crate) docs: String,
    pub(crate) deprecated: bool,
    /// Set for a subscription method.
    pub(crate) subscription: Option<Subscription<'a>>,
}

/// What a subscription method adds: its notifications and its unsubscribe
/// method.
pub(crate) struct Subscription<'a> {
    /// What its notifications are called.
    pub(crate) notification: String,
    /// The wire name of its unsubscribe method.
    pub(crate) unsubscribe: String,
    /// Where the unsubscribe name comes from, for errors about it.
    pub(crate) unsubscribe_span: Span,
    /// The item type, when the return type spells it out
    /// (`impl Stream<Item = T>`); else it is the stream type's `Item`.
    pub(crate) item: Option<&'a Type>,
    /// Whether the return type hides its stream behind `impl Trait` without
    /// saying the item type (reported by `check`).
    pub(crate) unnamed_item: bool,
}

pub(crate) enum Arg<'a> {
    /// A JSON parameter.
    Json {
        name: &'a Ident,
        ty: &'a Type,
        /// Written as `Option<…>`: may be left out.
        optional: bool,
    },
    /// `&RpcContext`, filled in by the framework.
    Context,
    /// `Params`: the raw params, whole.
    RawParams,
    /// `Peer`: the other side of a WebSocket connection.
    Peer,
    /// An argument whose pattern is not a plain name (already reported).
    Invalid,
}

pub(crate) enum Output<'a> {
    /// No return type: `()`.
    Unit,
    /// A `Result` (by name: the last path segment ends in `Result`).
    Result(&'a Type),
    /// Any other serializable value.
    Value(&'a Type),
}

impl<'a> Service<'a> {
    pub(crate) fn from_syn(item: &'a ItemImpl, attrs: ServiceAttrs, errors: &Errors) -> Self {
        let functions = item.items.iter().filter_map(|item| match item {
            ImplItem::Fn(func) => Some((&func.sig, &func.attrs[..])),
            _ => None,
        });
        let methods = Method::all(functions, &attrs, errors);
        Service {
            item,
            attrs,
            trait_path: item.trait_.as_ref().map(|(path, _)| path),
            docs: docs(&item.attrs),
            methods,
        }
    }
}

impl<'a> Client<'a> {
    pub(crate) fn from_syn(item: &'a ItemTrait, attrs: ServiceAttrs, errors: &Errors) -> Self {
        let functions = item.items.iter().filter_map(|item| match item {
            TraitItem::Fn(func) => Some((&func.sig, &func.attrs[..])),
            _ => None,
        });
        let methods = Method::all(functions, &attrs, errors);
        Client {
            item,
            attrs,
            methods,
        }
    }
}

impl<'a> Method<'a> {
    /// The methods of an impl or a trait, from their signatures and
    /// attributes.
    fn all(
        functions: impl Iterator<Item = (&'a Signature, &'a [Attribute])>,
        attrs: &ServiceAttrs,
        errors: &Errors,
    ) -> Vec<Self> {
        let namespace = attrs.namespace.as_ref().map(|ns| ns.value());
        functions
            .map(|(sig, fn_attrs)| Self::from_syn(sig, fn_attrs, namespace.as_deref(), errors))
            .collect()
    }

    fn from_syn(
        sig: &'a Signature,
        fn_attrs: &[Attribute],
        namespace: Option<&str>,
        errors: &Errors,
    ) -> Self {
        let attrs = attr::method_attrs(fn_attrs, errors);
        let (name, name_span) = match &attrs.name {
            Some(name) => (name.value(), name.span()),
            None => (sig.ident.to_string(), sig.ident.span()),
        };
        let namespaced = |name: &str| match namespace {
            Some(namespace) => format!("{namespace}.{name}"),
            None => name.to_owned(),
        };
        let wire_name = namespaced(&name);
        let args = sig
            .inputs
            .iter()
            .filter_map(|arg| match arg {
                FnArg::Receiver(_) => None,
                FnArg::Typed(typed) => Some(Arg::from_syn(&typed.pat, &typed.ty, errors)),
            })
            .collect();
        let output = match &sig.output {
            ReturnType::Default => Output::Unit,
            ReturnType::Type(_, ty) if is_unit(ty) => Output::Unit,
            ReturnType::Type(_, ty) if last_segment_ends_with(ty, "Result") => Output::Result(ty),
            ReturnType::Type(_, ty) => Output::Value(ty),
        };
        let subscription = attrs.subscription.as_ref().map(|sub| {
            let (unsubscribe, unsubscribe_span) = match &attrs.unsubscribe {
                Some(given) => (namespaced(&given.value()), given.span()),
                None => (namespaced(&unsubscribe_name(&name)), sub.span),
            };
            let stream = match output {
                Output::Result(ty) => first_type_argument(ty),
                Output::Value(ty) => Some(ty),
                Output::Unit => None,
            };
            let item =
                stream.and_then(|stream| stream_item(stream).or_else(|| subscription_item(stream)));
            Subscription {
                notification: sub
                    .notification
                    .as_ref()
                    .map_or_else(|| wire_name.clone(), syn::LitStr::value),
                unsubscribe,
                unsubscribe_span,
                item,
                unnamed_item: item.is_none() && stream.is_some_and(contains_impl_trait),
            }
        });
        Method {
            sig,
            wire_name,
            name_span,
            args,
            output,
            docs: docs(fn_attrs),
            deprecated: fn_attrs.iter().any(|a| a.path().is_ident("deprecated")),
            attrs,
            subscription,
        }
    }

    pub(crate) fn json_params(&self) -> impl Iterator<Item = (&'a Ident, &'a Type, bool)> + '_ {
        self.args.iter().filter_map(|arg| match *arg {
            Arg::Json { name, ty, optional } => Some((name, ty, optional)),
            _ => None,
        })
    }

    pub(crate) fn takes_peer(&self) -> bool {
        self.args.iter().any(|arg| matches!(arg, Arg::Peer))
    }

    pub(crate) fn is_async(&self) -> bool {
        self.sig.asyncness.is_some()
    }
}

/// An argument the framework fills in on the server, if `ty` is one:
/// `&RpcContext`, `Params` or `Peer`. (`#[rpc_client]` leaves them out of
/// the calls it makes.)
fn injected(ty: &Type) -> Option<Arg<'static>> {
    if is_context(ty) {
        Some(Arg::Context)
    } else if last_segment_is(ty, "Params") {
        Some(Arg::RawParams)
    } else if last_segment_is(ty, "Peer") {
        Some(Arg::Peer)
    } else {
        None
    }
}

impl<'a> Arg<'a> {
    fn from_syn(pat: &'a Pat, ty: &'a Type, errors: &Errors) -> Self {
        if let Some(injected) = injected(ty) {
            return injected;
        }
        match pat {
            Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => Arg::Json {
                name: &ident.ident,
                ty,
                optional: last_segment_is(ty, "Option"),
            },
            _ => {
                errors.spanned(
                    pat,
                    "RPC parameters must be plain names (they name the JSON parameters); destructure inside the method",
                );
                Arg::Invalid
            }
        }
    }
}

/// The unsubscribe method that goes with `subscribe_name`: `subscribe`
/// becomes `unsubscribe` (`subscribe_counter` → `unsubscribe_counter`,
/// `eth_subscribe` → `eth_unsubscribe`); a name without it gets the prefix
/// `unsubscribe_`.
fn unsubscribe_name(subscribe_name: &str) -> String {
    if subscribe_name.contains("subscribe") {
        subscribe_name.replacen("subscribe", "unsubscribe", 1)
    } else {
        format!("unsubscribe_{subscribe_name}")
    }
}

/// `T` in `Result<T, E>` (or any alias written with its success type first).
fn first_type_argument(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// `T` in `impl Stream<Item = T> + …`.
fn stream_item(ty: &Type) -> Option<&Type> {
    let Type::ImplTrait(impl_trait) = ty else {
        return None;
    };
    impl_trait.bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let segment = bound.path.segments.last()?;
        let PathArguments::AngleBracketed(args) = &segment.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Item" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// `T` in `Subscription<T>`: what a client's subscription method returns.
fn subscription_item(ty: &Type) -> Option<&Type> {
    if last_segment_is(ty, "Subscription") {
        first_type_argument(ty)
    } else {
        None
    }
}

/// Whether `ty` is, or holds, an `impl Trait`.
fn contains_impl_trait(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(_) => true,
        Type::Path(path) => path
            .path
            .segments
            .iter()
            .any(|segment| match &segment.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().any(|arg| match arg {
                    GenericArgument::Type(ty) => contains_impl_trait(ty),
                    _ => false,
                }),
                _ => false,
            }),
        Type::Group(group) => contains_impl_trait(&group.elem),
        Type::Paren(paren) => contains_impl_trait(&paren.elem),
        _ => false,
    }
}

/// `&RpcContext` (any path ending in `RpcContext`).
fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => last_segment_is(&reference.elem, "RpcContext"),
        _ => false,
    }
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty())
}

fn last_segment(ty: &Type) -> Option<&Ident> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().map(|s| &s.ident),
        Type::Group(group) => last_segment(&group.elem),
        Type::Paren(paren) => last_segment(&paren.elem),
        _ => None,
    }
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|ident| ident == name)
}

fn last_segment_ends_with(ty: &Type, suffix: &str) -> bool {
    last_segment(ty).is_some_and(|ident| ident.to_string().ends_with(suffix))
}

/// The `///` documentation, one leading space per line removed.
fn docs(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(lit) => match &lit.lit {
                    Lit::Str(s) => Some(s.value()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_owned())
        .collect();
    lines.join("\n").trim().to_owned()
}
