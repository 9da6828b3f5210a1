//! The variables a starter is rendered with, derived from untrusted user text.

use serde::Serialize;

use super::TemplateError;

/// Rust keywords and built-in crates, Python keywords and common standard-library modules, and
/// Windows device names: they cannot be a crate, module or file name; a derived name
/// equal to one of them gets an `_app` (`-app`) suffix.
const RESERVED: &str = "\
    std core alloc proc_macro test self super crate fn mod \
    struct enum trait impl type use pub let match loop move \
    ref return static const extern unsafe where while async await \
    dyn abstract become box do final macro override priv typeof \
    unsized virtual yield try gen \
    and as assert break class continue def del elif else \
    except false finally for from global if import in is \
    lambda none nonlocal not or pass raise true with abc \
    argparse ast asyncio base64 builtins calendar cmd code collections \
    copy csv datetime decimal email enum functools glob hashlib html \
    http inspect io itertools json logging math operator os pathlib \
    pickle platform queue random re secrets select shutil signal \
    site socket sqlite3 stat string struct subprocess sys tempfile \
    threading time token tokenize types typing unittest urllib uuid \
    warnings zipfile \
    con prn aux nul com1 com2 com3 lpt1 lpt2 lpt3";

/// Variables available to starter templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectVars {
    /// The name as the user wrote it (one line, no control characters, at most 100 chars).
    pub project_name: String,
    /// Lowercase ASCII letters, digits and `-`, starting with a letter: package names.
    pub project_slug: String,
    /// `project_slug` with `_` for `-`: a Python module / Rust crate identifier.
    pub module: String,
    /// One line, no control characters, at most 300 chars.
    pub description: String,
}

impl ProjectVars {
    pub fn new(project_name: &str, description: &str) -> Result<ProjectVars, TemplateError> {
        let name = one_line(project_name, 100);
        let mut slug = slugify(&name);
        if slug.is_empty() {
            return Err(TemplateError::BadProjectName(project_name.to_string()));
        }
        if !slug.starts_with(|c: char| c.is_ascii_lowercase()) {
            slug = format!("app-{slug}");
        }
        let module = slug.replace('-', "_");
        if RESERVED.split_whitespace().any(|r| r == module) {
            slug.push_str("-app");
        }
        Ok(ProjectVars {
            module: slug.replace('-', "_"),
            project_slug: slug,
            project_name: name,
            description: one_line(description, 300),
        })
    }
}

/// Control characters become spaces, runs of whitespace one space, trimmed and truncated.
fn one_line(text: &str, max_chars: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max_chars)
        .collect::<String>()
        .trim_end()
        .to_string()
}

fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    slug.chars()
        .take(60)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_safe_names() {
        let v = ProjectVars::new("  My Todo\tCLI!! ", "Tracks\ntodos").unwrap();
        assert_eq!(v.project_name, "My Todo CLI!!");
        assert_eq!(v.project_slug, "my-todo-cli");
        assert_eq!(v.module, "my_todo_cli");
        assert_eq!(v.description, "Tracks todos");
        assert_eq!(
            ProjectVars::new("3d viewer", "").unwrap().module,
            "app_3d_viewer"
        );
        assert_eq!(
            ProjectVars::new("test", "").unwrap().project_slug,
            "test-app"
        );
        assert_eq!(ProjectVars::new("JSON", "").unwrap().module, "json_app");
        assert_eq!(
            ProjectVars::new("café ☕ bar", "").unwrap().project_slug,
            "caf-bar"
        );
        assert!(ProjectVars::new("☕ / ..", "").is_err());
        assert!(ProjectVars::new("", "").is_err());
    }

    #[test]
    fn derived_names_are_identifiers() {
        for name in [
            "../../etc",
            "a/b\\c",
            "{{ 7*7 }}",
            "-x-",
            "x".repeat(500).as_str(),
        ] {
            let v = ProjectVars::new(name, "d").unwrap();
            assert!(
                v.module
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{v:?}"
            );
            assert!(
                v.module.starts_with(|c: char| c.is_ascii_lowercase()),
                "{v:?}"
            );
            assert!(v.project_slug.len() <= 64);
        }
    }
}
