//! Helpers for the tests that run the examples.

pub mod node;
pub mod running;
