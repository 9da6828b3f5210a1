//! The user's editor (`$VISUAL`, else `$EDITOR`, else `vi` on a terminal), shared by
//! `config edit` and `plan --edit`. Opening it is the one side effect of those commands, so it
//! is behind [`Editor`]: the integration tests set `EDITOR` to a script that edits the file.

use std::path::Path;
use std::process::Command;

use super::Ctx;

/// Opens a file for the user to edit and returns when they are done.
pub(super) trait Editor {
    /// `Err` says why the file could not be edited (the editor failed or is missing).
    fn edit(&self, file: &Path) -> Result<(), String>;
}

/// The editor named by the environment.
pub(super) struct ShellEditor {
    command: String,
}

impl ShellEditor {
    /// `$VISUAL`, else `$EDITOR`; `vi` only when someone is at a terminal to use it.
    pub(super) fn from_env(ctx: &Ctx) -> Option<ShellEditor> {
        let named = ctx
            .env
            .non_empty("VISUAL")
            .or_else(|| ctx.env.non_empty("EDITOR"))
            .map(String::from);
        let command = match named {
            Some(c) => c,
            None if ctx.ui.stdin_is_tty() => "vi".to_string(),
            None => return None,
        };
        Some(ShellEditor { command })
    }
}

impl Editor for ShellEditor {
    fn edit(&self, file: &Path) -> Result<(), String> {
        let status = command(&self.command, file).status().map_err(|e| {
            format!(
                "cannot start the editor `{}`: {e}; set VISUAL or EDITOR",
                self.command
            )
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the editor `{}` failed ({status})", self.command))
        }
    }
}

/// `$EDITOR` may carry arguments (`code -w`): let the shell split it, as git does.
pub(super) fn command(editor: &str, file: &Path) -> Command {
    if cfg!(unix) {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(file);
        c
    } else {
        let mut c = Command::new(editor);
        c.arg(file);
        c
    }
}
