//! The timeline of a project: its provenance records merged with the model calls of its runs
//! (every attempt, from the ledger), oldest first. What `samocoder log` shows and what
//! `export --provenance` writes as `log.jsonl`. Works for forgotten projects too: their records
//! and the ledger rows of their runs are kept.

use serde::Serialize;

use super::Record;
use crate::store::{LedgerRow, ProjectKey, ProvenanceEntry, Store, StoreError};

/// One thing on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Unix milliseconds.
    pub at: i64,
    pub run_id: Option<i64>,
    /// `iteration.ordinal` of the task, when known.
    pub task: Option<String>,
    #[serde(flatten)]
    pub item: Item,
}

/// A model call or a provenance record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Item {
    ModelCall(ModelCall),
    Record(Record),
}

/// One attempt at a model call, as the timeline shows it: `{"kind": "model_call", "detail"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCall(pub LedgerRow);

impl Serialize for ModelCall {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tagged<'a> {
            kind: &'static str,
            detail: &'a LedgerRow,
        }
        Tagged {
            kind: "model_call",
            detail: &self.0,
        }
        .serialize(s)
    }
}

/// Everything recorded for a project, live or forgotten.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub project: String,
    /// Creation time (ms): with the name, what identifies the project once it is forgotten.
    pub created_at: i64,
    pub forgotten: bool,
    pub entries: Vec<Entry>,
}

impl Timeline {
    /// The timeline of `key` (its live id, when it has one, also finds runs from before the log
    /// was kept).
    pub fn load(store: &Store, key: &ProjectKey) -> Result<Timeline, StoreError> {
        let records = store.provenance(key)?;
        let mut runs: Vec<i64> = records.iter().filter_map(|e| e.run_id).collect();
        if let Some(id) = key.id {
            runs.extend(store.project_run_ids(id)?);
        }
        runs.sort_unstable();
        runs.dedup();
        let calls = store.ledger(key.id, &runs)?;
        Ok(Timeline {
            project: key.name.clone(),
            created_at: key.created_at,
            forgotten: key.id.is_none(),
            entries: merge(records, calls),
        })
    }

    /// The model calls of the timeline.
    pub fn calls(&self) -> impl Iterator<Item = &LedgerRow> {
        self.entries.iter().filter_map(|e| match &e.item {
            Item::ModelCall(c) => Some(&c.0),
            Item::Record(_) => None,
        })
    }

    /// The records of the timeline.
    pub fn records(&self) -> impl Iterator<Item = (&Entry, &Record)> {
        self.entries.iter().filter_map(|e| match &e.item {
            Item::Record(r) => Some((e, r)),
            Item::ModelCall(_) => None,
        })
    }
}

/// Both lists are oldest first; the result is too (a record before a call at the same time).
pub fn merge(records: Vec<ProvenanceEntry>, calls: Vec<LedgerRow>) -> Vec<Entry> {
    let mut out = Vec::with_capacity(records.len() + calls.len());
    let mut records = records.into_iter().peekable();
    let mut calls = calls.into_iter().peekable();
    loop {
        let take_record = match (records.peek(), calls.peek()) {
            (Some(r), Some(c)) => r.at <= c.at,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_record {
            let Some(r) = records.next() else { break };
            out.push(Entry {
                at: r.at,
                run_id: r.run_id,
                task: r.task,
                item: Item::Record(r.record),
            });
        } else {
            let Some(c) = calls.next() else { break };
            out.push(Entry {
                at: c.at,
                run_id: c.run_id,
                task: None,
                item: Item::ModelCall(ModelCall(c)),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provenance::{RunEvent, RunRecord};

    fn record(at: i64) -> ProvenanceEntry {
        ProvenanceEntry {
            id: at,
            at,
            run_id: Some(1),
            task: None,
            record: Record::Run(RunRecord {
                event: RunEvent::Started,
                command: "new".into(),
                status: None,
                exit_code: None,
                cost_usd: None,
                backfilled: false,
            }),
        }
    }

    fn call(at: i64) -> LedgerRow {
        LedgerRow {
            id: at,
            at,
            run_id: Some(1),
            role: "coder".into(),
            provider: "p".into(),
            model: "m".into(),
            route_index: 0,
            attempt: 1,
            outcome: "ok".into(),
            error_class: None,
            input_tokens: 1,
            cached_tokens: 0,
            cache_write_tokens: 0,
            output_tokens: 1,
            reasoning_tokens: 0,
            cost_usd: Some(0.1),
            cost_source: "table".into(),
            usage_estimated: false,
            latency_ms: 5,
        }
    }

    #[test]
    fn records_and_calls_are_merged_in_time_order() {
        let m = merge(vec![record(1), record(5)], vec![call(1), call(3), call(9)]);
        let at: Vec<i64> = m.iter().map(|e| e.at).collect();
        assert_eq!(at, [1, 1, 3, 5, 9]);
        assert!(
            matches!(m[0].item, Item::Record(_)),
            "a record first at the same time"
        );
        let j = serde_json::to_value(&m[1]).unwrap();
        assert_eq!(j["kind"], "model_call");
        assert_eq!(j["detail"]["role"], "coder");
        assert_eq!(j["at"], 1);
        let j = serde_json::to_value(&m[0]).unwrap();
        assert_eq!(j["kind"], "run");
        assert_eq!(j["detail"]["event"], "started");
    }
}
