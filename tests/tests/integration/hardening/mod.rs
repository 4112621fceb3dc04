//! Hostile and careless peers: malformed and oversized input, floods, slow
//! readers, and what never reaches the logs.

mod hostile;
mod logs;
mod slow_and_flood;
