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
    /// The file already held the result: the edit had been applied before a stop, and was not
    /// applied again.
    pub already_applied: bool,
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
        self.edit_once(path, old, new, max_bytes, None)
    }

    /// [`Workspace::edit`], safe to repeat after a stop between the write and its record:
    /// `recorded` is the hash samocoder last recorded for the file. When the file has changed
    /// since then and undoing one occurrence of `new` gives back exactly the recorded content,
    /// the edit was already applied: nothing is written again (a repeated edit whose `new`
    /// contains `old` would otherwise apply twice).
    pub fn edit_once(
        &self,
        path: &SafePath,
        old: &str,
        new: &str,
        max_bytes: u64,
        recorded: Option<&str>,
    ) -> Result<EditOutcome, WorkspaceError> {
        if old.is_empty() {
            return Err(WorkspaceError::EmptyOld(path.rel().into()));
        }
        let text = self.read(path, max_bytes)?;
        if let Some(recorded) = recorded
            && let Some(at) = applied_before(&text, old, new, recorded)
        {
            return Ok(EditOutcome {
                write: WriteOutcome {
                    sha256: super::sha256_hex(text.as_bytes()),
                    size: text.len() as u64,
                    created: false,
                },
                line: line_of(&text, at),
                already_applied: true,
            });
        }
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
                    already_applied: false,
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

/// Where `new` stands in `text` if `text` is the recorded content (hash `recorded`) with one
/// `old` replaced by `new`; `None` when the file is the recorded one or is not that result.
fn applied_before(text: &str, old: &str, new: &str, recorded: &str) -> Option<usize> {
    if new.is_empty() || super::sha256_hex(text.as_bytes()) == recorded {
        return None;
    }
    find_all(text, new).into_iter().take(1000).find(|&at| {
        let mut undone = String::with_capacity(text.len() - new.len() + old.len());
        undone.push_str(&text[..at]);
        undone.push_str(old);
        undone.push_str(&text[at + new.len()..]);
        super::sha256_hex(undone.as_bytes()) == recorded
    })
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

/// Characters of a line compared for the hint: enough to recognise a line, and the cost stays
/// linear in the file whatever the sizes of the file and of `old`.
const HINT_CHARS: usize = 400;

/// A hint pointing at the line most like the first non-blank line of `old`.
fn not_found_hint(text: &str, old: &str) -> String {
    let Some(first) = old.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return String::new();
    };
    let first = prefix(first, HINT_CHARS);
    let mut best: Option<(f64, usize, &str)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = prefix(line.trim(), HINT_CHARS);
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

/// At most `n` characters of `s`.
fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// Dice coefficient over character bigrams, in [0, 1]; linear in the lengths (the bigrams of
/// `b` are counted once in a map).
fn similarity(a: &str, b: &str) -> f64 {
    let grams = |s: &str| -> Vec<(char, char)> {
        let c: Vec<char> = s.chars().collect();
        c.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (ga, gb) = (grams(a), grams(b));
    if ga.is_empty() || gb.is_empty() {
        return 0.0;
    }
    let total = (ga.len() + gb.len()) as f64;
    let mut left: std::collections::HashMap<(char, char), usize> =
        std::collections::HashMap::with_capacity(gb.len());
    for g in gb {
        *left.entry(g).or_default() += 1;
    }
    let mut common = 0usize;
    for g in &ga {
        if let Some(n) = left.get_mut(g).filter(|n| **n > 0) {
            *n -= 1;
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
    fn regression_an_edit_repeated_after_a_stop_is_not_applied_twice() {
        // `new` contains `old`: applying it again would give "value = 10 0".
        let (d, ws, p) = setup("value = 1\n");
        let recorded = super::super::sha256_hex(b"value = 1\n");
        let first = ws
            .edit_once(&p, "= 1", "= 10", 100, Some(&recorded))
            .unwrap();
        assert!(!first.already_applied);
        // The run stopped before the result was saved: the store still has the old hash.
        let again = ws
            .edit_once(&p, "= 1", "= 10", 100, Some(&recorded))
            .unwrap();
        assert!(again.already_applied);
        assert_eq!(again.write.sha256, first.write.sha256);
        assert_eq!(
            std::fs::read_to_string(d.path().join("f.py")).unwrap(),
            "value = 10\n"
        );
        // A file the user changed differently is not mistaken for an applied edit.
        std::fs::write(d.path().join("f.py"), "value = 2\n").unwrap();
        assert!(
            ws.edit_once(&p, "= 1", "= 10", 100, Some(&recorded))
                .is_err()
        );
    }

    #[test]
    fn regression_the_not_found_hint_is_linear_in_the_file() {
        // A 64 KB `old` that matches nothing in a 1 MB one-line file took 48 s.
        let line: String = "abcdefgh".repeat(128 * 1024);
        let (_d, ws, p) = setup(&line);
        let old: String = "zyxwvuts".repeat(8 * 1024);
        // (Quadratic again, this test would take most of a minute: the figure is in the notes.)
        let err = ws.edit(&p, &old, "x", 2 << 20).unwrap_err();
        assert!(matches!(err, WorkspaceError::EditNotFound { .. }), "{err}");
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
