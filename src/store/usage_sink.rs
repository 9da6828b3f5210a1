//! The usage sink of the app: every attempt becomes one `llm_calls` row in the SQLite store,
//! written (and committed) before the router hands the answer on. The row's `call_key` makes
//! the write idempotent: recording the same attempt twice writes one row.

use super::{CostSource, NewLlmCall, Outcome, Store};
use crate::llm::pricing::CostSource as PriceSource;
use crate::llm::usage::{CallRecord, Outcome as CallOutcome, UsageSink};

impl From<&CallRecord> for NewLlmCall {
    fn from(r: &CallRecord) -> NewLlmCall {
        NewLlmCall {
            run_id: r.run_id,
            project_id: r.project_id,
            step_id: r.step_id,
            role: r.role.clone(),
            provider: r.provider.clone(),
            model: r.model.clone(),
            route_index: r.route_index,
            attempt: r.attempt,
            outcome: Some(match r.outcome {
                CallOutcome::Ok => Outcome::Ok,
                CallOutcome::Error => Outcome::Error,
                CallOutcome::Cancelled => Outcome::Cancelled,
                CallOutcome::Truncated => Outcome::Truncated,
            }),
            error_class: r.error_class.clone(),
            http_status: r.http_status,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cached_tokens: r.cached_tokens,
            cache_write_tokens: r.cache_write_tokens,
            reasoning_tokens: r.reasoning_tokens,
            cost_usd: r.cost_usd,
            cost_source: Some(match r.cost_source {
                PriceSource::Table => CostSource::Table,
                PriceSource::Provider => CostSource::Provider,
                PriceSource::Override => CostSource::Override,
                PriceSource::Unknown => CostSource::Unknown,
            }),
            price_table: r.price_table.clone(),
            table_cost_usd: r.table_cost_usd,
            usage_estimated: r.usage_estimated,
            latency_ms: r.latency_ms,
            ttft_ms: r.ttft_ms,
            request_bytes: r.request_bytes,
            call_key: Some(r.call_key.clone()),
        }
    }
}

impl UsageSink for Store {
    fn record(&self, rec: &CallRecord) -> Result<(), String> {
        self.record_llm_call(&NewLlmCall::from(rec))
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::llm::pricing::CostSource as PriceSource;

    fn record(key: &str) -> CallRecord {
        CallRecord {
            run_id: None,
            project_id: None,
            step_id: None,
            role: "ask".into(),
            provider: "openai".into(),
            model: "gpt-4o".into(),
            route_index: 1,
            attempt: 2,
            outcome: CallOutcome::Truncated,
            error_class: None,
            http_status: None,
            input_tokens: 10,
            output_tokens: 20,
            cached_tokens: 3,
            cache_write_tokens: 4,
            reasoning_tokens: 7,
            cost_usd: Some(0.000123),
            cost_source: PriceSource::Provider,
            price_table: Some("models.dev 1.0.398".into()),
            table_cost_usd: Some(0.0001),
            usage_estimated: true,
            latency_ms: 5,
            ttft_ms: Some(2),
            request_bytes: 99,
            call_key: key.into(),
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn records_once_per_call_key_with_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("s.db"),
            Arc::new(crate::clock::SystemClock),
        )
        .unwrap();
        let sink: &dyn UsageSink = &store;
        sink.record(&record("k/1")).unwrap();
        sink.record(&record("k/1")).unwrap();
        sink.record(&record("k/2")).unwrap();
        let rows: Vec<(String, String, i64, String, f64, i64, i64)> = store
            .read(|db| {
                let mut st = db.conn().prepare(
                    "SELECT call_key, outcome, attempt, cost_source, cost_usd, usage_estimated, cache_write_tokens + 100 * reasoning_tokens FROM llm_calls ORDER BY id",
                )?;
                let rows = st
                    .query_map([], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            (
                "k/1".into(),
                "truncated".into(),
                2,
                "provider".into(),
                0.000123,
                1,
                704
            )
        );
        let priced: (String, f64, i64) = store
            .read(|db| {
                Ok(db.conn().query_row(
                    "SELECT price_table, table_cost_usd, request_bytes FROM llm_calls WHERE call_key = 'k/1'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .unwrap();
        assert_eq!(priced, ("models.dev 1.0.398".into(), 0.0001, 99));
    }
}
