//! Parsing `#[rpc_service(...)]` and `#[rpc(...)]`.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Attribute, LitStr};

use crate::errors::Errors;

/// `#[rpc_service(title = "…", version = "…", namespace = "…")]`.
#[derive(Default)]
pub(crate) struct ServiceAttrs {
    pub(crate) title: Option<LitStr>,
    pub(crate) version: Option<LitStr>,
    pub(crate) namespace: Option<LitStr>,
    /// `crate = "…"`: where the generated code finds the framework, for a
    /// dependency renamed in Cargo.toml.
    pub(crate) krate: Option<LitStr>,
}

impl ServiceAttrs {
    /// The path of the framework crate: `crate = "…"`, else `default`.
    pub(crate) fn crate_path(&self, default: &str, errors: &Errors) -> syn::Path {
        let given = self
            .krate
            .as_ref()
            .and_then(|krate| match krate.parse::<syn::Path>() {
                Ok(path) => Some(path),
                Err(_) => {
                    errors.spanned(
                        krate,
                        "`crate` must be a path, such as \"my_rpc\" or \"::rpc_server\"",
                    );
                    None
                }
            });
        given.unwrap_or_else(|| syn::parse_str(default).expect("a valid default path"))
    }
}

/// `#[rpc(name = "…", notification, timeout = "5s", permission = "…", blocking,
/// transport = "ws", rate = "10/s", subscription = "…", unsubscribe = "…")]`.
#[derive(Default)]
pub(crate) struct MethodAttrs {
    pub(crate) name: Option<LitStr>,
    pub(crate) notification: bool,
    /// The timeout in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) permissions: Vec<LitStr>,
    pub(crate) blocking: Option<Span>,
    pub(crate) transport: Option<Transport>,
    pub(crate) rate: Option<Rate>,
    /// `subscription`, or `subscription = "notification name"`.
    pub(crate) subscription: Option<SubscriptionAttr>,
    /// `unsubscribe = "method name"`.
    pub(crate) unsubscribe: Option<LitStr>,
}

/// `#[rpc(subscription)]` or `#[rpc(subscription = "counter")]`.
pub(crate) struct SubscriptionAttr {
    /// What its notifications are called, when not after the method.
    pub(crate) notification: Option<LitStr>,
    pub(crate) span: Span,
}

/// `#[rpc(rate = "10/s")]` or `"600/m, burst 20"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rate {
    pub(crate) calls: u32,
    pub(crate) per_secs: u64,
    pub(crate) burst: u32,
}

/// `#[rpc(transport = "ws" | "http")]`.
#[derive(Clone, Copy)]
pub(crate) enum Transport {
    WebSocket,
    Http,
}

pub(crate) fn service_attrs(args: TokenStream, errors: &Errors) -> ServiceAttrs {
    let mut attrs = ServiceAttrs::default();
    let parser = syn::meta::parser(|meta| {
        let slot = if meta.path.is_ident("title") {
            &mut attrs.title
        } else if meta.path.is_ident("version") {
            &mut attrs.version
        } else if meta.path.is_ident("namespace") {
            &mut attrs.namespace
        } else if meta.path.is_ident("crate") {
            &mut attrs.krate
        } else {
            return Err(unknown_key(
                &meta,
                &["title", "version", "namespace", "crate"],
            ));
        };
        set_once(slot, &meta, meta.value()?.parse()?)
    });
    if let Err(err) = parser.parse2(args) {
        errors.push(err);
    }
    if let Some(namespace) = &attrs.namespace {
        if namespace.value().is_empty() {
            errors.spanned(namespace, "the namespace must not be empty");
        }
    }
    attrs
}

/// Parses every `#[rpc(...)]` among `attrs`.
pub(crate) fn method_attrs(attrs: &[Attribute], errors: &Errors) -> MethodAttrs {
    let mut parsed = MethodAttrs::default();
    for attr in attrs.iter().filter(|attr| is_rpc_attr(attr)) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let name: LitStr = meta.value()?.parse()?;
                if name.value().is_empty() {
                    return Err(syn::Error::new(name.span(), "the method name must not be empty"));
                }
                set_once(&mut parsed.name, &meta, name)
            } else if meta.path.is_ident("notification") {
                parsed.notification = true;
                Ok(())
            } else if meta.path.is_ident("timeout") {
                let literal: LitStr = meta.value()?.parse()?;
                let millis = parse_duration_ms(&literal.value()).ok_or_else(|| {
                    syn::Error::new(
                        literal.span(),
                        format!(
                            "invalid timeout {:?}: expected a positive whole number followed by `ms`, `s`, `m` or `h`, like \"30s\"",
                            literal.value()
                        ),
                    )
                })?;
                set_once(&mut parsed.timeout_ms, &meta, millis)
            } else if meta.path.is_ident("permission") {
                let permission: LitStr = meta.value()?.parse()?;
                if permission.value().is_empty() {
                    return Err(syn::Error::new(permission.span(), "a permission must not be empty"));
                }
                parsed.permissions.push(permission);
                Ok(())
            } else if meta.path.is_ident("transport") {
                let literal: LitStr = meta.value()?.parse()?;
                let transport = match literal.value().as_str() {
                    "ws" | "websocket" => Transport::WebSocket,
                    "http" => Transport::Http,
                    other => {
                        return Err(syn::Error::new(
                            literal.span(),
                            format!("unknown transport {other:?}: expected \"ws\" or \"http\""),
                        ));
                    }
                };
                set_once(&mut parsed.transport, &meta, transport)
            } else if meta.path.is_ident("rate") {
                let literal: LitStr = meta.value()?.parse()?;
                let rate = parse_rate(&literal.value()).ok_or_else(|| {
                    syn::Error::new(
                        literal.span(),
                        format!(
                            "invalid rate {:?}: expected calls per second, minute or hour, like \"10/s\", \"600/m\" or \"100/h\", optionally followed by \", burst N\"",
                            literal.value()
                        ),
                    )
                })?;
                set_once(&mut parsed.rate, &meta, rate)
            } else if meta.path.is_ident("blocking") {
                parsed.blocking = Some(meta.path.segments[0].ident.span());
                Ok(())
            } else if meta.path.is_ident("subscription") {
                let notification = if meta.input.peek(syn::Token![=]) {
                    let name: LitStr = meta.value()?.parse()?;
                    if name.value().is_empty() {
                        return Err(syn::Error::new(
                            name.span(),
                            "the notification name must not be empty",
                        ));
                    }
                    Some(name)
                } else {
                    None
                };
                let span = meta.path.segments[0].ident.span();
                set_once(
                    &mut parsed.subscription,
                    &meta,
                    SubscriptionAttr { notification, span },
                )
            } else if meta.path.is_ident("unsubscribe") {
                let name: LitStr = meta.value()?.parse()?;
                if name.value().is_empty() {
                    return Err(syn::Error::new(name.span(), "the method name must not be empty"));
                }
                set_once(&mut parsed.unsubscribe, &meta, name)
            } else {
                Err(unknown_key(
                    &meta,
                    &[
                        "name",
                        "notification",
                        "timeout",
                        "permission",
                        "blocking",
                        "transport",
                        "rate",
                        "subscription",
                        "unsubscribe",
                    ],
                ))
            }
        });
        if let Err(err) = result {
            errors.push(err);
        }
    }
    parsed
}

pub(crate) fn is_rpc_attr(attr: &Attribute) -> bool {
    attr.path().is_ident("rpc")
}

fn set_once<T>(slot: &mut Option<T>, meta: &ParseNestedMeta<'_>, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error("this key is given more than once"));
    }
    *slot = Some(value);
    Ok(())
}

fn unknown_key(meta: &ParseNestedMeta<'_>, expected: &[&str]) -> syn::Error {
    let key = meta
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::");
    let expected = expected
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    meta.error(format!("unknown key `{key}`; expected one of {expected}"))
}

/// "250ms", "30s", "2m", "1h" → milliseconds; `None` if malformed or zero.
pub(crate) fn parse_duration_ms(text: &str) -> Option<u64> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits_end);
    let number: u64 = number.parse().ok()?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(factor).filter(|&ms| ms > 0)
}

/// "10/s", "600/m", "100/h", optionally ", burst N" (the rules of
/// `rpc_core::Rate`'s `FromStr`); `None` if malformed or allowing nothing.
pub(crate) fn parse_rate(text: &str) -> Option<Rate> {
    let (rate, burst) = match text.split_once(',') {
        Some((rate, burst)) => (rate, Some(burst.trim().strip_prefix("burst")?.trim())),
        None => (text, None),
    };
    let (calls, unit) = rate.trim().split_once('/')?;
    let calls: u32 = calls.trim().parse().ok()?;
    let per_secs = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        _ => return None,
    };
    let burst = match burst {
        Some(burst) => burst.parse().ok()?,
        None => calls,
    };
    (calls > 0 && burst > 0).then_some(Rate {
        calls,
        per_secs,
        burst,
    })
}

#[cfg(test)]
mod tests {
    use super::{Rate, parse_duration_ms, parse_rate};

    #[test]
    fn rates() {
        let rate = |calls, per_secs, burst| {
            Some(Rate {
                calls,
                per_secs,
                burst,
            })
        };
        assert_eq!(parse_rate("10/s"), rate(10, 1, 10));
        assert_eq!(parse_rate("600/m, burst 20"), rate(600, 60, 20));
        assert_eq!(parse_rate(" 5 / h ,burst 1"), rate(5, 3_600, 1));
        for bad in ["", "10", "0/s", "10/d", "10/s, 3", "10/s, burst 0", "x/s"] {
            assert_eq!(parse_rate(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("30s"), Some(30_000));
        assert_eq!(parse_duration_ms("2m"), Some(120_000));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        for bad in [
            "",
            "s",
            "5",
            "5 s",
            "5sec",
            "1.5s",
            "0s",
            "-1s",
            "99999999999999999999h",
        ] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }
}
