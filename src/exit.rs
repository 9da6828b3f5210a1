//! Process exit codes, documented in the README. Every error the library can return maps to one.

/// The documented exit codes of `samocoder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command did what was asked.
    Ok,
    /// 1: the work failed (tests did not pass, a task could not be finished, an I/O error).
    Failure,
    /// 2: bad usage, configuration or input; nothing was done.
    Usage,
    /// 3: a budget was exhausted; state is saved and `resume --max-cost` can continue.
    Budget,
    /// 4: no provider in the route could serve the request.
    NoProvider,
    /// 130: interrupted (Ctrl-C).
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Budget => 3,
            Exit::NoProvider => 4,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// Implemented by every library error type so the edge can choose the exit code without
/// string matching.
pub trait ExitStatus {
    fn exit(&self) -> Exit;
}

/// Files and pipes: a local failure.
impl ExitStatus for std::io::Error {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
}

impl ExitStatus for serde_json::Error {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
}
