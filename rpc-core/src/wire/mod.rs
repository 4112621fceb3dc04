//! The wire format: request ids, parsing and validating requests and
//! batches within the limits, params and their typed decoding, replies and
//! the error model.

pub(crate) mod batch;
pub(crate) mod decode;
pub(crate) mod error;
pub(crate) mod id;
pub(crate) mod limits;
pub(crate) mod params;
pub(crate) mod plain_str;
pub(crate) mod request;
pub(crate) mod response;
