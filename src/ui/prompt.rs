//! Questions to the user. Stdin is checked before any prompt: dialoguer only checks stderr and
//! would otherwise hang reading /dev/tty in a script.

use super::Ui;

/// A question could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error(
        "{question}: an answer is needed but stdin is not a terminal; pass --yes to accept, or run it in a terminal"
    )]
    NeedsYes { question: String },
    #[error("{question}: stdin is not a terminal, so it cannot be typed in hidden; {hint}")]
    NoTerminal {
        question: String,
        hint: &'static str,
    },
    #[error("could not read your answer: {0}")]
    Io(#[from] std::io::Error),
}

impl crate::exit::ExitStatus for PromptError {
    fn exit(&self) -> crate::exit::Exit {
        crate::exit::Exit::Usage
    }
}

impl Ui {
    /// Asks a yes/no question. `--yes` answers yes; no terminal on stdin is an error naming
    /// `--yes`. `default` is what Enter means.
    pub fn confirm(&self, question: &str, default: bool) -> Result<bool, PromptError> {
        if self.yes() {
            return Ok(true);
        }
        if !self.stdin_is_tty() {
            return Err(PromptError::NeedsYes {
                question: question.to_string(),
            });
        }
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(default)
            .interact()
            .map_err(|e| match e {
                dialoguer::Error::IO(io) => PromptError::Io(io),
            })
    }

    /// Reads a secret without echo. Only on a terminal; `hint` tells scripts what to do instead
    /// (e.g. "pipe it in with --stdin").
    pub fn password(&self, prompt: &str, hint: &'static str) -> Result<String, PromptError> {
        if !self.stdin_is_tty() {
            return Err(PromptError::NoTerminal {
                question: prompt.to_string(),
                hint,
            });
        }
        dialoguer::Password::new()
            .with_prompt(prompt)
            .interact()
            .map_err(|e| match e {
                dialoguer::Error::IO(io) => PromptError::Io(io),
            })
    }
}
