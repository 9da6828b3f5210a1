//! Progress bars on stderr, shown only on a terminal and never with `--json` or `-q`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Ui, Verbosity};

/// A progress bar that may be hidden; every method is a no-op when it is.
#[derive(Debug, Clone)]
pub struct Bar {
    bar: ProgressBar,
}

impl Ui {
    /// A bar of `len` steps named `unit` (e.g. "files") with a free-text message on the right.
    /// Hidden unless stderr is a terminal and the output is for a human.
    pub fn progress_bar(&self, len: u64, unit: &str) -> Bar {
        let visible = self.stderr_is_tty() && !self.json() && self.verbosity() > Verbosity::Quiet;
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        let template = format!("{{bar:30}} {{pos}}/{{len}} {unit} {{msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        Bar { bar }
    }
}

impl Bar {
    pub fn inc(&self, steps: u64) {
        self.bar.inc(steps);
    }
    pub fn set_message(&self, msg: String) {
        self.bar.set_message(msg);
    }
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
