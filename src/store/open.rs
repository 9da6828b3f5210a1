//! Opening the database file without ever harming a file we do not recognise: the header is
//! read and the file is opened read-only first; only a verified samocoder database (or a new,
//! empty file) is opened for writing, switched to WAL and migrated.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;
use super::migrations::{self, SCHEMA_VERSION};

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the file is there at all (a missing file is a new database).
pub(super) fn exists(path: &Path) -> Result<bool, StoreError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StoreError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Verifies (or creates) the file, opens it for writing and migrates it to the latest schema.
pub(super) fn open(path: &Path) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    if exists(path)? {
        recover_hot_journal(path);
        verify(path)?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    let mode = switch_to_wal(&conn).map_err(|e| with_path(e.into(), path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "the database could not switch to WAL mode");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_err)?;
    migrations::migrate(&mut conn, SCHEMA_VERSION, path).map_err(|e| with_path(e, path))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(open_err)?;
    Ok(conn)
}

/// A rollback journal's first bytes (SQLite's file format, section 4.1).
const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

/// A process killed while it created the database (before the switch to WAL) leaves a hot
/// rollback journal beside a half-written file: read-only, the file cannot be read (SQLite
/// answers "readonly database" until the journal is rolled back), and its header may not even
/// be written yet. Rolling the journal back is SQLite's own recovery: it restores the file to
/// what it was before the interrupted transaction. Done only when the journal carries SQLite's
/// magic, before the file is checked.
fn recover_hot_journal(path: &Path) {
    let mut journal: PathBuf = path.to_path_buf().into_os_string().into();
    journal.as_mut_os_string().push("-journal");
    let mut magic = [0u8; 8];
    let is_journal = fs::File::open(&journal)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == JOURNAL_MAGIC);
    if !is_journal {
        return;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let recovered = Connection::open_with_flags(path, flags)
        .and_then(|c| c.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0)));
    match recovered {
        Ok(_) => {
            tracing::info!(path = %path.display(), "rolled back an interrupted database write")
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not roll back the database journal")
        }
    }
}

/// Switches to WAL unless already there. The switch needs an exclusive lock and SQLite does
/// not wait for it through the busy handler, so it is retried here (two processes creating
/// the database at once).
fn switch_to_wal(conn: &Connection) -> rusqlite::Result<String> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if mode.eq_ignore_ascii_case("wal") {
        return Ok(mode);
    }
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(2);
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// Gives a bare "damaged" error the file's path.
fn with_path(e: StoreError, path: &Path) -> StoreError {
    match e {
        StoreError::Damaged(inner) => corrupt(path, inner.to_string()),
        other => other,
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Checks an existing file without writing to it: header, size and, opened read-only, its
/// schema and version.
pub(super) fn verify(path: &Path) -> Result<(), StoreError> {
    let meta = fs::metadata(path).map_err(|source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_file() {
        return Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
            reason: "it is not a regular file".into(),
        });
    }
    if meta.len() == 0 {
        return Ok(());
    }
    check_header(path, meta.len())?;
    check_schema(path)
}

fn check_header(path: &Path, len: u64) -> Result<(), StoreError> {
    let mut header = [0u8; 100];
    let mut file = fs::File::open(path).map_err(|source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let n = read_up_to(&mut file, &mut header).map_err(|source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if n < MAGIC.len() || &header[..MAGIC.len()] != MAGIC {
        return Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
            reason: "it is not a SQLite file".into(),
        });
    }
    if n < header.len() {
        return Err(corrupt(path, "its header is cut short"));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        p if p >= 512 && p.is_power_of_two() => u64::from(p),
        _ => return Err(corrupt(path, "its header names an impossible page size")),
    };
    if !len.is_multiple_of(page_size) {
        return Err(corrupt(
            path,
            "its size is not a whole number of pages; it may have been cut short",
        ));
    }
    // The header's page count is trustworthy when its "valid-for" number matches the change
    // counter. A pending WAL can legitimately be ahead of the main file, so only check without one.
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let pages = u64::from(be32(28));
    let count_valid = be32(92) == be32(24);
    if count_valid && pages * page_size > len && !has_wal(path) {
        return Err(corrupt(
            path,
            "it is shorter than its header says; it may have been cut short",
        ));
    }
    Ok(())
}

fn read_up_to(file: &mut fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn has_wal(path: &Path) -> bool {
    let mut wal: PathBuf = path.to_path_buf().into_os_string().into();
    wal.as_mut_os_string().push("-wal");
    fs::metadata(wal).is_ok_and(|m| m.len() > 0)
}

fn check_schema(path: &Path) -> Result<(), StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(e, path))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| classify(e, path))?;
    let version = migrations::user_version(&conn).map_err(|e| classify(e, path))?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| classify(e, path))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version == 0 && !tables.is_empty() {
        return Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
            reason: "it is a SQLite database of some other program".into(),
        });
    }
    if version > 0 && !tables.iter().any(|t| t == "projects") {
        return Err(corrupt(path, "its tables are missing"));
    }
    Ok(())
}

fn classify(e: rusqlite::Error, path: &Path) -> StoreError {
    match StoreError::from(e) {
        StoreError::Damaged(inner) => corrupt(path, inner.to_string()),
        StoreError::Sqlite(source) => StoreError::Open {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    }
}
