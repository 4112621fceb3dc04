//! Cross-crate integration and conformance tests live in `tests/`; the
//! macro's compile-error snapshots in `tests/ui/`. This library is empty.
