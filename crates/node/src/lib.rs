//! Placeholder: the node crate is being written.
