//! Where samocoder keeps its files: one `--home` directory, or the platform's directories.

use std::path::{Path, PathBuf};

use etcetera::BaseStrategy;

/// The directories and files samocoder uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Paths {
    /// Holds `config.toml`.
    pub config_dir: PathBuf,
    /// Holds the database.
    pub data_dir: PathBuf,
    /// Holds log files.
    pub log_dir: PathBuf,
    pub config_file: PathBuf,
    pub database: PathBuf,
}

/// The platform's directories could not be found (no home directory).
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find your home directory to keep samocoder's files: pass --home DIR or set SAMOCODER_HOME"
)]
pub struct NoHomeDir;

impl Paths {
    /// Everything under one directory: what `--home` / `SAMOCODER_HOME` select.
    pub fn under(home: &Path) -> Paths {
        Paths {
            config_dir: home.to_path_buf(),
            data_dir: home.to_path_buf(),
            log_dir: home.join("logs"),
            config_file: home.join("config.toml"),
            database: home.join("samocoder.db"),
        }
    }

    /// The platform's directories: XDG on Linux and macOS (`~/.config/samocoder`,
    /// `~/.local/share/samocoder`, `~/.local/state/samocoder`), the known folders on Windows.
    pub fn platform() -> Result<Paths, NoHomeDir> {
        let base = etcetera::choose_base_strategy().map_err(|_| NoHomeDir)?;
        let config_dir = base.config_dir().join("samocoder");
        let data_dir = base.data_dir().join("samocoder");
        let log_dir = base
            .state_dir()
            .unwrap_or_else(|| base.data_dir())
            .join("samocoder")
            .join("logs");
        Ok(Paths {
            config_file: config_dir.join("config.toml"),
            database: data_dir.join("samocoder.db"),
            config_dir,
            data_dir,
            log_dir,
        })
    }
}

impl crate::exit::ExitStatus for NoHomeDir {
    fn exit(&self) -> crate::exit::Exit {
        crate::exit::Exit::Usage
    }
}
