//! The writer task: appends every record to the journal at once, syncs the journal every
//! `sync_every`, and commits what the journal holds, in order, one batch at a time.
//!
//! Nothing here waits on the database before a record is in the journal: the commit runs
//! beside the appends, so a slow or dead database only lets the journal grow. A batch the
//! database refuses is retried (with backoff, forever); every third failure it is written row
//! by row, so one row the database refuses costs only itself (it is stored with a marker).
//! Inserts ignore an attempt already stored, and rollups and spend count only rows really
//! inserted, so replaying a batch committed just before a crash counts nothing twice.

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use tokio::{sync::mpsc, sync::oneshot, time::Instant};

use super::{
    AttemptRecord, Message,
    chunks::power_of_two_chunks,
    journal::{Entry, Journal},
    log_rows,
    recent::Recent,
    rollup,
};
use crate::{
    entity::{access_token, api_key},
    events::{EventBus, RequestEvent, RequestPhase},
    metrics::Metrics,
    service::keys::DISABLED_BY_AUTO,
};

/// When a batch is written and the journal synced.
#[derive(Clone, Copy, Debug)]
pub struct BatchLimits {
    /// Most records per batch.
    pub max_records: usize,
    /// Records the queue holds before further ones wait in tasks of their own.
    pub queue_capacity: usize,
    /// How often the journal is synced to disk: the most a crash can lose.
    pub sync_every: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_records: 500,
            queue_capacity: 65_536,
            sync_every: Duration::from_millis(crate::config::DEFAULT_JOURNAL_SYNC_MS),
        }
    }
}

/// Most entries kept in memory after their append, for commits that need not read them back.
const RECENT_ENTRIES: usize = 20_000;
/// Every how many failures of a batch it is tried row by row.
const ROWS_EVERY: u32 = 3;
/// Backoff between failed commits.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Records arriving within this long of each other share one age mark.
const AGE_GRANULE: Duration = Duration::from_secs(1);
/// Widths of the log's text columns (characters).
const MODEL_CHARS: usize = 128;
const ERROR_TYPE_CHARS: usize = 64;
const REQUEST_ID_CHARS: usize = 64;
/// Error messages are TEXT, but a log row has no use for more than this.
const ERROR_MESSAGE_CHARS: usize = 2000;
/// The model name stored for a row the database refused as it was.
const REFUSED_MODEL: &str = "(refused)";

type Commit = Pin<Box<dyn Future<Output = (u64, Result<Committed, DbErr>)> + Send>>;
type Syncing = tokio::task::JoinHandle<(u64, std::io::Result<()>)>;

/// A batch the database took: the attempts really inserted, with their log ids.
struct Committed {
    inserted: Vec<(AttemptRecord, i64)>,
}

/// A caller waiting until the journal (`Sync`) or the database (`Flush`) holds everything up
/// to a position; `None` while the entries before it could not be appended yet.
struct Waiter {
    until: Option<u64>,
    done: oneshot::Sender<()>,
}

/// The writer's state between events.
struct Writer {
    db: DatabaseConnection,
    events: EventBus,
    metrics: Arc<Metrics>,
    limits: BatchLimits,
    journal: Journal,
    /// Everything before this position is in the database.
    committed: u64,
    /// Everything before this position is on disk.
    synced: u64,
    /// Entries the journal refused (a full disk); appended before any newer one.
    unwritten: Vec<Entry>,
    flushes: Vec<Waiter>,
    syncs: Vec<Waiter>,
    /// When records were appended: (position after them, first append time).
    ages: VecDeque<(u64, Instant)>,
    /// The latest appends, still in memory, so a commit need not read them back.
    recent: Recent,
    failures: u32,
    retry_at: Option<Instant>,
}

pub async fn run(
    db: DatabaseConnection,
    events: EventBus,
    metrics: Arc<Metrics>,
    limits: BatchLimits,
    journal: Journal,
    mut receiver: mpsc::Receiver<Message>,
) {
    let end = journal.end();
    let mut writer = Writer {
        db,
        events,
        metrics,
        limits,
        journal,
        committed: 0,
        synced: end,
        unwritten: Vec::new(),
        flushes: Vec::new(),
        syncs: Vec::new(),
        ages: VecDeque::new(),
        recent: Recent::new(RECENT_ENTRIES),
        failures: 0,
        retry_at: None,
    };
    if end > 0 {
        tracing::warn!(
            bytes = end,
            "replaying records a previous run left in the journal"
        );
        writer.ages.push_back((end, Instant::now()));
    }
    let mut commit: Option<Commit> = None;
    let mut sync: Option<Syncing> = None;
    let mut ticks = tokio::time::interval(limits.sync_every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if commit.is_none() {
            commit = writer.next_commit();
        }
        let retry_at = writer.retry_at;
        tokio::select! {
            message = receiver.recv() => {
                let Some(message) = message else { break };
                writer.take(message, &mut receiver);
            }
            Some(done) = async { Some(commit.as_mut()?.await) }, if commit.is_some() => {
                commit = None;
                writer.committed_batch(done);
            }
            Some(done) = async { Some(sync.as_mut()?.await) }, if sync.is_some() => {
                sync = None;
                match done {
                    Ok((until, Ok(()))) => writer.synced(until),
                    Ok((_, Err(error))) => tracing::error!(error = %error, "cannot sync the journal"),
                    Err(error) => tracing::error!(error = %error, "the journal sync task failed"),
                }
            }
            _ = ticks.tick() => {
                writer.append_unwritten();
                if sync.is_none() && writer.journal.end() > writer.synced {
                    let (file, until) = (writer.journal.sync_handle(), writer.journal.end());
                    sync = Some(tokio::task::spawn_blocking(move || (until, file.sync_data())));
                }
                writer.report();
            }
            () = sleep_until(retry_at), if retry_at.is_some() => writer.retry_at = None,
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

impl Writer {
    /// Appends `first` and whatever else is queued already (up to a batch).
    fn take(&mut self, first: Message, receiver: &mut mpsc::Receiver<Message>) {
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(message) = next {
            match message {
                Message::Attempt(mut record) => {
                    fit_columns(&mut record);
                    self.unwritten
                        .push(Entry::Attempt(Box::new((&*record).into())));
                }
                Message::DisableKey { key_id, reason, at } => {
                    self.unwritten
                        .push(Entry::DisableKey { key_id, reason, at });
                }
                Message::Flush(done) => {
                    self.append_unwritten();
                    let until = self.unwritten.is_empty().then(|| self.journal.end());
                    self.flushes.push(Waiter { until, done });
                }
                Message::Sync(done) => {
                    self.append_unwritten();
                    let until = self.unwritten.is_empty().then(|| self.journal.end());
                    self.syncs.push(Waiter { until, done });
                }
            }
            taken += 1;
            next = if taken < self.limits.max_records {
                receiver.try_recv().ok()
            } else {
                None
            };
        }
        self.append_unwritten();
        self.answer();
    }

    /// Appends the entries waiting in memory, if the journal takes them.
    fn append_unwritten(&mut self) {
        if self.unwritten.is_empty() {
            return;
        }
        let start = self.journal.end();
        match self.journal.append(&self.unwritten) {
            Ok(()) => {
                let end = self.journal.end();
                self.recent
                    .remember(start, end, std::mem::take(&mut self.unwritten));
                for waiter in self.flushes.iter_mut().chain(self.syncs.iter_mut()) {
                    waiter.until.get_or_insert(end);
                }
                match self.ages.back_mut() {
                    Some((until, since)) if since.elapsed() < AGE_GRANULE => *until = end,
                    _ => self.ages.push_back((end, Instant::now())),
                }
            }
            Err(error) => {
                tracing::error!(records = self.unwritten.len(), error = %error, "cannot append to the journal; the records wait in memory");
            }
        }
    }

    /// The commit of the next batch in the journal, unless it is waiting out a backoff.
    fn next_commit(&mut self) -> Option<Commit> {
        if self.retry_at.is_some() || self.committed >= self.journal.end() {
            return None;
        }
        // A batch that fails is not kept: its retry reads it from the journal.
        let read = match self.recent.take(self.committed, self.limits.max_records) {
            Some(recent) => Ok(recent),
            None => self.journal.read(self.committed, self.limits.max_records),
        };
        let (entries, end) = match read {
            Ok(read) => read,
            Err(error) => {
                tracing::error!(error = %error, "cannot read the journal");
                self.retry_at = Some(Instant::now() + RETRY_MAX);
                return None;
            }
        };
        let (db, metrics) = (self.db.clone(), self.metrics.clone());
        let rows = self.failures > 0 && self.failures.is_multiple_of(ROWS_EVERY);
        Some(Box::pin(async move {
            let started = std::time::Instant::now();
            let result = commit_entries(&db, entries, rows).await;
            if result.is_ok() {
                metrics.flushed(started.elapsed().as_secs_f64());
            }
            (end, result)
        }))
    }

    fn committed_batch(&mut self, (end, result): (u64, Result<Committed, DbErr>)) {
        match result {
            Ok(Committed { inserted }) => {
                if self.failures > 0 {
                    tracing::info!(
                        failures = self.failures,
                        "the database takes log rows again"
                    );
                }
                self.failures = 0;
                self.committed = end;
                publish(&self.events, inserted);
                while self.ages.front().is_some_and(|(until, _)| *until <= end) {
                    self.ages.pop_front();
                }
                if let Err(error) = self.journal.reclaim(self.committed) {
                    tracing::warn!(error = %error, "cannot shrink the journal");
                }
                self.synced = Ord::max(self.synced, Ord::min(self.committed, self.journal.end()));
                self.answer();
            }
            Err(error) => {
                self.failures += 1;
                let wait = RETRY_MIN
                    .saturating_mul(2u32.saturating_pow(Ord::min(self.failures, 10)))
                    .min(RETRY_MAX);
                tracing::warn!(failures = self.failures, error = %error, ?wait, "cannot commit log rows; they wait in the journal");
                self.retry_at = Some(Instant::now() + wait);
            }
        }
        self.report();
    }

    fn synced(&mut self, until: u64) {
        self.synced = Ord::max(self.synced, until);
        self.answer();
    }

    /// Answers the waiters whose position is reached.
    fn answer(&mut self) {
        let (committed, synced) = (self.committed, Ord::max(self.synced, self.committed));
        for (waiters, reached) in [(&mut self.flushes, committed), (&mut self.syncs, synced)] {
            let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(waiters)
                .into_iter()
                .partition(|w| w.until.is_some_and(|until| until <= reached));
            *waiters = waiting;
            for waiter in done {
                let _ = waiter.done.send(());
            }
        }
    }

    /// Updates the journal gauges.
    fn report(&self) {
        let age = self
            .ages
            .front()
            .map_or(0.0, |(_, since)| since.elapsed().as_secs_f64());
        self.metrics.journal(self.journal.bytes(), age);
    }
}

/// Commits a batch read from the journal, row by row when `rows`.
async fn commit_entries(
    db: &DatabaseConnection,
    entries: Vec<Entry>,
    rows: bool,
) -> Result<Committed, DbErr> {
    let mut attempts = Vec::new();
    let mut disables = Vec::new();
    for entry in entries {
        match entry {
            Entry::Attempt(stored) => attempts.push(AttemptRecord::from(*stored)),
            Entry::DisableKey { key_id, reason, at } => disables.push((key_id, reason, at)),
        }
    }
    let inserted = if rows {
        tracing::warn!(
            records = attempts.len(),
            "a log batch keeps failing; writing it row by row"
        );
        row_by_row(db, attempts, &disables).await?
    } else {
        commit(db, attempts, &disables).await?
    };
    Ok(Committed { inserted })
}

/// Writes a refused batch one record per transaction, so a row the database refuses costs
/// only itself; such a row is tried once more with its text replaced by a marker. When even
/// that fails the database is not taking rows at all, and the batch is retried later (rows
/// stored meanwhile are then ignored).
async fn row_by_row(
    db: &DatabaseConnection,
    attempts: Vec<AttemptRecord>,
    disables: &[(i32, String, DateTime<Utc>)],
) -> Result<Vec<(AttemptRecord, i64)>, DbErr> {
    if !disables.is_empty() {
        commit(db, Vec::new(), disables).await?;
    }
    let mut inserted = Vec::with_capacity(attempts.len());
    for record in attempts {
        match commit(db, vec![record.clone()], &[]).await {
            Ok(done) => inserted.extend(done),
            Err(error) => {
                tracing::warn!(request_id = %record.request_id, error = %error, "the database refused a log row; storing it with a marker");
                let mut record = record;
                mark_refused(&mut record);
                inserted.extend(commit(db, vec![record], &[]).await?);
            }
        }
    }
    Ok(inserted)
}

/// The first `max` characters of `text`, without NUL and other control characters a
/// database may refuse (newlines and tabs stay).
fn fit(text: &str, max: usize) -> Option<String> {
    let clean = |c: &char| !c.is_control() || matches!(c, '\n' | '\t');
    if text.chars().count() <= max && text.chars().all(|c| clean(&c)) {
        return None;
    }
    Some(text.chars().filter(clean).take(max).collect())
}

/// Cuts every free-text field of `record` to its column's width.
fn fit_columns(record: &mut AttemptRecord) {
    if let Some(model) = fit(&record.model, MODEL_CHARS) {
        record.model = model.into();
    }
    if let Some(id) = fit(&record.request_id, REQUEST_ID_CHARS) {
        record.request_id = id.into();
    }
    for (field, max) in [
        (&mut record.error_type, ERROR_TYPE_CHARS),
        (&mut record.error_message, ERROR_MESSAGE_CHARS),
    ] {
        if let Some(text) = field.as_deref().and_then(|t| fit(t, max)) {
            *field = Some(text);
        }
    }
}

/// What is left of a refused row: its numbers (so spend still lands) under a marker model.
fn mark_refused(record: &mut AttemptRecord) {
    record.model = REFUSED_MODEL.into();
    record.error_type = Some("log_row_refused".into());
    record.error_message = None;
    record.key_name = None;
}

/// Log rows, rollups, token spend and key disables, in one transaction. An attempt already
/// stored is skipped and counts nothing; returns the attempts inserted, with their log ids.
async fn commit(
    db: &DatabaseConnection,
    attempts: Vec<AttemptRecord>,
    disables: &[(i32, String, DateTime<Utc>)],
) -> Result<Vec<(AttemptRecord, i64)>, DbErr> {
    let txn = db.begin().await?;
    let backend = txn.get_database_backend();
    let now = Utc::now();
    let mut ids = HashMap::with_capacity(attempts.len());
    for chunk in power_of_two_chunks(&attempts, log_rows::MAX_ROWS) {
        for row in txn
            .query_all_raw(log_rows::insert(backend, chunk, now))
            .await?
        {
            let id: i64 = row.try_get("", "id")?;
            let request_id: String = row.try_get("", "request_id")?;
            let attempt: i32 = row.try_get("", "attempt")?;
            ids.insert((request_id, attempt), id);
        }
    }
    // `remove`, so an attempt twice in one batch also counts once.
    let fresh: Vec<(AttemptRecord, i64)> = attempts
        .into_iter()
        .filter_map(|record| {
            let id = ids.remove(&(record.request_id.to_string(), record.attempt))?;
            Some((record, id))
        })
        .collect();
    let attempts: Vec<&AttemptRecord> = fresh.iter().map(|(record, _)| record).collect();
    rollup::apply(&txn, attempts.iter().copied()).await?;

    let mut spend: HashMap<i32, (i64, DateTime<Utc>)> = HashMap::new();
    for record in &attempts {
        if let Some(token) = record.access_token_id {
            let entry = spend.entry(token).or_insert((0, record.started_at));
            entry.0 += record.cost;
            entry.1 = Ord::max(entry.1, record.started_at);
        }
    }
    for (token, (cost, last_used)) in spend {
        access_token::Entity::update_many()
            .col_expr(
                access_token::Column::Spend,
                Expr::col(access_token::Column::Spend).add(Expr::val(cost)),
            )
            .col_expr(access_token::Column::LastUsedAt, Expr::value(last_used))
            .filter(access_token::Column::Id.eq(token))
            .exec(&txn)
            .await?;
    }

    let mut key_spend: HashMap<i32, i64> = HashMap::new();
    for record in &attempts {
        if let Some(key) = record.key_id
            && record.cost > 0
        {
            *key_spend.entry(key).or_default() += record.cost;
        }
    }
    for (key, cost) in key_spend {
        api_key::Entity::update_many()
            .col_expr(
                api_key::Column::Spend,
                Expr::col(api_key::Column::Spend).add(Expr::val(cost)),
            )
            .filter(api_key::Column::Id.eq(key))
            .exec(&txn)
            .await?;
    }

    for (key_id, reason, at) in disables {
        // Only an enabled key: an admin's own disable (and its reason) stays as it is. And
        // only a key unchanged since: an admin's enable after the failure (or a replay of the
        // journal after a crash) is not undone by this older disable.
        api_key::Entity::update_many()
            .col_expr(api_key::Column::Enabled, Expr::value(false))
            .col_expr(api_key::Column::DisabledBy, Expr::value(DISABLED_BY_AUTO))
            .col_expr(api_key::Column::DisabledReason, Expr::value(reason.clone()))
            .col_expr(api_key::Column::DisabledAt, Expr::value(*at))
            .col_expr(api_key::Column::UpdateTime, Expr::value(*at))
            .filter(api_key::Column::Id.eq(*key_id))
            .filter(api_key::Column::Enabled.eq(true))
            .filter(api_key::Column::UpdateTime.lt(*at))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(fresh)
}

fn publish(events: &EventBus, inserted: Vec<(AttemptRecord, i64)>) {
    if !events.wants_requests() {
        return;
    }
    for (record, log_id) in inserted {
        let log_id = Some(log_id);
        events.publish_request(RequestEvent {
            phase: RequestPhase::Finished,
            request_id: record.request_id.to_string(),
            attempt: record.attempt,
            log_id,
            key_id: record.key_id,
            key_name: record.key_name,
            provider: record.provider.to_string(),
            endpoint: record.endpoint.to_string(),
            model: record.model.to_string(),
            is_stream: record.is_stream,
            status: Some(record.status.as_str().to_string()),
            http_status_code: record.http_status_code,
            error_type: record.error_type,
            input_tokens: record.usage.input,
            output_tokens: record.usage.output,
            cache_read_tokens: record.usage.cache_read,
            cache_creation_tokens: record.usage.cache_creation,
            cost: record.cost,
            latency_ms: Some(record.latency_ms),
            first_byte_ms: record.first_byte_ms,
            at: record.started_at,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_to_the_column_and_loses_control_characters() {
        assert_eq!(fit("gpt-4o", 128), None);
        assert_eq!(fit("a\0b\nc", 128).as_deref(), Some("ab\nc"));
        assert_eq!(fit(&"é".repeat(130), 128), Some("é".repeat(128)));
    }
}
