//! The error type of the command layer. Only errors that know their exit code convert into it
//! (the `From` impl requires [`ExitStatus`]), so the code is chosen by the type's own method
//! when the error is raised, checked by the compiler: there is no list of types to keep.

use std::fmt;

use crate::exit::{Exit, ExitStatus};

/// An error on its way to the user: the message chain and its exit code.
pub struct CliError {
    exit: Exit,
    error: anyhow::Error,
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl<E> From<E> for CliError
where
    E: std::error::Error + ExitStatus + Send + Sync + 'static,
{
    fn from(e: E) -> CliError {
        CliError {
            exit: e.exit(),
            error: anyhow::Error::new(e),
        }
    }
}

impl CliError {
    /// A failure (exit 1) with this message.
    pub fn failure(msg: impl fmt::Display) -> CliError {
        CliError {
            exit: Exit::Failure,
            error: anyhow::Error::msg(msg.to_string()),
        }
    }

    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// The whole chain on one line.
    pub fn one_line(&self) -> String {
        format!("{:#}", self.error).replace('\n', " ")
    }

    /// The output was closed by its reader (`samocoder ... | head`): not an error to report.
    pub fn is_broken_pipe(&self) -> bool {
        self.error.chain().any(|e| {
            e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        })
    }
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} (exit {})", self.error, self.exit.code())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

/// A usage error found after argument parsing (bad combination, bad value): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl ExitStatus for UsageError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_comes_from_the_error_type() {
        let e: CliError = UsageError("bad flag".into()).into();
        assert_eq!(e.exit(), Exit::Usage);
        let e: CliError = crate::agent::LockError::Busy { name: "p".into() }.into();
        assert_eq!(
            (e.exit(), e.one_line().contains("another samocoder")),
            (Exit::Usage, true)
        );
        let e: CliError = std::io::Error::from(std::io::ErrorKind::BrokenPipe).into();
        assert!(e.is_broken_pipe());
        assert_eq!(CliError::failure("x").exit(), Exit::Failure);
    }
}
