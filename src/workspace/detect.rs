//! The stack and the test command of a repository, read from what is there: a `Makefile`'s
//! `test` target, `package.json` scripts, `Cargo.toml`, `go.mod`, Python's `pyproject.toml`,
//! `setup.cfg`, `pytest.ini`, `tox.ini` or a `tests/` directory. The first that names a test
//! command wins, in that order (a Makefile target is the project's own word on how it is
//! tested). Nothing found: the architect is asked, and the run says it assumed.

use super::fs::Workspace;

/// What was found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detection {
    /// `Python`, `Node.js`, `Rust`, ... joined with ` + ` when several are there.
    pub stack: String,
    /// The command that runs the tests, when one was found.
    pub test_command: Option<String>,
    /// What must run first for the tests to work (dependencies not installed yet).
    pub install_command: Option<String>,
    /// The files that said so, e.g. `package.json scripts.test`.
    pub evidence: Vec<String>,
}

/// Larger manifests are not read.
const MAX_MANIFEST: u64 = 512 * 1024;

/// npm's placeholder test script.
const NPM_DEFAULT_TEST: &str = "no test specified";

impl Workspace {
    fn manifest(&self, name: &str) -> Option<String> {
        let bytes = super::open::read_small(&self.root().join(name), MAX_MANIFEST)?;
        String::from_utf8(bytes).ok()
    }

    fn has(&self, name: &str) -> bool {
        std::fs::symlink_metadata(self.root().join(name)).is_ok()
    }

    /// Reads the stack and the test command from the repository's files.
    pub fn detect_stack(&self) -> Detection {
        let mut stacks: Vec<&str> = Vec::new();
        let mut tests: Vec<(String, String)> = Vec::new();
        let mut install = None;

        if let Some(make) = self
            .manifest("Makefile")
            .or_else(|| self.manifest("makefile"))
            .or_else(|| self.manifest("GNUmakefile"))
            && make_has_target(&make, "test")
        {
            tests.push(("make test".into(), "Makefile target `test`".into()));
        }

        if let Some(text) = self.manifest("package.json")
            && let Ok(pkg) = serde_json::from_str::<serde_json::Value>(&text)
        {
            stacks.push(if self.has("tsconfig.json") {
                "Node.js (TypeScript)"
            } else {
                "Node.js"
            });
            let runner = if self.has("pnpm-lock.yaml") {
                "pnpm"
            } else if self.has("yarn.lock") {
                "yarn"
            } else {
                "npm"
            };
            if let Some(script) = pkg["scripts"]["test"].as_str()
                && !script.contains(NPM_DEFAULT_TEST)
                && !script.trim().is_empty()
            {
                tests.push((format!("{runner} test"), "package.json scripts.test".into()));
            } else if self.has("test") || self.has("tests") {
                tests.push((
                    "node --test".into(),
                    "a test directory (node --test)".into(),
                ));
            }
            let deps = ["dependencies", "devDependencies"]
                .iter()
                .any(|k| pkg[k].as_object().is_some_and(|o| !o.is_empty()));
            if deps && !self.has("node_modules") {
                install = Some(match runner {
                    "pnpm" => "pnpm install --frozen-lockfile".to_string(),
                    "yarn" => "yarn install --frozen-lockfile".to_string(),
                    _ if self.has("package-lock.json") => "npm ci".to_string(),
                    _ => "npm install".to_string(),
                });
            }
        }

        if self.manifest("Cargo.toml").is_some() {
            stacks.push("Rust");
            tests.push(("cargo test".into(), "Cargo.toml".into()));
        }

        if self.manifest("go.mod").is_some() {
            stacks.push("Go");
            tests.push(("go test ./...".into(), "go.mod".into()));
        }

        let pyproject = self.manifest("pyproject.toml");
        let setup_cfg = self.manifest("setup.cfg");
        let python = pyproject.is_some()
            || setup_cfg.is_some()
            || self.has("setup.py")
            || self.has("requirements.txt");
        if python {
            stacks.push("Python");
        }
        let pytest_cfg = pyproject
            .as_deref()
            .is_some_and(|t| t.contains("[tool.pytest") || t.contains("pytest"))
            || setup_cfg
                .as_deref()
                .is_some_and(|t| t.contains("[tool:pytest]"))
            || self.has("pytest.ini")
            || self.has("conftest.py")
            || self
                .manifest("tox.ini")
                .is_some_and(|t| t.contains("[pytest]") || t.contains("pytest"));
        if pytest_cfg {
            if !python {
                stacks.push("Python");
            }
            tests.push(("python3 -m pytest".into(), "pytest configuration".into()));
        } else if python || self.has_python_tests("tests") || self.has_python_tests("test") {
            let dir = if self.has_python_tests("tests") {
                Some("tests")
            } else if self.has_python_tests("test") {
                Some("test")
            } else {
                None
            };
            if let Some(dir) = dir {
                if !stacks.contains(&"Python") {
                    stacks.push("Python");
                }
                // A test package imports the project from the top (`-t .`); a plain test
                // directory cannot be imported that way and is run as the start directory.
                let command = if self.has(&format!("{dir}/__init__.py")) {
                    format!("python3 -m unittest discover -s {dir} -t . -v")
                } else {
                    format!("python3 -m unittest discover -s {dir} -v")
                };
                tests.push((command, format!("Python tests in {dir}/ (unittest)")));
            }
        }

        let (test_command, evidence) = match tests.into_iter().next() {
            Some((cmd, why)) => (Some(cmd), vec![why]),
            None => (None, Vec::new()),
        };
        Detection {
            stack: if stacks.is_empty() {
                "unknown".into()
            } else {
                stacks.join(" + ")
            },
            test_command,
            install_command: install,
            evidence,
        }
    }

    fn has_python_tests(&self, dir: &str) -> bool {
        let Ok(entries) = std::fs::read_dir(self.root().join(dir)) else {
            return false;
        };
        entries.flatten().take(1000).any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name.starts_with("test_") || name.ends_with("_test.py")) && name.ends_with(".py")
        })
    }
}

/// Whether a Makefile defines `target` (a rule line `target:` or `target: deps`, not `target:=`).
fn make_has_target(text: &str, target: &str) -> bool {
    text.lines().any(|l| {
        let Some(rest) = l.strip_prefix(target) else {
            return false;
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        rest.starts_with(':') && !rest.starts_with(":=")
    }) || text.lines().any(|l| {
        // `.PHONY: test` alone is not a rule, but `build test: x` is.
        let Some((names, rest)) = l.split_once(':') else {
            return false;
        };
        !l.starts_with('\t')
            && !l.starts_with('.')
            && !l.starts_with('#')
            && !rest.starts_with('=')
            && names.split_whitespace().any(|n| n == target)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::workspace::test_support::project;

    fn detect(files: &[(&str, &str)]) -> Detection {
        project(files).1.detect_stack()
    }

    #[test]
    fn each_kind_of_manifest_names_its_test_command() {
        let d = detect(&[
            (
                "package.json",
                r#"{"scripts": {"test": "jest"}, "devDependencies": {"jest": "29"}}"#,
            ),
            ("package-lock.json", "{}"),
        ]);
        assert_eq!(d.stack, "Node.js");
        assert_eq!(d.test_command.as_deref(), Some("npm test"));
        assert_eq!(d.install_command.as_deref(), Some("npm ci"));
        assert_eq!(d.evidence, ["package.json scripts.test"]);

        let d = detect(&[
            (
                "package.json",
                r#"{"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}"#,
            ),
            ("test/a.test.js", ""),
        ]);
        assert_eq!(d.test_command.as_deref(), Some("node --test"));
        assert_eq!(d.install_command, None);

        assert_eq!(
            detect(&[("Cargo.toml", "[package]\n")])
                .test_command
                .as_deref(),
            Some("cargo test")
        );
        assert_eq!(
            detect(&[("go.mod", "module x\n")]).test_command.as_deref(),
            Some("go test ./...")
        );
        let d = detect(&[("pyproject.toml", "[tool.pytest.ini_options]\n")]);
        assert_eq!(
            (d.stack.as_str(), d.test_command.as_deref()),
            ("Python", Some("python3 -m pytest"))
        );
        let d = detect(&[("tests/test_app.py", ""), ("app.py", "")]);
        assert_eq!(
            d.test_command.as_deref(),
            Some("python3 -m unittest discover -s tests -v")
        );
        let d = detect(&[
            ("tests/__init__.py", ""),
            ("tests/test_app.py", ""),
            ("setup.py", ""),
        ]);
        assert_eq!(
            d.test_command.as_deref(),
            Some("python3 -m unittest discover -s tests -t . -v")
        );
    }

    #[test]
    fn a_makefile_test_target_wins_and_installed_dependencies_are_not_installed_again() {
        let d = detect(&[
            ("Makefile", "all: build\n\ntest: build\n\t./run-tests\n"),
            (
                "package.json",
                r#"{"scripts": {"test": "jest"}, "dependencies": {"x": "1"}}"#,
            ),
            ("node_modules/x/index.js", ""),
        ]);
        assert_eq!(d.test_command.as_deref(), Some("make test"));
        assert_eq!(d.evidence, ["Makefile target `test`"]);
        assert_eq!(d.install_command, None);
        assert_eq!(d.stack, "Node.js");
        assert!(!make_has_target("TEST := 1\n.PHONY: test\n", "test"));
        assert!(make_has_target("unit test: deps\n", "test"));
        assert!(!make_has_target("# test: run the tests\n", "test"));
    }

    #[test]
    fn nothing_found_says_so() {
        let d = detect(&[("README.md", "# hi\n"), ("notes.txt", "")]);
        assert_eq!(d.stack, "unknown");
        assert_eq!(d.test_command, None);
        assert!(d.evidence.is_empty());
    }
}
