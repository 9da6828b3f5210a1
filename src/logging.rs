//! Tracing setup: a log file under the log directory (daily files, the last 7 kept) and, with
//! `-v` or `SAMOCODER_LOG` / `RUST_LOG`, human-readable lines on stderr.
//!
//! Nothing secret is ever logged: keys travel in [`crate::keys::Secret`], whose `Debug` and
//! `Display` print `***`.

use std::path::Path;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::Env;

/// Keeps the background log writer alive; logs are flushed when it is dropped.
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Lines the log writer thread may lag behind before a logging call waits for it.
const LOG_QUEUE_LINES: usize = 1024;

/// Starts logging. Failing to open the log directory is not fatal: the command still runs,
/// only without a log file (the reason is returned for the caller to show with `-v`).
/// `ansi`: whether stderr lines may carry colour codes (stderr is a terminal and colour is not
/// turned off); the log file never has them.
pub fn init(log_dir: &Path, verbose: u8, ansi: bool, env: &Env) -> (LogGuard, Option<String>) {
    let env_filter = env
        .non_empty("SAMOCODER_LOG")
        .or_else(|| env.non_empty("RUST_LOG"));
    let stderr_level = match verbose {
        0 => None,
        1 => Some("samocoder=debug"),
        _ => Some("trace"),
    };

    let mut problem = None;
    let file = match std::fs::create_dir_all(log_dir).and_then(|_| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("samocoder")
            .filename_suffix("log")
            .max_log_files(7)
            .build(log_dir)
            .map_err(std::io::Error::other)
    }) {
        // The default queue (128,000 lines) is allocated up front: 4 MiB on every start.
        // 1,024 lines is far more than a command logs between two writes of the log thread.
        Ok(appender) => Some(
            tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(LOG_QUEUE_LINES)
                .lossy(false)
                .finish(appender),
        ),
        Err(e) => {
            problem = Some(format!("no log file in {}: {e}", log_dir.display()));
            None
        }
    };

    let (file_layer, guard) = match file {
        Some((writer, guard)) => {
            let filter = EnvFilter::new(env_filter.unwrap_or("samocoder=info,warn"));
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_target(true)
                .with_filter(filter);
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };

    let stderr_layer = stderr_level.or(env_filter).map(|directive| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .with_target(true)
            .with_filter(EnvFilter::new(directive))
    });

    // A second init (only possible in tests) is ignored.
    let _ = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init();
    (LogGuard { _file: guard }, problem)
}
