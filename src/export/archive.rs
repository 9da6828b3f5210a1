//! Writing a [`Plan`] as a zip: entry options, atomic files, stdout through a temp file.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::report::ExportReport;
use super::select::{EntryKind, Plan, check_entry_name, plan_excluding};
use super::{ExportError, ExportOptions, Progress};

/// Writes the entries of `plan` into a zip on `out` and returns `out` after the central
/// directory. Every entry name is checked again here; nothing outside the plan is read, and
/// files are opened through the plan's workspace (checked again at open time).
pub fn write_zip<W: Write + Seek>(
    plan: &Plan,
    opts: &ExportOptions,
    out: W,
    progress: &mut dyn Progress,
) -> Result<W, ExportError> {
    progress.start(plan.entries.len() as u64, plan.total_bytes());
    let mut zip = ZipWriter::new(out);
    let mut buf = vec![0u8; 64 * 1024];
    for entry in &plan.entries {
        if progress.cancelled() {
            return Err(ExportError::Interrupted);
        }
        check_entry_name(&entry.name)?;
        let base = SimpleFileOptions::default()
            .last_modified_time(timestamp(opts.reproducible, entry.modified));
        match &entry.kind {
            EntryKind::Dir => {
                zip.add_directory(format!("{}/", entry.name), base.unix_permissions(0o755))?;
            }
            EntryKind::Symlink { target } => {
                zip.add_symlink(&entry.name, target, base.unix_permissions(0o777))?;
            }
            EntryKind::File => {
                let mode = if opts.reproducible {
                    if entry.mode & 0o111 != 0 {
                        0o755
                    } else {
                        0o644
                    }
                } else {
                    entry.mode
                };
                let options = base
                    .compression_method(CompressionMethod::Deflated)
                    .unix_permissions(mode)
                    .large_file(entry.size >= u32::MAX as u64);
                zip.start_file(entry.name.as_str(), options)?;
                let read_err = |source| ExportError::Read {
                    path: plan.workspace.root().join(&entry.rel),
                    source,
                };
                if let Some(bytes) = &entry.generated {
                    zip.write_all(bytes).map_err(ExportError::Archive)?;
                    progress.entry_done(&entry.name, entry.size);
                    continue;
                }
                let mut file = plan.workspace.open_listed(&entry.rel)?;
                loop {
                    if progress.cancelled() {
                        return Err(ExportError::Interrupted);
                    }
                    let n = match file.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(read_err(e)),
                    };
                    zip.write_all(&buf[..n]).map_err(ExportError::Archive)?;
                }
            }
        }
        progress.entry_done(&entry.name, entry.size);
    }
    let out = zip.finish()?;
    progress.finish();
    Ok(out)
}

/// The entry timestamp: 1980-01-01 00:00 when reproducible, else the local modification time
/// (also 1980-01-01 when it is unknown or outside the zip range 1980-2107).
fn timestamp(reproducible: bool, modified: Option<SystemTime>) -> DateTime {
    use chrono::{Datelike, Timelike};
    if reproducible {
        return DateTime::DEFAULT;
    }
    let Some(t) = modified else {
        return DateTime::DEFAULT;
    };
    let local: chrono::DateTime<chrono::Local> = t.into();
    DateTime::from_date_and_time(
        u16::try_from(local.year()).unwrap_or(0),
        local.month() as u8,
        local.day() as u8,
        local.hour() as u8,
        local.minute() as u8,
        local.second() as u8,
    )
    .unwrap_or(DateTime::DEFAULT)
}

/// Exports `root` into the zip file `dest`: refuses an existing `dest` unless `force`, writes a
/// temporary file next to it and renames it into place only when the archive is complete.
pub fn export_to_file(
    root: &Path,
    dest: &Path,
    opts: &ExportOptions,
    force: bool,
    progress: &mut dyn Progress,
) -> Result<ExportReport, ExportError> {
    if dest.is_dir() {
        return Err(ExportError::OutputIsDirectory(dest.to_path_buf()));
    }
    if !force && fs::symlink_metadata(dest).is_ok() {
        return Err(ExportError::Exists(dest.to_path_buf()));
    }
    let (parent, file_name) = split_dest(dest)?;
    let parent_canon = fs::canonicalize(&parent).map_err(|source| ExportError::Write {
        path: dest.to_path_buf(),
        source,
    })?;
    let plan = plan_excluding(root, opts, Some(&parent_canon.join(&file_name)))?;
    let archive_bytes = write_atomically(dest, force, |file| {
        let mut out = write_zip(&plan, opts, BufWriter::new(file), progress)?;
        let len = out.stream_position().map_err(ExportError::Archive)?;
        out.flush().map_err(ExportError::Archive)?;
        Ok(len)
    })?;
    Ok(report(&plan, Some(dest.to_path_buf()), archive_bytes))
}

/// Exports `root` as a zip written to `out` (stdout). The archive is built in an anonymous
/// temporary file first (zip needs to seek), so a failure writes nothing to `out`.
pub fn export_to_writer(
    root: &Path,
    opts: &ExportOptions,
    out: &mut dyn Write,
    progress: &mut dyn Progress,
) -> Result<ExportReport, ExportError> {
    let plan = plan_excluding(root, opts, None)?;
    let tmp = tempfile::tempfile().map_err(ExportError::Archive)?;
    let mut tmp = write_zip(&plan, opts, BufWriter::new(tmp), progress)?
        .into_inner()
        .map_err(|e| ExportError::Archive(e.into_error()))?;
    let archive_bytes = tmp.stream_position().map_err(ExportError::Archive)?;
    tmp.seek(SeekFrom::Start(0)).map_err(ExportError::Archive)?;
    io::copy(&mut tmp, out).map_err(ExportError::Archive)?;
    out.flush().map_err(ExportError::Archive)?;
    Ok(report(&plan, None, archive_bytes))
}

/// Runs `write` on a new temporary file in `dest`'s directory (`.NAME.` + 6 random letters or
/// digits + `.partial`, locked while it is written), then renames it to `dest` (refusing to
/// replace an existing file unless `force`). If `write` fails, or anything before the rename
/// does, the temporary file is removed and `dest` is untouched. Partial files of `dest` that a killed export left (their
/// lock is free) are removed first.
pub fn write_atomically<T>(
    dest: &Path,
    force: bool,
    write: impl FnOnce(&mut File) -> Result<T, ExportError>,
) -> Result<T, ExportError> {
    let (parent, file_name) = split_dest(dest)?;
    let werr = |source| ExportError::Write {
        path: dest.to_path_buf(),
        source,
    };
    let removed = remove_stale_partials(&parent, &file_name);
    if removed > 0 {
        tracing::info!(removed, dest = %dest.display(), "removed partial archives of interrupted exports");
    }
    let mut tmp = locked_partial(&parent, &file_name).map_err(werr)?;
    let value = write(tmp.as_file_mut())?;
    tmp.as_file().sync_all().map_err(werr)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(werr)?;
    }
    let persisted = if force {
        tmp.persist(dest)
    } else {
        tmp.persist_noclobber(dest)
    };
    match persisted {
        Ok(_) => Ok(value),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
            Err(ExportError::Exists(dest.to_path_buf()))
        }
        Err(e) => Err(werr(e.error)),
    }
}

/// Random characters in a partial file's name (tempfile's alphanumeric ones).
const PARTIAL_RAND: usize = 6;

/// A new partial file (`.NAME.` + 6 random letters or digits + `.partial`) in `parent`,
/// holding an exclusive lock (released by the OS if the process dies, which is how a later
/// export knows the file is stale). A file that a concurrent cleanup removed between its
/// creation and the lock is made again.
fn locked_partial(parent: &Path, file_name: &str) -> io::Result<tempfile::NamedTempFile> {
    let mut tries = 0;
    loop {
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .suffix(".partial")
            .rand_bytes(PARTIAL_RAND)
            .tempfile_in(parent)?;
        tmp.as_file().lock()?;
        if still_at_path(&tmp)? || tries == 3 {
            return Ok(tmp);
        }
        tries += 1;
    }
}

#[cfg(unix)]
fn still_at_path(tmp: &tempfile::NamedTempFile) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = tmp.as_file().metadata()?;
    Ok(fs::symlink_metadata(tmp.path())
        .is_ok_and(|m| m.ino() == open.ino() && m.dev() == open.dev()))
}

#[cfg(not(unix))]
fn still_at_path(tmp: &tempfile::NamedTempFile) -> io::Result<bool> {
    Ok(tmp.path().exists())
}

/// True for the name of a partial archive of `file_name`: `.` + `file_name` + `.` + 6 letters
/// or digits + `.partial`, exactly.
pub fn is_partial_name(name: &str, file_name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_prefix(file_name))
        .and_then(|n| n.strip_prefix('.'))
        .and_then(|n| n.strip_suffix(".partial"))
        .is_some_and(|r| r.len() == PARTIAL_RAND && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Removes the partial archives of `file_name` in `parent` whose writer is gone (a regular
/// file, not a link, whose lock can be taken); returns how many. Files of a running export
/// (locked) and every other file are left alone; errors only mean a file stays.
pub fn remove_stale_partials(parent: &Path, file_name: &str) -> usize {
    let Ok(entries) = fs::read_dir(parent) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(|n| is_partial_name(n, file_name)) {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Ok(file) = File::open(entry.path()) else {
            continue;
        };
        if file.try_lock().is_ok() && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The directory (`.` for a bare name) and file name of an output path.
fn split_dest(dest: &Path) -> Result<(PathBuf, String), ExportError> {
    let name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ExportError::OutputIsDirectory(dest.to_path_buf()))?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_string()))
}

fn report(plan: &Plan, path: Option<PathBuf>, archive_bytes: u64) -> ExportReport {
    ExportReport {
        path,
        files: plan.file_count(),
        directories: plan.count(|k| matches!(k, EntryKind::Dir)),
        symlinks: plan.count(|k| matches!(k, EntryKind::Symlink { .. })),
        bytes: plan.total_bytes(),
        archive_bytes,
        skipped: plan.skipped.clone(),
        warnings: plan.warnings.clone(),
        provenance: plan.extra_dir.clone(),
    }
}
