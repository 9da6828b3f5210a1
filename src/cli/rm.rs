//! `samocoder rm PROJECT [--files]`: forgets a project; with `--files`, after asking, also
//! deletes its directory. Money spent stays in `usage`; the action goes to the audit log.
use super::{CliError, Result};

use std::fs;
use std::path::{Path, PathBuf};

use clap::Args;

use super::projects::open_store;
use super::{Ctx, UsageError};
use crate::exit::Exit;
use crate::store::{Project, Store, StoreError};

#[derive(Debug, Args)]
pub struct RmArgs {
    /// The project's name (or id), as listed by `samocoder projects`.
    #[arg(value_name = "PROJECT")]
    pub project: String,
    /// Also delete the project's directory and everything in it (asks first; --yes skips).
    #[arg(long)]
    pub files: bool,
}

pub fn run(args: RmArgs, ctx: &Ctx) -> Result<Exit> {
    let no_project = || StoreError::NoProject {
        name: args.project.clone(),
    };
    let store = open_store(ctx)?.ok_or_else(no_project)?;
    let p = store.get_project(&args.project)?;
    let adoption = store.adoption(p.id)?;
    if args.files && adoption.is_some() {
        return Err(UsageError(format!(
            "will not delete {}: it is your own directory, which project {} adopted; nothing was changed (run `samocoder rm {}` without --files to forget the project; samocoder's branch stays in the repository)",
            p.dir.display(),
            p.name,
            p.name
        ))
        .into());
    }
    let mut deleted_dir = None;
    if args.files {
        let dir = deletable_dir(&p, &store, ctx)?;
        let question = format!(
            "Delete {} and everything in it, and forget project {}?",
            dir.display(),
            p.name
        );
        if !ctx.ui.confirm(&question, false)? {
            ctx.ui.info("Nothing was deleted.");
            return Ok(Exit::Failure);
        }
        fs::remove_dir_all(&dir).map_err(|e| {
            CliError::failure(format!(
                "could not delete {} ({e}); project {} is still listed, fix the problem and run this again",
                dir.display(),
                p.name
            ))
        })?;
        deleted_dir = Some(dir);
    }
    store.delete_project(
        p.id,
        &serde_json::json!({ "command": "rm", "files_deleted": deleted_dir.is_some() }),
    )?;
    if ctx.ui.json() {
        ctx.ui.json_doc(&serde_json::json!({
            "forgotten": p.name,
            "id": p.id,
            "dir": p.dir,
            "files_deleted": deleted_dir.is_some(),
        }))?;
    } else {
        match &deleted_dir {
            Some(dir) => ctx.ui.info(format!(
                "Forgot project {} and deleted {}.",
                p.name,
                dir.display()
            )),
            None => ctx.ui.info(format!(
                "Forgot project {}; its directory {} was left as it is{}. Its log is kept (`samocoder log {}`).",
                p.name,
                p.dir.display(),
                adoption.as_ref().map_or(String::new(), |a| format!(
                    ", and samocoder's branch {} stays in the repository (`git branch -D {}` removes it)",
                    a.branch, a.branch
                )),
                p.name
            )),
        }
    }
    Ok(Exit::Ok)
}

/// The project's directory, resolved, if it is safe to delete: it exists, is a real directory
/// (not a symlink), is not `/`, the home directory or above it, does not hold samocoder's own
/// files, and looks like the project's (empty, named after it, or holding files samocoder
/// wrote there).
fn deletable_dir(p: &Project, store: &Store, ctx: &Ctx) -> Result<PathBuf> {
    let refuse = |why: String| -> CliError {
        UsageError(format!(
            "will not delete {}: {why}; nothing was changed (run `samocoder rm {}` without --files to only forget it)",
            p.dir.display(),
            p.name
        ))
        .into()
    };
    if !p.dir.is_absolute() {
        return Err(refuse(
            "the recorded directory is not an absolute path".into(),
        ));
    }
    let meta = match fs::symlink_metadata(&p.dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse("it does not exist".into()));
        }
        Err(e) => return Err(refuse(format!("cannot look at it ({e})"))),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symbolic link".into()));
    }
    if !meta.is_dir() {
        return Err(refuse("it is not a directory".into()));
    }
    let dir = fs::canonicalize(&p.dir).map_err(|e| refuse(format!("cannot resolve it ({e})")))?;
    if let Some(why) = ctx.precious(&dir) {
        return Err(refuse(why.to_string()));
    }
    if !looks_like_project(&dir, p, store)? {
        return Err(refuse(format!(
            "it does not look like project {}'s directory (not named after it, not empty, and none of the files samocoder wrote are in it)",
            p.name
        )));
    }
    Ok(dir)
}

fn looks_like_project(dir: &Path, p: &Project, store: &Store) -> Result<bool> {
    let named = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.eq_ignore_ascii_case(&p.name));
    if named {
        return Ok(true);
    }
    if fs::read_dir(dir)?.next().is_none() {
        return Ok(true);
    }
    let files = store.list_files(p.id)?;
    Ok(files.iter().any(|f| {
        !f.path.starts_with('/')
            && !f.path.split('/').any(|c| c == "..")
            && dir.join(&f.path).is_file()
    }))
}
