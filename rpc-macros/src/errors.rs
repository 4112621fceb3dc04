//! Collects every error so that all are reported at once, each at its own
//! tokens (serde_derive's `Ctxt`).

use std::cell::RefCell;
use std::fmt::Display;

use quote::ToTokens;

#[derive(Default)]
pub(crate) struct Errors(RefCell<Option<syn::Error>>);

impl Errors {
    pub(crate) fn push(&self, error: syn::Error) {
        let mut slot = self.0.borrow_mut();
        match slot.as_mut() {
            Some(existing) => existing.combine(error),
            None => *slot = Some(error),
        }
    }

    pub(crate) fn spanned(&self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn into_result(self) -> syn::Result<()> {
        self.0.into_inner().map_or(Ok(()), Err)
    }
}
