//! `samocoder files PROJECT [PATH]`: the project's files as a tree (ignored files hidden), or
//! one text file's contents, confined to the project directory.
use super::{CliError, Result};

use clap::Args;
use serde::Serialize;

use super::projects::{clean, open_store};
use super::{Ctx, UsageError};
use crate::exit::Exit;
use crate::store::StoreError;
use crate::workspace::{FileEntry, MapOptions, Workspace, WorkspaceError, human_size};

/// Files shown by one tree at most (the rest are counted).
const MAX_ENTRIES: usize = 20_000;
/// Largest file whose contents are shown.
const MAX_SHOW_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Args)]
pub struct FilesArgs {
    /// The project's name (or id), as listed by `samocoder projects`.
    #[arg(value_name = "PROJECT")]
    pub project: String,
    /// A file to show, or a directory to list (relative to the project directory).
    #[arg(value_name = "PATH")]
    pub path: Option<String>,
}

#[derive(Debug, Serialize)]
struct TreeJson<'a> {
    project: &'a str,
    root: &'a std::path::Path,
    /// The directory listed, relative to the root ("" for the root).
    dir: &'a str,
    files: Vec<FileJson<'a>>,
    /// Files left out because the listing hit its cap.
    omitted: usize,
}

#[derive(Debug, Serialize)]
struct FileJson<'a> {
    path: &'a str,
    size: u64,
    lines: Option<usize>,
}

#[derive(Debug, Serialize)]
struct ContentJson<'a> {
    project: &'a str,
    path: &'a str,
    size: usize,
    lines: usize,
    content: &'a str,
}

pub fn run(args: FilesArgs, ctx: &Ctx) -> Result<Exit> {
    let store = open_store(ctx)?.ok_or_else(|| StoreError::NoProject {
        name: args.project.clone(),
    })?;
    let p = store.get_project(&args.project)?;
    if !p.dir.is_dir() {
        return Err(UsageError(format!(
            "the directory of project {} ({}) is missing; `samocoder rm {}` forgets the project",
            clean(&p.name),
            clean(&p.dir.display().to_string()),
            clean(&p.name)
        ))
        .into());
    }
    let ws = Workspace::open(&p.dir)?;
    let dir = match args.path.as_deref().filter(|s| !s.is_empty() && *s != ".") {
        None => String::new(),
        Some(rel) => {
            let safe = ws.resolve(rel).map_err(|e| user_error(&p.name, e))?;
            if !safe.abs().is_dir() {
                return show_file(ctx, &p.name, &ws, &safe);
            }
            safe.rel().to_string()
        }
    };
    let map = ws.project_map(MapOptions {
        max_entries: MAX_ENTRIES,
        summary_chars: 0,
        max_bytes: usize::MAX,
    })?;
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let entries: Vec<&FileEntry> = map
        .entries
        .iter()
        .filter(|e| e.path.starts_with(&prefix))
        .collect();
    if ctx.ui.json() {
        ctx.ui.json_doc(&TreeJson {
            project: &p.name,
            root: ws.root(),
            dir: &dir,
            files: entries
                .iter()
                .map(|e| FileJson {
                    path: &e.path,
                    size: e.size,
                    lines: e.lines,
                })
                .collect(),
            omitted: map.omitted,
        })?;
        return Ok(Exit::Ok);
    }
    let title = if dir.is_empty() {
        clean(&ws.root().display().to_string())
    } else {
        clean(&ws.root().join(&dir).display().to_string())
    };
    let mut out = vec![format!("{title}/")];
    if entries.is_empty() {
        out.push("  (no files, or all of them are ignored)".into());
    }
    out.extend(render_tree(&entries, prefix.len()));
    let total: u64 = entries.iter().map(|e| e.size).sum();
    out.push(format!(
        "{} file(s), {} (ignored files and build directories not shown)",
        entries.len(),
        human_size(total)
    ));
    if map.omitted > 0 {
        out.push(format!("… {} more file(s) not listed", map.omitted));
    }
    ctx.ui.out(out.join("\n"))?;
    Ok(Exit::Ok)
}

/// An indented tree: a line per directory (`name/`) and per file (`name  size, N lines`).
fn render_tree(entries: &[&FileEntry], strip: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut open: Vec<&str> = Vec::new();
    for e in entries {
        let rel = &e.path[strip..];
        let parts: Vec<&str> = rel.split('/').collect();
        let (dirs, name) = parts.split_at(parts.len() - 1);
        let common = open.iter().zip(dirs).take_while(|(a, b)| a == b).count();
        open.truncate(common);
        for d in &dirs[common..] {
            out.push(format!("{}{}/", "  ".repeat(open.len() + 1), clean(d)));
            open.push(d);
        }
        let lines = e
            .lines
            .map(|n| format!(", {n} line{}", if n == 1 { "" } else { "s" }))
            .unwrap_or_default();
        out.push(format!(
            "{}{}  ({}{lines})",
            "  ".repeat(open.len() + 1),
            clean(name[0]),
            human_size(e.size)
        ));
    }
    out
}

fn show_file(
    ctx: &Ctx,
    project: &str,
    ws: &Workspace,
    safe: &crate::workspace::SafePath,
) -> Result<Exit> {
    let text = ws
        .read(safe, MAX_SHOW_BYTES)
        .map_err(|e| user_error(project, e))?;
    if ctx.ui.json() {
        ctx.ui.json_doc(&ContentJson {
            project,
            path: safe.rel(),
            size: text.len(),
            lines: text.lines().count(),
            content: &text,
        })?;
    } else if ctx.ui.stdout_is_tty() {
        // Escape sequences in a file must not drive the terminal.
        let shown: String = text
            .chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    '?'
                } else {
                    c
                }
            })
            .collect();
        ctx.ui.out_raw(&shown)?;
    } else {
        ctx.ui.out_raw(&text)?;
    }
    Ok(Exit::Ok)
}

/// Workspace errors reworded for a person at the command line (they are written for the model).
fn user_error(project: &str, e: WorkspaceError) -> CliError {
    let project = clean(project);
    let msg = match e {
        WorkspaceError::NotFound(path) => format!(
            "no file `{}` in project {project}; `samocoder files {project}` lists its files",
            clean(&path)
        ),
        WorkspaceError::NotText { path, why } => format!(
            "`{}` is not a text file ({why}); open it with a program that understands it",
            clean(&path)
        ),
        WorkspaceError::TooLarge { path, size, .. } => format!(
            "`{}` is {size}, more than the {} `samocoder files` shows; open it with a pager or editor",
            clean(&path),
            human_size(MAX_SHOW_BYTES)
        ),
        WorkspaceError::PathRefused { path, reason } => format!(
            "path `{}` is refused: {reason}; give a path inside the project",
            clean(&path)
        ),
        WorkspaceError::EmptyPath => "the path is empty; give a path inside the project".into(),
        other => return other.into(),
    };
    UsageError(msg).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64, lines: Option<usize>) -> FileEntry {
        FileEntry {
            path: path.into(),
            size,
            lines,
            summary: None,
        }
    }

    #[test]
    fn tree_opens_each_directory_once() {
        let e = [
            entry("README.md", 10, Some(1)),
            entry("src/a/x.py", 2048, Some(40)),
            entry("src/a/y.py", 1, Some(1)),
            entry("src/b.py", 0, Some(0)),
            entry("tests/t.py", 5, None),
        ];
        let refs: Vec<&FileEntry> = e.iter().collect();
        assert_eq!(
            render_tree(&refs, 0),
            [
                "  README.md  (10 B, 1 line)",
                "  src/",
                "    a/",
                "      x.py  (2.0 KB, 40 lines)",
                "      y.py  (1 B, 1 line)",
                "    b.py  (0 B, 0 lines)",
                "  tests/",
                "    t.py  (5 B)",
            ]
        );
    }
}
