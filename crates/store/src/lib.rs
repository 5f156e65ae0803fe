//! Placeholder: the store crate is being written.
