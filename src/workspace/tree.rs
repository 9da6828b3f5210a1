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
    /// The most bytes [`ProjectMap::render`] may take. Files past it are not listed one by
    /// one (nor read): they are counted per top-level directory instead.
    pub max_bytes: usize,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            max_entries: 500,
            summary_chars: 80,
            max_bytes: 16 * 1024,
        }
    }
}

impl MapOptions {
    /// The defaults within a budget of `tokens` (about 4 bytes a token).
    pub fn within_tokens(tokens: usize) -> MapOptions {
        MapOptions {
            max_bytes: tokens.saturating_mul(4).max(1024),
            ..MapOptions::default()
        }
    }
}

/// Files of the project map that were not listed one by one, under one top-level directory
/// (empty: files at the top).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OmittedGroup {
    pub dir: String,
    pub files: usize,
    pub bytes: u64,
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
    /// How many files are not listed in `entries`.
    pub omitted: usize,
    /// The omitted files counted per top-level directory, largest count first; empty when
    /// they did not fit in the budget either (the render then says only how many).
    pub omitted_groups: Vec<OmittedGroup>,
}

impl ProjectMap {
    /// Compact text for the model, one file a line: `path (size, N lines): summary`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.entries.is_empty() && self.omitted == 0 {
            out.push_str("(the project has no files yet)\n");
        }
        for e in &self.entries {
            out.push_str(&e.line());
        }
        for g in &self.omitted_groups {
            out.push_str(&g.line());
        }
        if self.omitted > 0 && self.omitted_groups.is_empty() {
            let _ = writeln!(out, "[… {} more files not shown]", self.omitted);
        }
        out
    }
}

impl FileEntry {
    /// `path (size, N lines): summary` and a newline.
    fn line(&self) -> String {
        let mut out = format!("{} ({}", self.path, human_size(self.size));
        if let Some(n) = self.lines {
            let _ = write!(out, ", {n} line{}", if n == 1 { "" } else { "s" });
        }
        out.push(')');
        if let Some(s) = &self.summary {
            let _ = write!(out, ": {s}");
        }
        out.push('\n');
        out
    }
}

impl OmittedGroup {
    fn line(&self) -> String {
        let files = if self.files == 1 { "file" } else { "files" };
        if self.dir.is_empty() {
            format!(
                "[… {} more {files} ({}) at the top level]\n",
                self.files,
                human_size(self.bytes)
            )
        } else {
            format!(
                "[… {} more {files} ({}) under {}/]\n",
                self.files,
                human_size(self.bytes),
                self.dir
            )
        }
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

    /// The project map for the model: paths, sizes, line counts and one-line summaries, in
    /// path order, within `opts.max_bytes` once rendered. Only listed files are read; the rest
    /// are counted per top-level directory ("[… 1204 more files (3.1 MB) under data/]").
    pub fn project_map(&self, opts: MapOptions) -> Result<ProjectMap, WorkspaceError> {
        let files = self.walk_files()?;
        // A share of the budget is kept for the lines that count what is not listed.
        let reserve = (opts.max_bytes / 8).clamp(64.min(opts.max_bytes), 2048);
        let list_budget = opts.max_bytes - reserve;
        let mut used = 0usize;
        let mut entries = Vec::new();
        let mut rest = files.into_iter().peekable();
        while let Some((path, stat)) = rest.peek() {
            if entries.len() >= opts.max_entries {
                break;
            }
            let mut entry = FileEntry {
                path: path.clone(),
                size: stat.size,
                lines: None,
                summary: None,
            };
            // The bare line first: a file that does not fit is not read at all.
            if used + entry.line().len() > list_budget {
                break;
            }
            if stat.size <= SUMMARY_READ_LIMIT {
                let text = super::open::read_small(&self.root().join(path), SUMMARY_READ_LIMIT)
                    .filter(|b| !b.contains(&0))
                    .and_then(|b| String::from_utf8(b).ok());
                entry.lines = text.as_deref().map(|t| t.lines().count());
                entry.summary = text
                    .as_deref()
                    .and_then(|t| summarise(t, opts.summary_chars));
            }
            let len = entry.line().len();
            if used + len > list_budget {
                // With its summary it is too long: listed without it, if that fits.
                entry.summary = None;
                if used + entry.line().len() > list_budget {
                    break;
                }
            }
            used += entry.line().len();
            entries.push(entry);
            rest.next();
        }
        let mut groups: std::collections::BTreeMap<String, (usize, u64)> = Default::default();
        let mut omitted = 0;
        for (path, stat) in rest {
            omitted += 1;
            let dir = path.split_once('/').map_or("", |(d, _)| d).to_string();
            let g = groups.entry(dir).or_default();
            g.0 += 1;
            g.1 += stat.size;
        }
        let mut omitted_groups: Vec<OmittedGroup> = groups
            .into_iter()
            .map(|(dir, (files, bytes))| OmittedGroup { dir, files, bytes })
            .collect();
        omitted_groups.sort_by(|a, b| b.files.cmp(&a.files).then_with(|| a.dir.cmp(&b.dir)));
        let group_bytes: usize = omitted_groups.iter().map(|g| g.line().len()).sum();
        if opts.max_bytes - used < group_bytes {
            omitted_groups.clear();
        }
        Ok(ProjectMap {
            entries,
            omitted,
            omitted_groups,
        })
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

    use crate::workspace::test_support::project;

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
                ..MapOptions::default()
            })
            .unwrap();
        assert_eq!(map.entries.len(), 5);
        assert_eq!(map.omitted, 7);
        assert!(
            map.render()
                .ends_with("[… 7 more files (7 B) at the top level]\n"),
            "{}",
            map.render()
        );
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

    /// Regression (issue 13): the map was capped at 500 entries but not in bytes: 1.79 MB for
    /// 500 long nested paths, and every listed file was read to count its lines.
    #[test]
    fn regression_the_project_map_had_no_byte_budget() {
        let deep = format!("{}/", "a-rather-long-directory-name".repeat(3));
        let mut files: Vec<(String, String)> = (0..400)
            .map(|i| (format!("data/{deep}{i:04}.csv"), "1,2\n".into()))
            .collect();
        files.push(("README.md".into(), "# Demo\n".into()));
        files.push(("src/app.py".into(), "\"\"\"The app.\"\"\"\n".into()));
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (_d, ws) = project(&refs);
        let opts = MapOptions {
            max_bytes: 4096,
            ..MapOptions::default()
        };
        let map = ws.project_map(opts).unwrap();
        let text = map.render();
        assert!(text.len() <= 4096, "{} bytes", text.len());
        assert_eq!(map.entries.len() + map.omitted, 402);
        assert!(map.omitted > 300, "{}", map.omitted);
        // The unlisted files are counted where they are, and nothing is lost from the count.
        let counted: usize = map.omitted_groups.iter().map(|g| g.files).sum();
        assert_eq!(counted, map.omitted);
        assert!(
            text.contains("more files (") && text.contains("under data/]"),
            "{text}"
        );
        assert!(text.contains("README.md (7 B, 1 line): Demo"), "{text}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Whatever the tree and the budget, the map stays within it (a budget too small for
        /// even one line shows nothing but the count), lists files in path order and counts
        /// every file exactly once.
        #[test]
        fn the_map_stays_within_its_budget(
            names in proptest::collection::btree_set("[a-z]{1,3}(/[a-z]{1,40}){0,3}", 0..60),
            budget in 1024usize..6000,
        ) {
            let dir = tempfile::tempdir().unwrap();
            for n in &names {
                let p = dir.path().join(format!("{n}.txt"));
                // A name may be both a file and a directory of another: the first one wins.
                if std::fs::create_dir_all(p.parent().unwrap()).is_ok() {
                    let _ = std::fs::write(&p, "line\n");
                }
            }
            let ws = Workspace::open(dir.path()).unwrap();
            let map = ws.project_map(MapOptions { max_bytes: budget, ..MapOptions::default() }).unwrap();
            let text = map.render();
            proptest::prop_assert!(text.len() <= budget, "{} > {budget}", text.len());
            let listed: Vec<&str> = map.entries.iter().map(|e| e.path.as_str()).collect();
            let mut sorted = listed.clone();
            sorted.sort();
            proptest::prop_assert_eq!(&listed, &sorted);
            proptest::prop_assert_eq!(map.entries.len() + map.omitted, ws.walk_files().unwrap().len());
        }
    }
}
