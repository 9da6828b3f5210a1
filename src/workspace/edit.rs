//! Exact search/replace edits.
//!
//! `old` must occur exactly once. The only normalisation: when the file uses CRLF line endings
//! and `old` (with LF only) is not found as given, `old` and `new` are converted to CRLF and
//! matched again, so a model that was shown the file with `\n` can still edit it without
//! mixing line endings. Nothing else (whitespace, indentation, Unicode) is adjusted.

use super::error::{WorkspaceError, shorten};
use super::fs::{Workspace, WriteOutcome};
use super::path::SafePath;

/// The result of an edit: the write, and the 1-based line where the replacement starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditOutcome {
    pub write: WriteOutcome,
    pub line: usize,
}

impl Workspace {
    /// Replaces the single occurrence of `old` with `new` in a text file of at most `max_bytes`
    /// (before and after the edit), written atomically.
    pub fn edit(
        &self,
        path: &SafePath,
        old: &str,
        new: &str,
        max_bytes: u64,
    ) -> Result<EditOutcome, WorkspaceError> {
        if old.is_empty() {
            return Err(WorkspaceError::EmptyOld(path.rel().into()));
        }
        let text = self.read(path, max_bytes)?;
        let (old, new) = match find_all(&text, old).len() {
            0 if text.contains("\r\n") && old.contains('\n') && !old.contains('\r') => (
                old.replace('\n', "\r\n"),
                new.replace("\r\n", "\n").replace('\n', "\r\n"),
            ),
            _ => (old.to_owned(), new.to_owned()),
        };
        let hits = find_all(&text, &old);
        match hits.as_slice() {
            [] => Err(WorkspaceError::EditNotFound {
                path: path.rel().into(),
                hint: not_found_hint(&text, &old),
            }),
            [at] => {
                let mut out = String::with_capacity(text.len() - old.len() + new.len());
                out.push_str(&text[..*at]);
                out.push_str(&new);
                out.push_str(&text[at + old.len()..]);
                let write = self.write_atomic(path, out.as_bytes(), max_bytes)?;
                Ok(EditOutcome {
                    write,
                    line: line_of(&text, *at),
                })
            }
            many => {
                let mut lines: Vec<String> = many
                    .iter()
                    .take(10)
                    .map(|&at| line_of(&text, at).to_string())
                    .collect();
                if many.len() > 10 {
                    lines.push("…".into());
                }
                Err(WorkspaceError::EditAmbiguous {
                    path: path.rel().into(),
                    count: many.len(),
                    lines: lines.join(", "),
                })
            }
        }
    }
}

/// Byte offsets of every occurrence, overlapping ones included (`aa` occurs twice in `aaa`).
fn find_all(text: &str, needle: &str) -> Vec<usize> {
    let mut hits = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find(needle) {
        let at = from + pos;
        hits.push(at);
        from = at + text[at..].chars().next().map_or(1, char::len_utf8);
        if from > text.len() {
            break;
        }
    }
    hits
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at].bytes().filter(|&b| b == b'\n').count() + 1
}

/// A hint pointing at the line most like the first non-blank line of `old`.
fn not_found_hint(text: &str, old: &str) -> String {
    let Some(first) = old.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return String::new();
    };
    let mut best: Option<(f64, usize, &str)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let score = if trimmed == first {
            1.0
        } else {
            similarity(trimmed, first)
        };
        if best.is_none_or(|(s, _, _)| score > s) {
            best = Some((score, i + 1, trimmed));
        }
    }
    match best {
        Some((score, line, _)) if score >= 1.0 => {
            format!(
                " (line {line} has the same first line, so a later line or the whitespace differs)"
            )
        }
        Some((score, line, content)) if score >= 0.5 => {
            format!(" (closest is line {line}: `{}`)", shorten(content, 80))
        }
        _ => String::new(),
    }
}

/// Dice coefficient over character bigrams, in [0, 1].
fn similarity(a: &str, b: &str) -> f64 {
    let grams = |s: &str| -> Vec<(char, char)> {
        let c: Vec<char> = s.chars().collect();
        c.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (ga, mut gb) = (grams(a), grams(b));
    if ga.is_empty() || gb.is_empty() {
        return 0.0;
    }
    let total = (ga.len() + gb.len()) as f64;
    let mut common = 0usize;
    for g in &ga {
        if let Some(i) = gb.iter().position(|x| x == g) {
            gb.swap_remove(i);
            common += 1;
        }
    }
    2.0 * common as f64 / total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(content: &str) -> (tempfile::TempDir, Workspace, SafePath) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f.py"), content).unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let p = ws.resolve("f.py").unwrap();
        (dir, ws, p)
    }

    #[test]
    fn replaces_a_unique_match_and_reports_the_line() {
        let (d, ws, p) = setup("a = 1\nb = 2\nc = 3\n");
        let out = ws.edit(&p, "b = 2", "b = 20", 1000).unwrap();
        assert_eq!(out.line, 2);
        assert_eq!(
            std::fs::read_to_string(d.path().join("f.py")).unwrap(),
            "a = 1\nb = 20\nc = 3\n"
        );
    }

    #[test]
    fn ambiguous_match_lists_count_and_lines() {
        let (_d, ws, p) = setup("x\npass\ny\npass\n");
        let err = ws.edit(&p, "pass", "return", 1000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`old` text matches 2 times in `f.py` (at lines 2, 4); include more surrounding lines so it matches once"
        );
        let (_d, ws, p) = setup("aaa");
        assert!(matches!(
            ws.edit(&p, "aa", "b", 100),
            Err(WorkspaceError::EditAmbiguous { count: 2, .. })
        ));
    }

    #[test]
    fn missing_match_points_at_the_closest_line() {
        let (d, ws, p) = setup("def main():\n    print('hello world')\n");
        let err = ws.edit(&p, "print('hello wrld')", "x", 1000).unwrap_err();
        assert!(err.to_string().contains("closest is line 2"), "{err}");
        assert!(err.is_model_error());
        let err = ws.edit(&p, "def main():\n  print", "x", 1000).unwrap_err();
        assert!(
            err.to_string().contains("line 1 has the same first line"),
            "{err}"
        );
        let err = ws.edit(&p, "zzzz", "x", 1000).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("not found in `f.py`; read the file again and copy the exact text"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(d.path().join("f.py")).unwrap(),
            "def main():\n    print('hello world')\n"
        );
    }

    #[test]
    fn empty_old_is_refused() {
        let (_d, ws, p) = setup("x");
        assert!(matches!(
            ws.edit(&p, "", "y", 100),
            Err(WorkspaceError::EmptyOld(_))
        ));
    }

    #[test]
    fn crlf_files_accept_lf_edits_without_mixing_endings() {
        let (d, ws, p) = setup("one\r\ntwo\r\nthree\r\n");
        ws.edit(&p, "one\ntwo", "uno\ndos", 100).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("f.py")).unwrap(),
            "uno\r\ndos\r\nthree\r\n"
        );
    }

    #[test]
    fn edit_result_over_the_cap_is_refused() {
        let (d, ws, p) = setup("small");
        assert!(ws.edit(&p, "small", &"x".repeat(200), 100).is_err());
        assert_eq!(
            std::fs::read_to_string(d.path().join("f.py")).unwrap(),
            "small"
        );
    }
}
