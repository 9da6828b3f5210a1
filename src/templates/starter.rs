//! Starter projects: manifests and rendering a starter into a directory.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ProjectVars, TemplateError, Templates, engine};
use crate::workspace::{DEFAULT_GITIGNORE, SafePath, Workspace, WorkspaceError};

/// `starters/<name>/template.toml`. Command strings are rendered with the project variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Starter {
    /// Equal to the directory name.
    pub name: String,
    pub description: String,
    /// Tools and libraries, for humans (e.g. "python3, argparse, unittest").
    pub stack: String,
    /// Main language (e.g. "python", "rust", "javascript").
    pub language: String,
    /// Command that installs dependencies; empty when there is nothing to install.
    #[serde(default)]
    pub install: String,
    /// Command that runs the tests.
    pub test: String,
    /// Command that runs the project, when it can be run.
    #[serde(default)]
    pub run: Option<String>,
}

/// What [`Templates::render_starter`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedStarter {
    pub starter: String,
    pub dir: PathBuf,
    /// The starter's files relative to `dir`, sorted (written now, merged, or already there
    /// with the same bytes).
    pub files: Vec<PathBuf>,
    /// Files of `files` that existed as samocoder's own and got the starter's lines added
    /// (the `.gitignore` samocoder writes with the repository).
    pub merged: Vec<PathBuf>,
    /// The manifest commands, rendered for this project.
    pub install: String,
    pub test: String,
    pub run: Option<String>,
}

impl Templates {
    /// All starters, sorted by name.
    pub fn starters(&self) -> Result<Vec<Starter>, TemplateError> {
        let mut names: Vec<&str> = self
            .under("starters/")
            .filter_map(|(p, _)| p.strip_suffix("/template.toml"))
            .filter(|n| !n.contains('/'))
            .collect();
        names.sort();
        names.into_iter().map(|n| self.starter(n)).collect()
    }

    /// The manifest of the starter `name`.
    pub fn starter(&self, name: &str) -> Result<Starter, TemplateError> {
        let bad = |message: String| TemplateError::BadManifest {
            name: name.to_string(),
            message,
        };
        let bytes = self
            .get(&format!("starters/{name}/template.toml"))
            .filter(|_| !name.is_empty() && !name.contains(['/', '\\']))
            .ok_or_else(|| TemplateError::UnknownStarter {
                name: name.to_string(),
            })?;
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not valid UTF-8".into()))?;
        let starter: Starter = toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
        if starter.name != name {
            return Err(bad(format!(
                "name {:?} differs from its directory",
                starter.name
            )));
        }
        if starter.test.trim().is_empty() {
            return Err(bad("the test command is empty".into()));
        }
        Ok(starter)
    }

    /// Renders the starter `name` into the project `ws`. Every path is rendered and resolved
    /// through the workspace first (its confinement rules: no escape, no link out of the
    /// project). A target that already exists stops the starter before anything is written
    /// ([`TemplateError::Exists`]), except: the same bytes (a run killed after rendering) are
    /// left as they are, and samocoder's own `.gitignore` (exactly [`DEFAULT_GITIGNORE`], the
    /// one written with the repository) keeps its lines and gets the starter's other lines
    /// added. If writing fails part-way, the files written so far are removed and a merged
    /// file gets its old content back.
    pub fn render_starter(
        &self,
        name: &str,
        ws: &Workspace,
        vars: &ProjectVars,
    ) -> Result<RenderedStarter, TemplateError> {
        let starter = self.starter(name)?;
        let env = engine::environment();
        let prefix = format!("starters/{name}/files/");
        let mut planned: Vec<(SafePath, Vec<u8>)> = Vec::new();
        for (rel, bytes) in self.under(&prefix) {
            let rendered_rel = render_path(&env, rel, vars)?;
            let (out_rel, content) = match rendered_rel.strip_suffix(".jinja") {
                Some(stripped) => {
                    let source = std::str::from_utf8(bytes).map_err(|_| TemplateError::Render {
                        name: rel.to_string(),
                        message: "not valid UTF-8".into(),
                    })?;
                    let text = engine::render(&env, stripped, source, vars)?;
                    (stripped.to_string(), text.into_bytes())
                }
                None => (rendered_rel, bytes.to_vec()),
            };
            if out_rel.split('/').any(|p| p == "." || p == "..") {
                return Err(TemplateError::UnsafePath(out_rel));
            }
            let path = ws.resolve(&out_rel).map_err(|e| match e {
                WorkspaceError::EmptyPath | WorkspaceError::PathRefused { .. } => {
                    TemplateError::Refused(out_rel.clone(), e)
                }
                e => TemplateError::Workspace(e),
            })?;
            planned.push((path, content));
        }
        planned.sort_by(|a, b| a.0.rel().cmp(b.0.rel()));
        // What is already there decides, before anything is written: the same bytes (a run
        // killed after rendering) are kept, samocoder's own `.gitignore` gets the starter's
        // lines added, anything else is the user's and stops the starter.
        let mut create: Vec<&(SafePath, Vec<u8>)> = Vec::new();
        let mut replace: Vec<(&SafePath, Vec<u8>, String)> = Vec::new();
        for item in &planned {
            let (path, content) = item;
            if !ws.exists(path) {
                create.push(item);
                continue;
            }
            let existing = ws.read(path, MAX_EXISTING_BYTES).ok();
            let merged = (path.rel() == ".gitignore")
                .then(|| merge_ignore_lines(DEFAULT_GITIGNORE, content, name));
            match (existing, merged) {
                (Some(text), _) if text.as_bytes() == content.as_slice() => {}
                (Some(text), Some(merged)) if text == merged => {}
                (Some(text), Some(merged)) if is_samocoder_gitignore(&text) => {
                    replace.push((path, merged.into_bytes(), text))
                }
                _ => return Err(TemplateError::Exists(path.abs().to_path_buf())),
            }
        }
        let mut written: Vec<&SafePath> = Vec::new();
        let mut replaced: Vec<(&SafePath, &str)> = Vec::new();
        let result = create
            .iter()
            .try_for_each(|(path, content)| {
                ws.create_new(path, content, u64::MAX)?;
                written.push(path);
                Ok::<_, WorkspaceError>(())
            })
            .and_then(|()| {
                replace.iter().try_for_each(|(path, content, original)| {
                    ws.write_atomic(path, content, u64::MAX)?;
                    replaced.push((*path, original.as_str()));
                    Ok(())
                })
            });
        if let Err(e) = result {
            for path in written {
                let _ = ws.remove_file(path);
            }
            for (path, original) in replaced {
                let _ = ws.write_atomic(path, original.as_bytes(), u64::MAX);
            }
            return Err(match e {
                WorkspaceError::Exists(rel) => TemplateError::Exists(ws.root().join(rel)),
                e => TemplateError::Workspace(e),
            });
        }
        let render_cmd = |cmd: &str| engine::render(&env, "template.toml", cmd, vars);
        Ok(RenderedStarter {
            starter: starter.name.clone(),
            dir: ws.root().to_path_buf(),
            merged: replace
                .iter()
                .map(|(p, _, _)| PathBuf::from(p.rel()))
                .collect(),
            files: planned
                .iter()
                .map(|(p, _)| PathBuf::from(p.rel()))
                .collect(),
            install: render_cmd(&starter.install)?,
            test: render_cmd(&starter.test)?,
            run: starter.run.as_deref().map(render_cmd).transpose()?,
        })
    }
}

/// A file larger than this at a starter's path is not compared (it is not samocoder's).
const MAX_EXISTING_BYTES: u64 = 1 << 20;

/// True when `text` is the `.gitignore` samocoder writes with a new repository, unchanged.
/// (Its hash in the store says nothing: the first scan records whatever a `--force`
/// directory held, the user's own `.gitignore` too.)
fn is_samocoder_gitignore(text: &str) -> bool {
    text == DEFAULT_GITIGNORE
}

/// `base` with the lines of `starter` it lacks added after a comment naming the starter
/// (blank lines and comments of the starter are not copied). `base` is kept byte for byte.
fn merge_ignore_lines(base: &str, starter: &[u8], name: &str) -> String {
    let have: std::collections::HashSet<&str> = base.lines().map(str::trim).collect();
    let starter = String::from_utf8_lossy(starter);
    let mut added: Vec<&str> = Vec::new();
    for line in starter.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || have.contains(line) || added.contains(&line)
        {
            continue;
        }
        added.push(line);
    }
    let mut out = base.to_string();
    if added.is_empty() {
        return out;
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("# from the starter template {name}\n"));
    for line in added {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Renders each `/`-separated component of a template path.
fn render_path(
    env: &minijinja::Environment<'_>,
    rel: &str,
    vars: &ProjectVars,
) -> Result<String, TemplateError> {
    let parts = rel
        .split('/')
        .map(|part| {
            if part.contains("{{") || part.contains("{%") {
                engine::render(env, rel, part, vars)
            } else {
                Ok(part.to_string())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    for part in &parts {
        if part.is_empty() || part.contains(['/', '\\', '\0', ':']) {
            return Err(TemplateError::UnsafePath(rel.to_string()));
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn set(files: &[(&str, &str)]) -> Templates {
        let mut all = vec![(
            "starters/demo/template.toml".to_string(),
            b"name = \"demo\"\ndescription = \"d\"\nstack = \"s\"\nlanguage = \"l\"\n\
              test = \"run {{ module }}\"\n"
                .to_vec(),
        )];
        all.extend(
            files
                .iter()
                .map(|(p, t)| (format!("starters/demo/files/{p}"), t.as_bytes().to_vec())),
        );
        Templates::from_files(all)
    }

    fn ws(dir: &tempfile::TempDir) -> Workspace {
        Workspace::open(dir.path()).unwrap()
    }

    fn vars() -> ProjectVars {
        ProjectVars::new("My App", "Says <hi> & \"quotes\"").unwrap()
    }

    #[test]
    fn renders_names_contents_and_commands() {
        let dir = tempfile::tempdir().unwrap();
        let t = set(&[
            (
                "{{ module }}/main.py.jinja",
                "NAME = {{ project_name|quote }}\n",
            ),
            ("raw.txt", "{{ not rendered }}"),
            ("index.html.jinja", "<p>{{ description }}</p>"),
            (
                "lib.rs.jinja",
                "const D: &str = {{ description|rust_str }};",
            ),
        ]);
        let r = t.render_starter("demo", &ws(&dir), &vars()).unwrap();
        assert_eq!(r.test, "run my_app");
        let read = |p: &str| fs::read_to_string(dir.path().join(p)).unwrap();
        assert_eq!(read("my_app/main.py"), "NAME = \"My App\"\n");
        assert_eq!(read("raw.txt"), "{{ not rendered }}");
        assert_eq!(
            read("index.html"),
            "<p>Says &lt;hi&gt; &amp; &quot;quotes&quot;</p>"
        );
        assert_eq!(
            read("lib.rs"),
            "const D: &str = \"Says <hi> & \\\"quotes\\\"\";"
        );
    }

    #[test]
    fn refuses_to_overwrite_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b.txt"), "mine").unwrap();
        let t = set(&[("a.txt", "a"), ("b.txt", "b")]);
        let err = t.render_starter("demo", &ws(&dir), &vars()).unwrap_err();
        assert!(matches!(err, TemplateError::Exists(_)), "{err}");
        assert!(!dir.path().join("a.txt").exists());
        assert_eq!(
            fs::read_to_string(dir.path().join("b.txt")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn rendered_paths_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        for hostile in [
            "{{ '..' }}/x.txt",
            "{{ '.' ~ '.' }}",
            "{{ '\\u002fetc' }}",
            "{{ '..\\u002fx' }}",
            "{{ '' }}/x.txt",
            "a/{{ 'b\\\\..' }}",
        ] {
            let t = set(&[(hostile, "x")]);
            let err = t.render_starter("demo", &ws(&dir), &vars()).unwrap_err();
            assert!(
                matches!(err, TemplateError::UnsafePath(_)),
                "{hostile}: {err}"
            );
        }
        // `/` inside an expression splits it: a render error, also nothing written.
        let t = set(&[("{{ '../x' }}.txt", "x")]);
        assert!(t.render_starter("demo", &ws(&dir), &vars()).is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_to_write_through_a_symlinked_directory() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("sub")).unwrap();
        let t = set(&[("sub/x.txt", "x")]);
        let err = t.render_starter("demo", &ws(&dir), &vars()).unwrap_err();
        assert!(matches!(err, TemplateError::Refused(..)), "{err}");
        assert!(err.to_string().contains("outside the project"), "{err}");
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn unknown_and_bad_manifests() {
        let t = set(&[]);
        assert!(matches!(
            t.starter("nope"),
            Err(TemplateError::UnknownStarter { .. })
        ));
        assert!(matches!(
            t.starter("../demo"),
            Err(TemplateError::UnknownStarter { .. })
        ));
        let bad = Templates::from_files([(
            "starters/x/template.toml".to_string(),
            b"name = \"y\"\ndescription = \"\"\nstack = \"\"\nlanguage = \"\"\ntest = \"t\"\n"
                .to_vec(),
        )]);
        assert!(matches!(
            bad.starter("x"),
            Err(TemplateError::BadManifest { .. })
        ));
    }

    #[test]
    fn every_embedded_starter_has_a_valid_manifest() {
        let starters = Templates::embedded().starters().unwrap();
        let names: Vec<&str> = starters.iter().map(|s| s.name.as_str()).collect();
        for want in ["node-http", "python-cli", "rust-cli", "static-web"] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
    }

    /// Regression: every run said "starter template `python-cli` not used: .gitignore already
    /// exists", because samocoder had written that `.gitignore` itself a moment earlier.
    #[test]
    fn regression_starter_was_never_applied_over_samocoders_own_gitignore() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".gitignore"), DEFAULT_GITIGNORE).unwrap();
        let t = set(&[
            (".gitignore", "# mine\nnode_modules/\n*.py[cod]\n\n/dist\n"),
            ("a.txt", "a"),
        ]);
        let r = t.render_starter("demo", &ws(&dir), &vars()).unwrap();
        assert_eq!(
            r.files,
            [PathBuf::from(".gitignore"), PathBuf::from("a.txt")]
        );
        assert_eq!(r.merged, [PathBuf::from(".gitignore")]);
        assert_eq!(
            fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
            format!("{DEFAULT_GITIGNORE}# from the starter template demo\n*.py[cod]\n/dist\n")
        );
        assert_eq!(fs::read_to_string(dir.path().join("a.txt")).unwrap(), "a");
        // Rendering again (a run killed before the architecture was saved) changes nothing.
        let again = t.render_starter("demo", &ws(&dir), &vars()).unwrap();
        assert_eq!(again.files, r.files);
        assert!(again.merged.is_empty());
    }

    #[test]
    fn a_users_own_gitignore_is_kept_byte_for_byte_and_stops_the_starter() {
        let dir = tempfile::tempdir().unwrap();
        let mine = format!("{DEFAULT_GITIGNORE}secrets/\n");
        fs::write(dir.path().join(".gitignore"), &mine).unwrap();
        let t = set(&[(".gitignore", "coverage/\n"), ("a.txt", "a")]);
        let err = t.render_starter("demo", &ws(&dir), &vars()).unwrap_err();
        assert!(matches!(err, TemplateError::Exists(_)), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(".gitignore") && text.contains("empty directory"),
            "{text}"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
            mine
        );
        assert!(!dir.path().join("a.txt").exists());
    }

    proptest::proptest! {
        /// The merge keeps the base byte for byte, contains every rule line of the starter,
        /// and merging again adds nothing.
        #[test]
        fn merged_ignore_files_keep_the_base_and_hold_every_starter_rule(
            base in "([a-z*/.]{1,6}\n){0,5}",
            starter in "([a-z*/.# ]{0,6}\n?){0,6}",
        ) {
            let merged = merge_ignore_lines(&base, starter.as_bytes(), "demo");
            proptest::prop_assert!(merged.starts_with(&base));
            let lines: std::collections::HashSet<&str> = merged.lines().map(str::trim).collect();
            for rule in starter.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                proptest::prop_assert!(lines.contains(rule), "{rule:?} missing from {merged:?}");
            }
            proptest::prop_assert_eq!(merge_ignore_lines(&merged, starter.as_bytes(), "demo"), merged.clone());
        }
    }
}
