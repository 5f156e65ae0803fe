//! One module per command.

pub mod attack_sim;
pub mod bench;
pub mod demo;
pub mod headers;
pub mod mine;
pub mod node;
pub mod simulate;

// The stored chain's commands (issue 3).
pub mod add;
pub mod chain;
pub mod check_proof;
pub mod export;
pub mod import;
pub mod init;
pub mod log;
pub mod mine_store;
pub mod prove;
pub mod repair;
pub mod show;
pub mod tamper;
pub mod verify;
