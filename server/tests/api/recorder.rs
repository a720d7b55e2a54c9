//! The writer under pressure: records that find its queue full are still written before a flush
//! returns.

use std::{sync::Arc, time::Duration};

use amp_pool::{
    app,
    entity::api_request_log,
    events::EventBus,
    metrics::Metrics,
    recorder::{AttemptRecord, AttemptStatus, BatchLimits, Journal, Recorder},
    usage::Usage,
};
use chrono::Utc;
use sea_orm::{EntityTrait, PaginatorTrait};
use tokio_util::sync::CancellationToken;

use crate::helpers::TestDatabase;

#[tokio::test]
async fn records_that_overflow_the_queue_are_written_before_flush_returns() {
    let database = TestDatabase::create().await;
    let state = app::build_state(database.settings(), CancellationToken::new())
        .await
        .unwrap();
    // A queue of two and batches of three: nearly every record overflows.
    let folder = tempfile::tempdir().unwrap();
    let recorder = Recorder::spawn(
        state.db.clone(),
        EventBus::new(),
        Arc::new(Metrics::default()),
        BatchLimits {
            max_records: 3,
            queue_capacity: 2,
            sync_every: Duration::from_millis(5),
        },
        Journal::open(&folder.path().join("overflow.log")).unwrap(),
    );

    for n in 0..300 {
        recorder.record(AttemptRecord {
            request_id: Arc::from(format!("overflow-{n}")),
            attempt: 1,
            key_id: None,
            key_name: None,
            access_token_id: None,
            provider: "openai",
            endpoint: "chat_completions",
            model: Arc::from("gpt-4o"),
            is_stream: false,
            usage: Usage {
                input: 1,
                ..Usage::default()
            },
            cost: 1,
            cost_unknown: false,
            latency_ms: 1,
            first_byte_ms: None,
            status: AttemptStatus::Success,
            http_status_code: Some(200),
            error_type: None,
            error_message: None,
            usage_source: Default::default(),
            response_id: None,
            route: None,
            started_at: Utc::now(),
        });
    }
    recorder.flush().await;

    assert_eq!(
        api_request_log::Entity::find()
            .count(&state.db)
            .await
            .unwrap(),
        300
    );
    state.shutdown.cancel();
}
