//! `samocoder config edit`: edit a copy of the file, save it only when it still loads.
use super::Result;

use super::{Ctx, UsageError};
use crate::config::{ConfigError, load_text, save_text};
use crate::exit::Exit;

const STARTER: &str = "# samocoder configuration. Keys: see `samocoder config show`.\n";

pub fn edit(ctx: &Ctx) -> Result<Exit> {
    if !ctx.ui.stdin_is_tty() {
        return Err(UsageError(
            "config edit needs a terminal; in scripts use `samocoder config set KEY VALUE`".into(),
        )
        .into());
    }
    let path = &ctx.paths.config_file;
    let original = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => STARTER.to_string(),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.clone(),
                source,
            }
            .into());
        }
    };
    let editor = ctx
        .env
        .non_empty("VISUAL")
        .or_else(|| ctx.env.non_empty("EDITOR"))
        .unwrap_or("vi")
        .to_string();
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::Builder::new()
        .prefix("config.edit-")
        .suffix(".toml")
        .tempfile_in(dir)?;
    std::fs::write(tmp.path(), &original)?;
    let mut last = original.clone();
    loop {
        let status = super::editor::command(&editor, tmp.path())
            .status()
            .map_err(|e| {
                ConfigError::Editor(format!(
                    "cannot start the editor `{editor}`: {e}; set VISUAL or EDITOR"
                ))
            })?;
        if !status.success() {
            return Err(ConfigError::Editor(format!(
                "the editor `{editor}` failed ({status}); the config file was not changed"
            ))
            .into());
        }
        let text = std::fs::read_to_string(tmp.path())?;
        if text == original {
            ctx.ui.info("no changes");
            return Ok(Exit::Ok);
        }
        match load_text(path, Some(&text), &ctx.env, &[]) {
            Ok(_) => {
                save_text(path, &text, &ctx.env)?;
                ctx.ui.info(format!("saved {}", path.display()));
                return Ok(Exit::Ok);
            }
            Err(e) => {
                ctx.ui.warn(e.to_string());
                if text == last
                    || !ctx
                        .ui
                        .confirm("Edit again? (no: discard your changes)", true)?
                {
                    return Err(ConfigError::Editor(format!(
                        "{} was not changed because the edit does not load",
                        path.display()
                    ))
                    .into());
                }
                last = text;
            }
        }
    }
}
