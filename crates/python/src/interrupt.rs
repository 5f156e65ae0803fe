//! Long work off the GIL, stoppable with Ctrl-C.
//!
//! Python handles Ctrl-C by setting a flag that the interpreter checks between bytecodes; code in
//! an extension that runs for seconds never gives it the chance, so Ctrl-C would seem dead. Here
//! the work runs on its own thread while the calling thread waits with the GIL released (so other
//! Python threads run meanwhile), waking every few milliseconds to let Python run its signal
//! handlers. If a handler raises (KeyboardInterrupt), the work is told to stop and the exception
//! propagates, exactly as if the loop had been written in Python.
//!
//! Mining stops within a millisecond of [`MineControl::cancel`], and the caller waits for it so
//! that nothing is left running. Verification cannot be cancelled halfway; it only reads, so on
//! Ctrl-C it is left to finish on its own and its result is dropped.
//!
//! [`MineControl::cancel`]: ironchain_core::miner::MineControl::cancel

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// How often the waiting thread checks for signals: fast enough that Ctrl-C feels immediate.
const POLL: Duration = Duration::from_millis(20);

/// What to do when Ctrl-C (or any signal handler's exception) interrupts the work.
pub enum OnInterrupt<'a> {
    /// Call this to stop the work, then wait for it to end before raising.
    CancelAndWait(&'a dyn Fn()),
    /// Raise at once; the work finishes in the background and its result is dropped.
    Abandon,
}

impl std::fmt::Debug for OnInterrupt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OnInterrupt::CancelAndWait(_) => "CancelAndWait",
            OnInterrupt::Abandon => "Abandon",
        })
    }
}

/// Runs `work` on a new thread with the GIL released, and returns its result, or the exception a
/// signal handler raised while it ran.
///
/// # Errors
/// The signal handler's exception (usually `KeyboardInterrupt`), or `RuntimeError` if the work
/// panicked (a bug; the interpreter keeps running).
pub fn run<T: Send + 'static>(
    py: Python<'_>,
    on_interrupt: OnInterrupt<'_>,
    work: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    let (sender, receiver) = mpsc::sync_channel(1);
    let worker = std::thread::Builder::new()
        .name("ironchain-work".into())
        .spawn(move || {
            // The receiver is gone only if the caller was interrupted and stopped waiting.
            let _ = sender.send(work());
        })
        .map_err(|error| PyRuntimeError::new_err(format!("cannot start a thread: {error}")))?;
    // A receiver is not `Sync`; the lock lets the GIL-free closure borrow it.
    let receiver = Mutex::new(receiver);
    loop {
        match py.detach(|| {
            receiver
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .recv_timeout(POLL)
        }) {
            Ok(value) => {
                // The worker has sent its result and is returning: this join is immediate.
                let _ = worker.join();
                return Ok(value);
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    if let OnInterrupt::CancelAndWait(cancel) = on_interrupt {
                        cancel();
                        let _ = py.detach(|| worker.join());
                    }
                    return Err(interrupt);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                // The worker dropped its sender without sending: it panicked.
                let panic = py.detach(|| worker.join()).err();
                let detail = panic
                    .as_ref()
                    .and_then(|p| {
                        p.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    })
                    .unwrap_or_default();
                return Err(PyRuntimeError::new_err(format!(
                    "ironchain's worker thread failed (a bug, please report it): {detail}"
                )));
            }
        }
    }
}
