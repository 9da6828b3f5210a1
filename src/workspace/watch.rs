//! A watch on every directory the last full scan read (inotify on Linux), so that the scan
//! after a command reads only the directories where something happened. Anything the watch
//! cannot vouch for (its queue overflowed, an ignore file changed, the kernel's watch limit
//! was reached, another platform) makes the next scan a full one.

use std::sync::Arc;

use super::walk::Level;

/// A watched directory: where it is and the ignore levels from the root down to it.
#[derive(Clone)]
pub(crate) struct Watched {
    pub rel: String,
    pub levels: Vec<Arc<Level>>,
}

/// What happened since the watch started (or was last drained).
pub(crate) enum Drained {
    /// Only a full scan can tell.
    Rescan,
    /// The directories in which something changed (possibly none).
    Dirty(Vec<Watched>),
}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::{BTreeMap, HashMap};
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    use nix::errno::Errno;
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

    use super::{Drained, Level, Watched};

    struct Inner {
        inotify: Inotify,
        dirs: HashMap<WatchDescriptor, Watched>,
        /// A watch could not be added: the watch no longer covers the tree.
        broken: bool,
    }

    pub(crate) struct Watch {
        inner: Mutex<Inner>,
    }

    fn mask() -> AddWatchFlags {
        AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_ATTRIB
            | AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_DELETE_SELF
            | AddWatchFlags::IN_MOVE_SELF
            | AddWatchFlags::IN_ONLYDIR
            | AddWatchFlags::IN_DONT_FOLLOW
    }

    impl Watch {
        /// A new, empty watch; `None` when the platform refuses one.
        pub(crate) fn new() -> Option<Watch> {
            let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
            Some(Watch {
                inner: Mutex::new(Inner {
                    inotify,
                    dirs: HashMap::new(),
                    broken: false,
                }),
            })
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
            self.inner.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Starts watching a directory about to be read; the token goes to `after_read`.
        pub(crate) fn before_read(&self, abs: &Path) -> Option<WatchDescriptor> {
            let mut inner = self.lock();
            match inner.inotify.add_watch(abs, mask()) {
                Ok(wd) => Some(wd),
                // Gone already: nothing to watch, and nothing will be listed.
                Err(Errno::ENOENT | Errno::ENOTDIR) => None,
                Err(_) => {
                    inner.broken = true;
                    None
                }
            }
        }

        /// Records what a watched directory is, once it has been read.
        pub(crate) fn after_read(&self, wd: WatchDescriptor, rel: &str, levels: &[Arc<Level>]) {
            self.lock().dirs.insert(
                wd,
                Watched {
                    rel: rel.to_string(),
                    levels: levels.to_vec(),
                },
            );
        }

        pub(crate) fn is_broken(&self) -> bool {
            self.lock().broken
        }

        /// The directories with events since the last drain.
        pub(crate) fn drain(&self) -> Drained {
            let inner = self.lock();
            let mut dirty: BTreeMap<String, Watched> = BTreeMap::new();
            loop {
                let events = match inner.inotify.read_events() {
                    Ok(e) => e,
                    Err(Errno::EAGAIN) => break,
                    Err(Errno::EINTR) => continue,
                    Err(_) => return Drained::Rescan,
                };
                for e in events {
                    if e.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                        return Drained::Rescan;
                    }
                    let Some(dir) = inner.dirs.get(&e.wd) else {
                        continue;
                    };
                    let ignore_file = e
                        .name
                        .as_deref()
                        .is_some_and(|n| n == ".gitignore" || n == ".ignore");
                    let root_moved = dir.rel.is_empty()
                        && e.mask.intersects(
                            AddWatchFlags::IN_DELETE_SELF | AddWatchFlags::IN_MOVE_SELF,
                        );
                    if ignore_file || root_moved {
                        return Drained::Rescan;
                    }
                    dirty.entry(dir.rel.clone()).or_insert_with(|| dir.clone());
                }
            }
            Drained::Dirty(dirty.into_values().collect())
        }

        /// True when the directory at `abs` is watched as `rel` (the same directory: an inode
        /// watched under another name was moved, a new directory under a watched name
        /// replaced the old one). Adds the watch if there was none.
        pub(crate) fn watched_as(&self, abs: &Path, rel: &str) -> bool {
            let Some(wd) = self.before_read(abs) else {
                return false;
            };
            self.lock().dirs.get(&wd).is_some_and(|d| d.rel == rel)
        }

        /// The watched directories directly inside `rel`.
        pub(crate) fn subdirs_of(&self, rel: &str) -> Vec<String> {
            self.lock()
                .dirs
                .values()
                .filter(|d| !d.rel.is_empty() && super::parent_of(&d.rel) == rel)
                .map(|d| d.rel.clone())
                .collect()
        }

        /// Stops watching `rel` and everything below it (it is gone or was moved away).
        pub(crate) fn forget_under(&self, rel: &str) {
            let mut inner = self.lock();
            let gone: Vec<WatchDescriptor> = inner
                .dirs
                .iter()
                .filter(|(_, d)| super::is_under(&d.rel, rel, true))
                .map(|(wd, _)| *wd)
                .collect();
            for wd in gone {
                inner.dirs.remove(&wd);
                // A moved directory keeps its inode: stop its events under the old name.
                let _ = inner.inotify.rm_watch(wd);
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::path::Path;
    use std::sync::Arc;

    use super::{Drained, Level};

    /// No change notification on this platform: every scan is a full one.
    pub(crate) enum Watch {}

    #[derive(Clone, Copy)]
    pub(crate) struct Token;

    impl Watch {
        pub(crate) fn new() -> Option<Watch> {
            None
        }
        pub(crate) fn before_read(&self, _abs: &Path) -> Option<Token> {
            match *self {}
        }
        pub(crate) fn after_read(&self, _t: Token, _rel: &str, _levels: &[Arc<Level>]) {
            match *self {}
        }
        pub(crate) fn is_broken(&self) -> bool {
            match *self {}
        }
        pub(crate) fn drain(&self) -> Drained {
            match *self {}
        }
        pub(crate) fn watched_as(&self, _abs: &Path, _rel: &str) -> bool {
            match *self {}
        }
        pub(crate) fn subdirs_of(&self, _rel: &str) -> Vec<String> {
            match *self {}
        }
        pub(crate) fn forget_under(&self, _rel: &str) {
            match *self {}
        }
    }
}

pub(crate) use imp::Watch;

/// The directory part of a relative path (`""` for the root's entries).
pub(crate) fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// True when `path` is in directory `dir`: directly, or at any depth when `recursive`
/// (`dir` itself counts when `recursive`).
pub(crate) fn is_under(path: &str, dir: &str, recursive: bool) -> bool {
    if !recursive {
        return parent_of(path) == dir;
    }
    dir.is_empty()
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

/// Where a workspace keeps its current watch (none until a full scan starts one).
#[derive(Default)]
pub(crate) struct WatchSlot(std::sync::Mutex<Option<Arc<Watch>>>);

impl WatchSlot {
    pub(crate) fn get(&self) -> Option<Arc<Watch>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn set(&self, watch: Option<Arc<Watch>>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = watch;
    }
}

impl std::fmt::Debug for WatchSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.get().is_some() {
            "WatchSlot(watching)"
        } else {
            "WatchSlot(idle)"
        })
    }
}
