//! Test harness: a temporary home per test and a command builder for the real binary.
#![allow(dead_code)]

pub mod agent;
pub mod fake_provider;
pub mod pty;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// A temporary samocoder home (config, database, logs) and a scratch directory beside it.
pub struct Env {
    pub root: TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            root: tempfile::Builder::new()
                .prefix("samocoder-test-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    /// The `--home` directory.
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// A scratch directory for projects and inputs.
    pub fn work(&self) -> PathBuf {
        let p = self.root.path().join("work");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// `samocoder` with this home, a clean environment (no real keys, no colour, no user
    /// config) and the scratch directory as working directory.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("samocoder").unwrap();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root.path())
            .env("SAMOCODER_HOME", self.home())
            .env("NO_COLOR", "1")
            .current_dir(self.work());
        cmd
    }

    /// The same command as [`Env::cmd`] as a `std::process::Command`, for tests that read a
    /// child's output while it runs (and kill it).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("samocoder"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root.path())
            .env("SAMOCODER_HOME", self.home())
            .env("NO_COLOR", "1")
            .current_dir(self.work());
        cmd
    }

    pub fn config_file(&self) -> PathBuf {
        self.home().join("config.toml")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::create_dir_all(self.home()).unwrap();
        std::fs::write(self.config_file(), text).unwrap();
    }

    pub fn read(&self, path: impl AsRef<Path>) -> String {
        std::fs::read_to_string(path).unwrap()
    }
}

/// Stdout of a finished command as a string.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr of a finished command as a string.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
