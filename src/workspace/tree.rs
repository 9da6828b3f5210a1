//! The project's files as samocoder sees them: the walk shared by the project map shown to the
//! model and the change scan ([`super::scan`]).
//!
//! The walk honours `.gitignore`, `.ignore` and `.git/info/exclude` (even before the project is
//! a git repository), never reads ignore files above the root, does not follow symlinks (links
//! are not listed), and always skips `.git`, samocoder's metadata directory and the usual
//! build/dependency directories ([`SKIPPED_DIRS`]). Other dotfiles (`.gitignore`, `.env.example`)
//! are listed.

use std::fmt::Write as _;

use super::error::{WorkspaceError, human_size};
use super::fs::Workspace;
use super::path::is_reserved_name;

/// Directory names never walked, whatever the ignore files say.
pub const SKIPPED_DIRS: &[&str] = &[
    "target",
    "node_modules",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".gradle",
    ".idea",
    ".next",
    ".cache",
];

/// Files larger than this get no line count or summary (they are still listed).
const SUMMARY_READ_LIMIT: u64 = 256 * 1024;

/// Limits for [`Workspace::project_map`].
#[derive(Debug, Clone, Copy)]
pub struct MapOptions {
    pub max_entries: usize,
    pub summary_chars: usize,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            max_entries: 500,
            summary_chars: 80,
        }
    }
}

/// One file of the project map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    /// Line count for text files small enough to read.
    pub lines: Option<usize>,
    /// The first meaningful line (a module comment or docstring, or the first code line).
    pub summary: Option<String>,
}

/// The files of the project, sorted by path, with how many were left out by the cap.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectMap {
    pub entries: Vec<FileEntry>,
    pub omitted: usize,
}

impl ProjectMap {
    /// Compact text for the model, one file a line: `path (size, N lines): summary`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.entries.is_empty() && self.omitted == 0 {
            out.push_str("(the project has no files yet)\n");
        }
        for e in &self.entries {
            let _ = write!(out, "{} ({}", e.path, human_size(e.size));
            if let Some(n) = e.lines {
                let _ = write!(out, ", {n} line{}", if n == 1 { "" } else { "s" });
            }
            out.push(')');
            if let Some(s) = &e.summary {
                let _ = write!(out, ": {s}");
            }
            out.push('\n');
        }
        if self.omitted > 0 {
            let _ = writeln!(out, "[… {} more files not shown]", self.omitted);
        }
        out
    }
}

/// Files added, modified and deleted, by path (see [`super::scan::TreeChanges::diff`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeDiff {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub deleted: Vec<String>,
}

impl TreeDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.deleted.is_empty()
    }
}

impl Workspace {
    /// The `ignore` crate's walk of the same files, entries not stat'ed (the temp-file cleanup;
    /// [`super::walk`] is checked against it).
    pub(crate) fn walker(&self) -> ignore::Walk {
        ignore::WalkBuilder::new(self.root())
            .hidden(false)
            .parents(false)
            .git_global(false)
            .require_git(false)
            .follow_links(false)
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                !(is_reserved_name(&name) || (is_dir && SKIPPED_DIRS.contains(&name.as_ref())))
            })
            .build()
    }

    /// Every listed file's path (relative, `/`-separated) with its metadata (one `lstat`),
    /// sorted by path (see [`super::walk`]).
    pub(crate) fn walk_files(
        &self,
    ) -> Result<Vec<(String, super::scan::FileStat)>, WorkspaceError> {
        super::walk::walk_files(self.root(), None)
    }

    /// The project map for the model: paths, sizes, line counts and one-line summaries.
    pub fn project_map(&self, opts: MapOptions) -> Result<ProjectMap, WorkspaceError> {
        let files = self.walk_files()?;
        let omitted = files.len().saturating_sub(opts.max_entries);
        let entries = files
            .into_iter()
            .take(opts.max_entries)
            .map(|(path, stat)| {
                let size = stat.size;
                let text = (size <= SUMMARY_READ_LIMIT)
                    .then(|| super::open::read_small(&self.root().join(&path), SUMMARY_READ_LIMIT))
                    .flatten()
                    .filter(|b| !b.contains(&0))
                    .and_then(|b| String::from_utf8(b).ok());
                let lines = text.as_deref().map(|t| t.lines().count());
                let summary = text
                    .as_deref()
                    .and_then(|t| summarise(t, opts.summary_chars));
                FileEntry {
                    path,
                    size,
                    lines,
                    summary,
                }
            })
            .collect();
        Ok(ProjectMap { entries, omitted })
    }
}

/// The first meaningful line: comment markers stripped; shebangs, encoding lines, attributes,
/// licence tags and lines without letters or digits skipped; capped at `max_chars`.
pub fn summarise(text: &str, max_chars: usize) -> Option<String> {
    const MARKERS: &[&str] = &[
        "//!", "///", "//", "/**", "/*", "*/", "*", "#", "\"\"\"", "'''", "--", "<!--", ";;", "%",
    ];
    for raw in text.lines().take(50) {
        let line = raw.trim();
        if line.starts_with("#!")
            || line.starts_with("#[")
            || line.contains("-*-")
            || line.contains("SPDX-")
        {
            continue;
        }
        let mut body = line;
        while let Some(m) = MARKERS.iter().find(|m| body.starts_with(**m)) {
            body = body[m.len()..].trim_start();
        }
        let body = body
            .trim_end_matches("-->")
            .trim_end_matches("*/")
            .trim_end_matches("\"\"\"")
            .trim();
        if !body.chars().any(char::is_alphanumeric) {
            continue;
        }
        let mut s: String = body.chars().take(max_chars).collect();
        if body.chars().count() > max_chars {
            s.push('…');
        }
        return Some(s);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let p = dir.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        }
        let ws = Workspace::open(dir.path()).unwrap();
        (dir, ws)
    }

    #[test]
    fn map_honours_ignores_and_skips_build_dirs() {
        let (_d, ws) = project(&[
            (".gitignore", "*.log\n"),
            ("app.log", "x"),
            (
                "src/main.py",
                "\"\"\"Entry point of the todo CLI.\"\"\"\nimport sys\n",
            ),
            ("node_modules/x/index.js", "x"),
            ("target/debug/bin", "x"),
            ("__pycache__/m.pyc", "x"),
            (".git/config", "x"),
            ("README.md", "# Todo\n\nA small app.\n"),
        ]);
        let map = ws.project_map(MapOptions::default()).unwrap();
        let paths: Vec<_> = map.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, [".gitignore", "README.md", "src/main.py"]);
        let main = &map.entries[2];
        assert_eq!(main.lines, Some(2));
        assert_eq!(
            main.summary.as_deref(),
            Some("Entry point of the todo CLI.")
        );
        let text = map.render();
        assert!(
            text.contains("src/main.py (46 B, 2 lines): Entry point of the todo CLI.\n"),
            "{text}"
        );
        assert!(text.contains("README.md (21 B, 3 lines): Todo\n"), "{text}");
    }

    #[test]
    fn map_is_capped_and_says_how_many_were_left_out() {
        let files: Vec<(String, String)> = (0..12)
            .map(|i| (format!("f{i:02}.txt"), "x".into()))
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (_d, ws) = project(&refs);
        let map = ws
            .project_map(MapOptions {
                max_entries: 5,
                summary_chars: 10,
            })
            .unwrap();
        assert_eq!(map.entries.len(), 5);
        assert_eq!(map.omitted, 7);
        assert!(map.render().ends_with("[… 7 more files not shown]\n"));
        let (_e, empty) = project(&[]);
        assert_eq!(
            empty.project_map(MapOptions::default()).unwrap().render(),
            "(the project has no files yet)\n"
        );
    }

    #[test]
    fn summaries_skip_noise_and_are_capped() {
        assert_eq!(
            summarise(
                "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# Parses todo files\n",
                80
            )
            .as_deref(),
            Some("Parses todo files")
        );
        assert_eq!(
            summarise("//! Path rules.\n", 80).as_deref(),
            Some("Path rules.")
        );
        assert_eq!(
            summarise("/*\n * Copyright\n */", 80).as_deref(),
            Some("Copyright")
        );
        assert_eq!(summarise("\n\n{}\n", 80), None);
        assert_eq!(summarise("abcdefghij", 4).as_deref(), Some("abcd…"));
    }
}
