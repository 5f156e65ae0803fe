//! One module per command.

pub mod bench;
pub mod demo;
pub mod headers;
pub mod mine;
