//! The only module that prints. Commands and the agent hand it values and events; it renders
//! them for a human (colours, progress, prompts) or as JSON lines.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ask;
mod events;
mod interact;
mod progress;
mod prompt;
mod run_extras;

use std::io::{self, IsTerminal, Write};

pub use ask::AskRenderer;
pub use events::{HumanRenderer, JsonRenderer};
pub use interact::serve_prompts;
pub use progress::Bar;
pub use prompt::PromptError;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How much to say on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// What the UI needs to know about the terminal and the user's flags.
#[derive(Debug, Clone)]
pub struct UiOptions {
    pub json: bool,
    pub yes: bool,
    pub color: ColorChoice,
    pub verbosity: Verbosity,
    /// `NO_COLOR` is set (to anything, even empty).
    pub no_color_env: bool,
    /// `CLICOLOR_FORCE` is set to something other than `0`.
    pub force_color_env: bool,
}

/// The renderer handed to every command.
#[derive(Debug, Clone)]
pub struct Ui {
    json: bool,
    yes: bool,
    /// Colour on stdout.
    color: bool,
    /// Colour on stderr (decided for stderr's own terminal).
    color_err: bool,
    verbosity: Verbosity,
    stdin_tty: bool,
    stdout_tty: bool,
    stderr_tty: bool,
}

impl Ui {
    pub fn new(o: UiOptions) -> Ui {
        let stdout_tty = io::stdout().is_terminal();
        let stderr_tty = io::stderr().is_terminal();
        let color_for = |tty: bool| match o.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !o.no_color_env && (o.force_color_env || tty),
        };
        Ui {
            json: o.json,
            yes: o.yes,
            color: color_for(stdout_tty),
            color_err: color_for(stderr_tty),
            verbosity: o.verbosity,
            stdin_tty: io::stdin().is_terminal(),
            stdout_tty,
            stderr_tty,
        }
    }

    /// A UI for tests: no terminal, no colour.
    pub fn plain(json: bool, yes: bool) -> Ui {
        Ui {
            json,
            yes,
            color: false,
            color_err: false,
            verbosity: Verbosity::Normal,
            stdin_tty: false,
            stdout_tty: false,
            stderr_tty: false,
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }
    pub fn yes(&self) -> bool {
        self.yes
    }
    pub fn color(&self) -> bool {
        self.color
    }
    /// Whether text written to stderr may carry colour codes.
    pub fn color_err(&self) -> bool {
        self.color_err
    }
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }
    pub fn stdin_is_tty(&self) -> bool {
        self.stdin_tty
    }
    pub fn stdout_is_tty(&self) -> bool {
        self.stdout_tty
    }
    /// Progress bars and live views only make sense here.
    pub fn stderr_is_tty(&self) -> bool {
        self.stderr_tty
    }

    /// Writes one line to stdout. A closed pipe comes back as an error the edge ignores.
    pub fn out(&self, line: impl AsRef<str>) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(line.as_ref().as_bytes())?;
        out.write_all(b"\n")
    }

    /// Writes text to stdout as it is (streamed model output), flushing it.
    pub fn out_raw(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Writes one JSON value as one line on stdout.
    pub fn json_line<T: serde::Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let mut out = io::stdout().lock();
        serde_json::to_writer(&mut out, value).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        out.flush()
    }

    /// Writes a pretty JSON document on stdout (for `show`-style commands with `--json`).
    pub fn json_doc<T: serde::Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let mut out = io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::other)?;
        out.write_all(b"\n")
    }

    /// A note for the human on stderr; silent with `-q`.
    pub fn info(&self, msg: impl AsRef<str>) {
        if self.verbosity > Verbosity::Quiet {
            let _ = err_line(msg.as_ref());
        }
    }

    /// A warning on stderr; shown even with `-q`.
    pub fn warn(&self, msg: impl AsRef<str>) {
        eprintln!(
            "{} {}",
            self.paint_err(Paint::Warn, "warning:"),
            msg.as_ref()
        );
    }

    /// The one error line printed before a non-zero exit.
    pub fn error(&self, msg: impl AsRef<str>) {
        eprintln!(
            "{} {}",
            self.paint_err(Paint::Error, "error:"),
            msg.as_ref()
        );
    }

    /// Styles text for stdout when colour is on there; returns it unchanged otherwise.
    pub fn paint(&self, p: Paint, text: &str) -> String {
        style(self.color, p, text)
    }

    /// Styles text for stderr when colour is on there; returns it unchanged otherwise.
    pub fn paint_err(&self, p: Paint, text: &str) -> String {
        style(self.color_err, p, text)
    }
}

/// One line on stderr. A closed stderr is an error for the caller, never a panic (which is what
/// `eprintln!` does).
pub(crate) fn err_line(text: &str) -> io::Result<()> {
    let mut err = io::stderr().lock();
    err.write_all(text.as_bytes())?;
    err.write_all(b"\n")
}

fn style(on: bool, p: Paint, text: &str) -> String {
    if !on {
        return text.to_string();
    }
    let style = match p {
        Paint::Bold => console::Style::new().bold(),
        Paint::Dim => console::Style::new().dim(),
        Paint::Good => console::Style::new().green(),
        Paint::Warn => console::Style::new().yellow().bold(),
        Paint::Error => console::Style::new().red().bold(),
        Paint::Accent => console::Style::new().cyan(),
    };
    style.force_styling(true).apply_to(text).to_string()
}

/// Roles a piece of text plays; the renderer picks the colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Bold,
    Dim,
    Good,
    Warn,
    Error,
    Accent,
}

/// Formats rows as aligned columns (no colour inside cells, so alignment holds).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (i, cell) in cells.enumerate().take(n) {
            if i + 1 == n {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(&mut header.iter().copied());
    for row in rows {
        push_row(&mut row.iter().map(String::as_str));
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["NAME", "COST"],
            &[
                vec!["a".into(), "$1.00".into()],
                vec!["longer".into(), "-".into()],
            ],
        );
        assert_eq!(t, "NAME    COST\na       $1.00\nlonger  -");
    }
}
