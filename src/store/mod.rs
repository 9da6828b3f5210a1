//! The SQLite store: one database file holding projects, runs, the agent's tasks and steps,
//! every model call with its tokens and cost, files touched, commands run and an audit log.
//! The schema is documented table by table in `docs/schema.md`.
//!
//! Access:
//! - [`Store`] is a cheap `Clone + Send + Sync` handle around one connection.
//! - Its sync methods (one per operation, defined with the [`Db`] methods they call) suit the
//!   CLI; writes run in an `IMMEDIATE` transaction.
//! - [`Store::transaction`] runs several [`Db`] operations atomically (a step and its file
//!   records), rolling everything back when the closure returns an error.
//! - [`Store::run`] does the same from async code on a blocking thread.
//!
//! Do not call `Store` methods from inside a `Store::transaction`/`read` closure: the
//! connection is already held there, so use the [`Db`] you were given.

mod adoptions;
mod audit;
mod commands;
mod error;
mod estimates;
mod files;
mod health;
mod llm_calls;
mod migrations;
mod open;
mod plan_edit;
mod projects;
mod provenance;
mod runs;
mod steps;
mod tasks;
mod text_enum;
mod usage;
mod usage_sink;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, TransactionBehavior};

use crate::clock::Clock;

pub use crate::protocol::StepKind;
pub use adoptions::{Adoption, NewAdoption};
pub use audit::AuditEntry;
pub use commands::{Approval, CommandRecord, NewCommand, OUTPUT_CAP, cap_output};
pub use error::StoreError;
pub use files::FileRecord;
pub use health::{Health, ObjectSize};
pub use llm_calls::{CostSource, CostTotals, NewLlmCall, Outcome, UnpricedUsage};
pub use migrations::SCHEMA_VERSION;
pub use projects::{NewProject, Project, ProjectStatus, ProjectWithCost, validate_name};
pub use provenance::{LedgerRow, ProjectKey, ProvenanceEntry};
pub use runs::{NewRun, Run, RunStatus};
pub use steps::{NewStep, Step};
pub use tasks::{NewTask, Task, TaskStatus};
pub use text_enum::UnknownValue;
pub use usage::{ProjectSpend, UsageFilter, UsageGroup, UsageGroupSums, UsageSpan, UsageSums};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on the database. Clones share one connection.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("clock", &self.inner.clock)
            .finish()
    }
}

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the database at `path`.
    /// A file that is not a SQLite database, is damaged, belongs to another program or comes
    /// from a newer samocoder is refused before anything is written to it.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Store> {
        let conn = open::open(path)?;
        Ok(Store {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                clock,
                path: path.to_path_buf(),
            }),
        })
    }

    /// Like [`Store::open`], but `None` when there is no database file yet (so that read-only
    /// commands do not create one).
    pub fn open_existing(path: &Path, clock: Arc<dyn Clock>) -> Result<Option<Store>> {
        if !open::exists(path)? {
            return Ok(None);
        }
        Store::open(path, clock).map(Some)
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock has already rolled back its transaction (Transaction
        // rolls back on drop), so the connection is still usable.
        self.inner.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the connection without a transaction (each statement commits on its own).
    pub fn read<R>(&self, f: impl FnOnce(&Db<'_>) -> Result<R>) -> Result<R> {
        let conn = self.lock();
        f(&Db::new(&conn, self.inner.clock.as_ref()))
    }

    /// Runs `f` in one `IMMEDIATE` transaction: committed when it returns `Ok`, rolled back
    /// (nothing written) when it returns an error or panics.
    pub fn transaction<R>(&self, f: impl FnOnce(&Db<'_>) -> Result<R>) -> Result<R> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&Db::new(&tx, self.inner.clock.as_ref()))?;
        tx.commit()?;
        Ok(out)
    }

    /// Async access to the store's own methods on a blocking thread:
    /// `store.run(move |s| s.record_llm_call(&call)).await`.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// The operations, on a connection or inside a transaction. Methods that write several rows
/// are atomic on their own (a savepoint) and also compose inside [`Store::transaction`].
pub struct Db<'c> {
    conn: &'c Connection,
    clock: &'c dyn Clock,
}

impl<'c> Db<'c> {
    fn new(conn: &'c Connection, clock: &'c dyn Clock) -> Db<'c> {
        Db { conn, clock }
    }

    /// The raw connection, for the store's own tests.
    #[cfg(test)]
    fn conn(&self) -> &Connection {
        self.conn
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Runs `f` inside a savepoint: all of it or nothing, nested or not.
    pub fn atomic<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        self.conn.execute_batch("SAVEPOINT samocoder_atomic")?;
        match f() {
            Ok(v) => {
                self.conn.execute_batch("RELEASE samocoder_atomic")?;
                Ok(v)
            }
            Err(e) => {
                let _ = self
                    .conn
                    .execute_batch("ROLLBACK TO samocoder_atomic; RELEASE samocoder_atomic");
                Err(e)
            }
        }
    }
}

/// Gives [`Store`] one sync method per listed [`Db`] method: `read` ones run on the bare
/// connection, `write` ones in an `IMMEDIATE` transaction.
macro_rules! store_methods {
    ($($kind:ident fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty;)*) => {
        impl Store {
            $(
                #[doc = concat!("See [`Db::", stringify!($name), "`].")]
                pub fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                    store_methods!(@$kind self, |db| db.$name($($arg),*))
                }
            )*
        }
    };
    (@read $s:ident, $f:expr) => { $s.read($f) };
    (@write $s:ident, $f:expr) => { $s.transaction($f) };
}

store_methods! {
    write fn create_project(&self, new: &NewProject) -> Project;
    read fn get_project(&self, name_or_id: &str) -> Project;
    read fn find_project(&self, name_or_id: &str) -> Option<Project>;
    read fn project_by_id(&self, id: i64) -> Project;
    read fn list_projects(&self) -> Vec<ProjectWithCost>;
    read fn latest_unfinished_project(&self) -> Option<Project>;
    write fn set_project_status(&self, id: i64, status: ProjectStatus) -> ();
    write fn set_project_spec(&self, id: i64, spec: &str) -> ();
    write fn set_project_architecture(&self, id: i64, architecture: &serde_json::Value) -> ();
    write fn set_project_budget(&self, id: i64, budget_usd: Option<f64>) -> ();
    write fn delete_project(&self, id: i64, detail: &serde_json::Value) -> ();
    write fn start_run(&self, new: &NewRun) -> Run;
    write fn finish_run(&self, id: i64, status: RunStatus, exit_code: Option<i32>) -> ();
    write fn set_run_project(&self, id: i64, project_id: i64) -> ();
    read fn get_run(&self, id: i64) -> Run;
    read fn list_runs(&self, project_id: i64) -> Vec<Run>;
    write fn set_command_group(&self, run: i64, group: Option<&str>) -> ();
    read fn command_groups(&self, project_id: i64) -> Vec<(i64, String)>;
    write fn record_llm_call(&self, call: &NewLlmCall) -> Option<i64>;
    read fn project_cost(&self, project_id: i64) -> CostTotals;
    read fn run_cost(&self, run_id: i64) -> CostTotals;
    write fn insert_task(&self, new: &NewTask) -> Task;
    read fn get_task(&self, id: i64) -> Task;
    read fn list_tasks(&self, project_id: i64) -> Vec<Task>;
    read fn next_open_task(&self, project_id: i64) -> Option<Task>;
    read fn current_iteration(&self, project_id: i64) -> i64;
    write fn start_task_attempt(&self, id: i64) -> Task;
    write fn set_task_status(&self, id: i64, status: TaskStatus, last_error: Option<&str>) -> ();
    write fn set_task_checkpoint(&self, id: i64, commit: &str) -> ();
    write fn insert_step(&self, new: &NewStep) -> Step;
    read fn next_seq(&self, project_id: i64) -> i64;
    read fn list_steps(&self, project_id: i64, after_seq: i64, limit: u32) -> Vec<Step>;
    read fn last_step(&self, project_id: i64) -> Option<Step>;
    read fn thread_steps(&self, project_id: i64, thread: &str) -> Vec<Step>;
    read fn thread_exists(&self, project_id: i64, thread: &str) -> bool;
    read fn steps_of_kind(&self, project_id: i64, kind: StepKind) -> Vec<Step>;
    read fn count_steps(&self, project_id: i64, kind: StepKind) -> i64;
    write fn upsert_file(&self, project_id: i64, path: &str, sha256: &str, size: u64) -> ();
    read fn get_file(&self, project_id: i64, path: &str) -> Option<FileRecord>;
    read fn list_files(&self, project_id: i64) -> Vec<FileRecord>;
    read fn has_files(&self, project_id: i64) -> bool;
    read fn file_states(&self, project_id: i64) -> Vec<crate::workspace::FileState>;
    read fn file_states_in(&self, project_id: i64, scopes: &[crate::workspace::Scope]) -> Vec<crate::workspace::FileState>;
    write fn apply_tree_changes(&self, project_id: i64, changes: &crate::workspace::TreeChanges) -> ();
    write fn refresh_file_stats(&self, project_id: i64, changes: &crate::workspace::TreeChanges) -> ();
    write fn remove_file(&self, project_id: i64, path: &str) -> bool;
    write fn record_command(&self, new: &NewCommand) -> i64;
    read fn list_commands(&self, project_id: i64) -> Vec<CommandRecord>;
    write fn append_audit(&self, project_id: Option<i64>, action: &str, detail: &serde_json::Value) -> i64;
    read fn list_audit(&self, project_id: Option<i64>, limit: u32) -> Vec<AuditEntry>;
    read fn health(&self) -> Health;
    read fn space_by_object(&self) -> Vec<ObjectSize>;
    write fn insert_adoption(&self, new: &NewAdoption) -> Adoption;
    read fn adoption(&self, project_id: i64) -> Option<Adoption>;
    write fn set_adoption_checkout(&self, project_id: i64, return_to: Option<&str>, user_changes: &[String]) -> ();
    write fn set_adoption_branch(&self, project_id: i64, branch: &str) -> ();
    write fn set_adoption_base(&self, project_id: i64, base_branch: Option<&str>, base_commit: &str, branch: &str) -> ();
    write fn append_provenance(&self, project: &Project, run_id: Option<i64>, task: Option<&str>, record: &crate::provenance::Record) -> i64;
    read fn provenance(&self, key: &ProjectKey) -> Vec<ProvenanceEntry>;
    read fn forgotten_projects(&self, name: &str) -> Vec<ProjectKey>;
    read fn ledger(&self, project_id: Option<i64>, run_ids: &[i64]) -> Vec<LedgerRow>;
    read fn project_run_ids(&self, project_id: i64) -> Vec<i64>;
    read fn estimate_basis(&self) -> crate::estimate::Basis;
    read fn project_cost_between(&self, project_id: i64, from_ms: i64, to_ms: Option<i64>) -> CostTotals;
}

/// A path as stored text: must be UTF-8 so it reads back exactly.
pub(crate) fn path_text(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| StoreError::NonUtf8Path(path.to_path_buf()))
}

#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod tests;
