//! Shared printing helpers: progress with hash rate, and human-readable numbers.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use ironchain_core::miner::MineControl;

/// A spinner that shows the hash rate of a running miner; hidden when stderr is not a terminal.
pub struct HashProgress {
    bar: ProgressBar,
    started: Instant,
    base: u64,
}

impl HashProgress {
    /// Starts a spinner with `message`, counting hashes from `control`'s current count.
    pub fn start(message: impl Into<String>, control: &MineControl) -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {prefix}")
                .expect("the template is valid"),
        );
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(100));
        Self {
            bar,
            started: Instant::now(),
            base: control.hashes(),
        }
    }

    /// Updates the displayed hash count and rate.
    pub fn update(&self, control: &MineControl) {
        let hashes = control.hashes() - self.base;
        let rate = hashes as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        self.bar
            .set_prefix(format!("{} hashes, {}", count(hashes), rate_text(rate)));
    }

    /// Removes the spinner.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// Formats a count with thousands separators.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Formats a count of things: "1 block", "2 blocks".
pub fn plural(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{} {thing}s", count(n))
    }
}

/// Formats a hash rate with an SI prefix.
pub fn rate_text(per_second: f64) -> String {
    let (value, unit) = if per_second >= 1e9 {
        (per_second / 1e9, "GH/s")
    } else if per_second >= 1e6 {
        (per_second / 1e6, "MH/s")
    } else if per_second >= 1e3 {
        (per_second / 1e3, "kH/s")
    } else {
        (per_second, "H/s")
    };
    format!("{value:.2} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn one_thing_is_singular_and_others_plural() {
        assert_eq!(plural(1, "block"), "1 block");
        assert_eq!(plural(0, "record"), "0 records");
        assert_eq!(plural(2500, "record"), "2,500 records");
    }

    #[test]
    fn rates_pick_a_readable_unit() {
        assert_eq!(rate_text(12.0), "12.00 H/s");
        assert_eq!(rate_text(2.5e7), "25.00 MH/s");
    }
}
