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
}

/// `#[rpc(name = "…", notification, timeout = "5s", permission = "…", blocking)]`.
#[derive(Default)]
pub(crate) struct MethodAttrs {
    pub(crate) name: Option<LitStr>,
    pub(crate) notification: bool,
    /// The timeout in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) permissions: Vec<LitStr>,
    pub(crate) blocking: Option<Span>,
    pub(crate) transport: Option<Transport>,
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
        } else {
            return Err(unknown_key(&meta, &["title", "version", "namespace"]));
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
            } else if meta.path.is_ident("blocking") {
                parsed.blocking = Some(meta.path.segments[0].ident.span());
                Ok(())
            } else {
                Err(unknown_key(
                    &meta,
                    &["name", "notification", "timeout", "permission", "blocking", "transport"],
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

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

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
