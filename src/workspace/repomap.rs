//! A compact map of a repository for the model, kept within a token budget: paths and sizes,
//! and for source files (Python, JavaScript/TypeScript, Rust, Go) their top-level definitions.
//! On a large tree the most useful files come first (the top-level manifests and docs, then
//! source files from the top down, then tests, then the rest), only the files that fit are
//! read, and what does not fit is summed up per directory; the model reads files on demand
//! (`read_file`, `list_files` with a directory).
//!
//! The walk follows the rules of the project map ([`super::tree`]): ignore files honoured,
//! `.git`, `.samocoder` and build/dependency directories skipped, symlinks not followed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use super::error::{WorkspaceError, human_size};
use super::fs::Workspace;
use super::path::is_reserved_name;
use super::tree::SKIPPED_DIRS;

/// Source files larger than this are listed without their definitions.
const MAX_READ: u64 = 256 * 1024;
/// Definitions shown per file.
const MAX_DEFS: usize = 12;
/// Characters per token, for the budget (the usual rough figure for code and English).
const CHARS_PER_TOKEN: usize = 4;

/// What [`Workspace::repo_map`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoMap {
    pub text: String,
    /// Files under the directory mapped, and their bytes.
    pub files: usize,
    pub bytes: u64,
    /// Files listed one by one (the rest are summed up per directory).
    pub listed: usize,
    /// Files read for their definitions.
    pub read: usize,
}

impl RepoMap {
    /// The text's size in (estimated) tokens.
    pub fn tokens(&self) -> usize {
        self.text.len().div_ceil(CHARS_PER_TOKEN)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Python,
    Script,
    Rust,
    Go,
}

fn lang(path: &str) -> Option<Lang> {
    let ext = path.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "py" => Lang::Python,
        "js" | "mjs" | "cjs" | "jsx" | "ts" | "tsx" | "mts" | "cts" => Lang::Script,
        "rs" => Lang::Rust,
        "go" => Lang::Go,
        _ => return None,
    })
}

const MANIFESTS: &[&str] = &[
    "readme",
    "readme.md",
    "readme.rst",
    "readme.txt",
    "package.json",
    "cargo.toml",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "go.mod",
    "makefile",
    "tsconfig.json",
    "requirements.txt",
    "spec.md",
    "contributing.md",
];

const TEXT_EXT: &[&str] = &[
    "md", "rst", "txt", "toml", "json", "yaml", "yml", "cfg", "ini", "html", "css", "sh", "sql",
];

/// Which files come first: manifests and docs at the top, source, tests, other text, the rest.
fn class(path: &str) -> u8 {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let top = !path.contains('/');
    if top && MANIFESTS.contains(&name.as_str()) {
        return 0;
    }
    let test = path
        .split('/')
        .any(|c| matches!(c, "test" | "tests" | "__tests__" | "spec"))
        || name.starts_with("test_")
        || name.contains("_test.")
        || name.contains(".test.")
        || name.contains(".spec.");
    if lang(path).is_some() {
        return if test { 2 } else { 1 };
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if TEXT_EXT.contains(&ext) && !name.ends_with(".lock") && !name.ends_with("-lock.json") {
        return 3;
    }
    4
}

impl Workspace {
    /// Files under `under` (the whole project when `None`): relative path and size, sorted.
    fn files_under(&self, under: Option<&str>) -> Result<Vec<(String, u64)>, WorkspaceError> {
        let root = self.root().to_path_buf();
        let start = match under {
            Some(dir) => {
                let p = self.resolve(dir)?;
                if !p.abs().is_dir() {
                    return Err(WorkspaceError::NotFound(p.rel().to_string()));
                }
                p.abs().to_path_buf()
            }
            None => root.clone(),
        };
        // Walked on every core: a large repository is mostly directory reads and stats.
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
        let walker = ignore::WalkBuilder::new(&start)
            .hidden(false)
            .parents(false)
            .git_global(false)
            .require_git(false)
            .follow_links(false)
            .threads(threads)
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                !(is_reserved_name(&name) || (is_dir && SKIPPED_DIRS.contains(&name.as_ref())))
            })
            .build_parallel();
        let found: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());
        let failed: Mutex<Option<String>> = Mutex::new(None);
        walker.run(|| {
            let root = &root;
            let found = &found;
            let failed = &failed;
            Box::new(move |entry| {
                use ignore::WalkState;
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                        return WalkState::Quit;
                    }
                };
                if entry.file_type().is_some_and(|t| t.is_file())
                    && let Ok(rel) = entry.path().strip_prefix(root)
                    && let Some(rel) = rel.to_str()
                {
                    let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                    found
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((rel.replace('\\', "/"), size));
                }
                WalkState::Continue
            })
        });
        if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(WorkspaceError::io(
                root.display().to_string(),
                std::io::Error::other(e),
            ));
        }
        let mut files = found.into_inner().unwrap_or_else(|p| p.into_inner());
        files.sort();
        Ok(files)
    }

    /// The map of the project (or of the directory `under`) within `budget_tokens`.
    pub fn repo_map(
        &self,
        under: Option<&str>,
        budget_tokens: usize,
    ) -> Result<RepoMap, WorkspaceError> {
        let files = self.files_under(under)?;
        let total_bytes: u64 = files.iter().map(|f| f.1).sum();
        let budget = budget_tokens.max(64) * CHARS_PER_TOKEN;
        let mut text = String::new();
        let place = under.map_or("the project".to_string(), |u| {
            format!("`{}`", u.trim_end_matches('/'))
        });
        let _ = writeln!(
            text,
            "{} files ({}) in {place}; top-level definitions after the colon.",
            files.len(),
            human_size(total_bytes)
        );
        if files.is_empty() {
            text.push_str("(no files)\n");
            return Ok(RepoMap {
                text,
                files: 0,
                bytes: 0,
                listed: 0,
                read: 0,
            });
        }
        // The files listed one by one get most of the budget; the rest is for the summary.
        let for_files = budget.saturating_sub(text.len()) * 4 / 5;
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by_key(|&i| {
            let p = &files[i].0;
            (class(p), p.matches('/').count(), p.clone())
        });
        let mut lines: BTreeMap<String, String> = BTreeMap::new();
        let mut used = 0;
        let mut read = 0;
        let mut listed = vec![false; files.len()];
        for i in order {
            let (path, size) = &files[i];
            let mut line = format!("{path} ({})", human_size(*size));
            if let Some(l) = lang(path)
                && *size <= MAX_READ
            {
                read += 1;
                if let Some(src) = super::open::read_small(&self.root().join(path), MAX_READ)
                    .and_then(|b| String::from_utf8(b).ok())
                {
                    let defs = definitions(l, &src);
                    if !defs.is_empty() {
                        line.push_str(": ");
                        line.push_str(&defs);
                    }
                }
            }
            line.push('\n');
            if used + line.len() > for_files {
                break;
            }
            used += line.len();
            lines.insert(path.clone(), line);
            listed[i] = true;
        }
        let rest: Vec<&(String, u64)> = files
            .iter()
            .zip(&listed)
            .filter(|(_, l)| !**l)
            .map(|(f, _)| f)
            .collect();
        let shown = files.len() - rest.len();
        if !rest.is_empty() {
            let left = budget.saturating_sub(text.len() + used + 120);
            match summary_lines(&rest, left) {
                Some(groups) => {
                    for (dir, line) in groups {
                        lines.insert(dir, line);
                    }
                }
                None => {
                    lines.insert(
                        "~".into(),
                        format!(
                            "[{} more files ({}) not listed]\n",
                            rest.len(),
                            human_size(rest.iter().map(|f| f.1).sum())
                        ),
                    );
                }
            }
        }
        for line in lines.values() {
            text.push_str(line);
        }
        if !rest.is_empty() {
            let _ = writeln!(
                text,
                "[{} of {} files listed; see a directory with list_files {{\"path\": \"DIR\"}}, read a file with read_file]",
                shown,
                files.len()
            );
        }
        Ok(RepoMap {
            text,
            files: files.len(),
            bytes: total_bytes,
            listed: shown,
            read,
        })
    }
}

/// The files not listed, summed up per directory at the deepest level (3, 2 or 1) whose lines
/// fit in `budget` characters; `None` when not even the top level fits.
fn summary_lines(rest: &[&(String, u64)], budget: usize) -> Option<Vec<(String, String)>> {
    for depth in [3usize, 2, 1] {
        let mut groups: BTreeMap<String, (usize, u64)> = BTreeMap::new();
        for (path, size) in rest {
            let parts: Vec<&str> = path.split('/').collect();
            let dir = if parts.len() == 1 {
                "./".to_string()
            } else {
                let n = (parts.len() - 1).min(depth);
                format!("{}/", parts[..n].join("/"))
            };
            let g = groups.entry(dir).or_default();
            g.0 += 1;
            g.1 += size;
        }
        let out: Vec<(String, String)> = groups
            .into_iter()
            .map(|(dir, (n, bytes))| {
                let line = format!(
                    "{dir} ({n} more file{}, {})\n",
                    if n == 1 { "" } else { "s" },
                    human_size(bytes)
                );
                (dir, line)
            })
            .collect();
        if out.iter().map(|(_, l)| l.len()).sum::<usize>() <= budget {
            return Some(out);
        }
    }
    None
}

/// The top-level definitions of a source file, joined: `def main, class Store, +3 more`.
fn definitions(lang: Lang, text: &str) -> String {
    let mut defs: Vec<String> = Vec::new();
    let mut more = 0;
    for line in text.lines() {
        let found = match lang {
            Lang::Python => python_def(line),
            Lang::Script => script_def(line),
            Lang::Rust => rust_def(line),
            Lang::Go => go_def(line),
        };
        if let Some(d) = found {
            if defs.len() < MAX_DEFS {
                defs.push(d);
            } else {
                more += 1;
            }
        }
    }
    let mut s = defs.join(", ");
    if more > 0 {
        let _ = write!(s, ", +{more} more");
    }
    s
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> Option<&str> {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '$'))
        .map_or(s.len(), |(i, _)| i);
    let id = &s[..end];
    (!id.is_empty() && id.len() <= 60 && !id.starts_with(|c: char| c.is_ascii_digit()))
        .then_some(id)
}

fn python_def(line: &str) -> Option<String> {
    let l = line.strip_prefix("async ").unwrap_or(line);
    if let Some(rest) = l.strip_prefix("def ") {
        return ident(rest).map(|n| format!("def {n}"));
    }
    l.strip_prefix("class ")
        .and_then(ident)
        .map(|n| format!("class {n}"))
}

fn script_def(line: &str) -> Option<String> {
    let mut l = line;
    let mut exported = false;
    for prefix in ["export ", "default ", "declare ", "abstract "] {
        if let Some(rest) = l.strip_prefix(prefix) {
            exported |= prefix == "export ";
            l = rest;
        }
    }
    let l = l.strip_prefix("async ").unwrap_or(l);
    for (kw, shown) in [
        ("function* ", "function"),
        ("function ", "function"),
        ("class ", "class"),
        ("interface ", "interface"),
        ("type ", "type"),
        ("enum ", "enum"),
    ] {
        if let Some(rest) = l.strip_prefix(kw) {
            return ident(rest.trim_start()).map(|n| format!("{shown} {n}"));
        }
    }
    for kw in ["const ", "let ", "var "] {
        if let Some(rest) = l.strip_prefix(kw) {
            let name = ident(rest)?;
            let value = rest[name.len()..]
                .trim_start()
                .strip_prefix('=')?
                .trim_start();
            let function = value.starts_with("function")
                || value.starts_with("async")
                || value.starts_with('(') && value.contains("=>");
            return (exported || function).then(|| format!("{} {name}", kw.trim_end()));
        }
    }
    None
}

fn rust_def(line: &str) -> Option<String> {
    let mut l = line;
    if let Some(rest) = l.strip_prefix("pub") {
        l = match rest.strip_prefix('(') {
            Some(r) => r.split_once(')')?.1.trim_start(),
            None => rest.strip_prefix(' ')?,
        };
    }
    for q in ["const fn ", "async fn ", "unsafe fn ", "extern \"C\" fn "] {
        if let Some(rest) = l.strip_prefix(q) {
            return ident(rest).map(|n| format!("fn {n}"));
        }
    }
    for kw in [
        "fn ",
        "struct ",
        "enum ",
        "trait ",
        "type ",
        "union ",
        "mod ",
        "const ",
        "static ",
        "macro_rules! ",
    ] {
        if let Some(rest) = l.strip_prefix(kw) {
            let rest = rest.strip_prefix("mut ").unwrap_or(rest);
            return ident(rest).map(|n| format!("{} {n}", kw.trim_end()));
        }
    }
    None
}

fn go_def(line: &str) -> Option<String> {
    if let Some(rest) = line.strip_prefix("func ") {
        if let Some(recv) = rest.strip_prefix('(') {
            let (recv, after) = recv.split_once(')')?;
            let ty = recv.split_whitespace().last()?.trim_start_matches('*');
            let ty = ty.split('[').next().unwrap_or(ty);
            return ident(after.trim_start()).map(|n| format!("func {ty}.{n}"));
        }
        return ident(rest).map(|n| format!("func {n}"));
    }
    line.strip_prefix("type ")
        .and_then(ident)
        .map(|n| format!("type {n}"))
}

#[cfg(test)]
#[path = "repomap_tests.rs"]
mod tests;
