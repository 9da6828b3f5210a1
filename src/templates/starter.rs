//! Starter projects: manifests and rendering a starter into a directory.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ProjectVars, TemplateError, Templates, engine};
use crate::workspace::{SafePath, Workspace, WorkspaceError};

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
    /// Written files relative to `dir`, sorted.
    pub files: Vec<PathBuf>,
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
    /// project); if any target already exists, nothing is written. If writing fails part-way,
    /// the files written so far are removed.
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
        if let Some((p, _)) = planned.iter().find(|(p, _)| ws.exists(p)) {
            return Err(TemplateError::Exists(p.abs().to_path_buf()));
        }
        let mut written: Vec<&SafePath> = Vec::new();
        let result = planned.iter().try_for_each(|(path, content)| {
            ws.create_new(path, content, u64::MAX)?;
            written.push(path);
            Ok::<_, WorkspaceError>(())
        });
        if let Err(e) = result {
            for path in written {
                let _ = ws.remove_file(path);
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
            files: planned
                .into_iter()
                .map(|(p, _)| PathBuf::from(p.rel()))
                .collect(),
            install: render_cmd(&starter.install)?,
            test: render_cmd(&starter.test)?,
            run: starter.run.as_deref().map(render_cmd).transpose()?,
        })
    }
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
}
