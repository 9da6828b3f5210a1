//! Process groups that outlive samocoder: each running command's group is recorded (with the
//! leader's start time and the boot it belongs to) so that after a crash the next run can
//! kill it before it starts, and never a group that merely reuses the number.

use std::fmt;
use std::str::FromStr;

/// A command's process group as the store keeps it: `pgid:start_ticks:boot_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub pgid: i32,
    /// The leader's start time in clock ticks since boot (`/proc/PID/stat` field 22).
    pub start_ticks: u64,
    /// `/proc/sys/kernel/random/boot_id`: a group from an earlier boot is gone.
    pub boot_id: String,
}

impl fmt::Display for GroupRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.pgid, self.start_ticks, self.boot_id)
    }
}

impl FromStr for GroupRecord {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut it = s.splitn(3, ':');
        let bad = || format!("not a process group record: {s:?}");
        let pgid: i32 = it.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let start_ticks = it.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let boot_id = it.next().ok_or_else(bad)?.to_string();
        if pgid <= 1 {
            return Err(bad());
        }
        Ok(GroupRecord {
            pgid,
            start_ticks,
            boot_id,
        })
    }
}

/// What [`kill_stale_group`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleGroup {
    /// Nothing of that group is running (or the machine rebooted since).
    Gone,
    /// It was still running and has been killed.
    Killed,
    /// The number now belongs to another program: left alone.
    Reused,
}

/// The record of the group led by `pid`, if it can be read (Linux).
pub fn record_group(pid: u32) -> Option<GroupRecord> {
    let (pgid, start) = stat(i32::try_from(pid).ok()?)?;
    Some(GroupRecord {
        pgid,
        start_ticks: start,
        boot_id: boot_id()?,
    })
}

/// Kills a group recorded by a run that did not end cleanly, if it is still that group.
pub fn kill_stale_group(rec: &GroupRecord) -> StaleGroup {
    if boot_id().is_some_and(|b| b != rec.boot_id) {
        return StaleGroup::Gone;
    }
    match stat(rec.pgid) {
        // The leader lives: it must be the same process, still leading the same group.
        Some((pgid, start)) if start == rec.start_ticks && pgid == rec.pgid => kill(rec.pgid),
        // A number is not reused while its group lives: another process with it means our
        // group is gone.
        Some(_) => StaleGroup::Reused,
        // The leader is gone; members of the group (if any) still hold the number.
        None if members(rec.pgid) => kill(rec.pgid),
        None => StaleGroup::Gone,
    }
}

#[cfg(unix)]
fn kill(pgid: i32) -> StaleGroup {
    use nix::sys::signal::{Signal, killpg};
    match killpg(nix::unistd::Pid::from_raw(pgid), Signal::SIGKILL) {
        Ok(()) => StaleGroup::Killed,
        Err(_) => StaleGroup::Gone,
    }
}

#[cfg(not(unix))]
fn kill(_pgid: i32) -> StaleGroup {
    StaleGroup::Gone
}

/// (pgid, start ticks) of `pid` from `/proc/PID/stat`.
fn stat(pid: i32) -> Option<(i32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<(i32, u64)> {
    // The command name (field 2) may hold spaces and parentheses: fields restart after the last `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); pgrp is field 5, starttime field 22.
    let pgid = fields.get(2)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((pgid, start))
}

/// True when some live process is in group `pgid`.
fn members(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .any(|pid| stat(pid).is_some_and(|(g, _)| g == pgid))
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_reject_garbage() {
        let r = GroupRecord {
            pgid: 4242,
            start_ticks: 99,
            boot_id: "ab-cd".into(),
        };
        assert_eq!(r.to_string().parse::<GroupRecord>(), Ok(r));
        for bad in ["", "x:1:b", "1:1:b", "0:1:b", "12"] {
            assert!(bad.parse::<GroupRecord>().is_err(), "{bad}");
        }
    }

    #[test]
    fn stat_fields_survive_odd_command_names() {
        let line = "77 (a b) c)) S 1 77 77 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 1 1";
        assert_eq!(parse_stat(line), Some((77, 123456)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_live_group_is_killed_and_a_reused_number_is_not() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let rec = record_group(child.id()).unwrap();
        assert_eq!(rec.pgid, child.id() as i32);
        let wrong = GroupRecord {
            start_ticks: rec.start_ticks + 1,
            ..rec.clone()
        };
        assert_eq!(kill_stale_group(&wrong), StaleGroup::Reused);
        assert_eq!(kill_stale_group(&rec), StaleGroup::Killed);
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert_eq!(kill_stale_group(&rec), StaleGroup::Gone);
        let other_boot = GroupRecord {
            boot_id: "another-boot".into(),
            ..rec
        };
        assert_eq!(kill_stale_group(&other_boot), StaleGroup::Gone);
    }
}
