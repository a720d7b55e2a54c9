//! The journal: an append-only file of JSON lines, one per instance, that every record passes
//! through on its way to the database.
//!
//! The writer appends a record here first and commits what it reads back, so a record outlives
//! a database outage and (once synced) a crash; replaying after a crash is safe because the log
//! insert ignores an attempt already stored. Positions are logical byte offsets that only grow:
//! when everything is committed the file is emptied, and when the committed head grows large
//! the uncommitted tail is copied to a fresh file, without changing any position.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AttemptRecord, AttemptStatus, RouteFacts, UsageSource};
use crate::{provider::Provider, proxy::Endpoint, usage::Usage};

/// The committed head is compacted away once it is this large (and larger than the tail).
const COMPACT_BYTES: u64 = 4 << 20;
/// How far back to look for the last complete line at start-up, per step.
const TAIL_SCAN: u64 = 64 << 10;

/// One line of the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Attempt(Box<StoredAttempt>),
    DisableKey {
        key_id: i32,
        reason: String,
        at: DateTime<Utc>,
    },
}

/// An [`AttemptRecord`] as a journal line. New fields take `#[serde(default)]`, so a journal
/// written by an older version still replays.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredAttempt {
    request_id: String,
    attempt: i32,
    #[serde(default)]
    key_id: Option<i32>,
    #[serde(default)]
    key_name: Option<String>,
    #[serde(default)]
    access_token_id: Option<i32>,
    provider: String,
    endpoint: String,
    model: String,
    is_stream: bool,
    input: i64,
    output: i64,
    cache_read: i64,
    cache_creation: i64,
    #[serde(default)]
    cache_creation_1h: i64,
    cost: i64,
    cost_unknown: bool,
    latency_ms: i32,
    #[serde(default)]
    first_byte_ms: Option<i32>,
    status: String,
    #[serde(default)]
    http_status_code: Option<i32>,
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
    usage_source: String,
    #[serde(default)]
    reasoning: i64,
    #[serde(default)]
    response_id: Option<String>,
    #[serde(default)]
    client_format: Option<String>,
    #[serde(default)]
    upstream_format: Option<String>,
    #[serde(default)]
    client_model: Option<String>,
    started_at: DateTime<Utc>,
}

impl From<&AttemptRecord> for StoredAttempt {
    fn from(record: &AttemptRecord) -> Self {
        Self {
            request_id: record.request_id.to_string(),
            attempt: record.attempt,
            key_id: record.key_id,
            key_name: record.key_name.clone(),
            access_token_id: record.access_token_id,
            provider: record.provider.to_string(),
            endpoint: record.endpoint.to_string(),
            model: record.model.to_string(),
            is_stream: record.is_stream,
            input: record.usage.input,
            output: record.usage.output,
            cache_read: record.usage.cache_read,
            cache_creation: record.usage.cache_creation,
            cache_creation_1h: record.usage.cache_creation_1h,
            cost: record.cost,
            cost_unknown: record.cost_unknown,
            latency_ms: record.latency_ms,
            first_byte_ms: record.first_byte_ms,
            status: record.status.as_str().to_string(),
            http_status_code: record.http_status_code,
            error_type: record.error_type.clone(),
            error_message: record.error_message.clone(),
            usage_source: record.usage_source.as_str().to_string(),
            reasoning: record.usage.reasoning,
            response_id: record.response_id.clone(),
            client_format: record.route.as_ref().map(|r| r.client_format.to_string()),
            upstream_format: record.route.as_ref().map(|r| r.upstream_format.to_string()),
            client_model: record.route.as_ref().map(|r| r.client_model.to_string()),
            started_at: record.started_at,
        }
    }
}

/// The `'static` name among `names` equal to `name`, else "unknown".
fn known(name: &str, names: impl IntoIterator<Item = &'static str>) -> &'static str {
    names
        .into_iter()
        .find(|known| *known == name)
        .unwrap_or("unknown")
}

impl From<StoredAttempt> for AttemptRecord {
    fn from(stored: StoredAttempt) -> Self {
        let status = [
            AttemptStatus::Success,
            AttemptStatus::Error,
            AttemptStatus::Timeout,
            AttemptStatus::NetworkError,
            AttemptStatus::Interrupted,
            AttemptStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == stored.status)
        .unwrap_or(AttemptStatus::Error);
        let usage_source = [
            UsageSource::Reported,
            UsageSource::Estimated,
            UsageSource::Clamped,
        ]
        .into_iter()
        .find(|s| s.as_str() == stored.usage_source)
        .unwrap_or_default();
        Self {
            request_id: stored.request_id.into(),
            attempt: stored.attempt,
            key_id: stored.key_id,
            key_name: stored.key_name,
            access_token_id: stored.access_token_id,
            provider: known(&stored.provider, Provider::ALL.map(Provider::as_str)),
            endpoint: known(&stored.endpoint, Endpoint::ALL.map(Endpoint::as_str)),
            model: stored.model.into(),
            is_stream: stored.is_stream,
            usage: Usage {
                input: stored.input,
                output: stored.output,
                cache_read: stored.cache_read,
                cache_creation: stored.cache_creation,
                cache_creation_1h: stored.cache_creation_1h,
                reasoning: stored.reasoning,
            },
            cost: stored.cost,
            cost_unknown: stored.cost_unknown,
            latency_ms: stored.latency_ms,
            first_byte_ms: stored.first_byte_ms,
            status,
            http_status_code: stored.http_status_code,
            error_type: stored.error_type,
            error_message: stored.error_message,
            usage_source,
            response_id: stored.response_id,
            route: match (
                stored.client_format,
                stored.upstream_format,
                stored.client_model,
            ) {
                (Some(client), Some(upstream), Some(model)) => Some(RouteFacts {
                    client_format: known(&client, ["openai", "anthropic"]),
                    upstream_format: known(&upstream, ["openai", "anthropic"]),
                    client_model: model.into(),
                }),
                _ => None,
            },
            started_at: stored.started_at,
        }
    }
}

/// The open journal of this instance; holds a lock so a second process cannot share it.
pub struct Journal {
    path: PathBuf,
    file: Arc<File>,
    /// Held for the lock on `<name>.lock`, released when the journal is dropped (or the
    /// process dies).
    _lock: File,
    /// Logical position of the file's first byte.
    start: u64,
    /// Logical position after the last appended line.
    end: u64,
}

impl Journal {
    /// Opens (or creates) the journal at `path`, cutting a line a crash left half-written.
    pub fn open(path: &Path) -> io::Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.with_extension("lock"))?;
        lock.try_lock().map_err(|error| match error {
            std::fs::TryLockError::WouldBlock => io::Error::new(
                io::ErrorKind::WouldBlock,
                "another AMP Pool process uses this journal",
            ),
            std::fs::TryLockError::Error(error) => error,
        })?;
        let created = !path.exists();
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        if created {
            // The new file's name must survive a power loss too.
            sync_dir(path);
        }
        let complete = complete_length(&file)?;
        if complete < file.metadata()?.len() {
            tracing::warn!(journal = %path.display(), "the journal ends in a line cut short by a crash; dropping that line");
            file.set_len(complete)?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file: Arc::new(file),
            _lock: lock,
            start: 0,
            end: complete,
        })
    }

    /// Logical position after the last line.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Bytes in the file.
    pub fn bytes(&self) -> u64 {
        self.end - self.start
    }

    /// Appends `entries`; on failure nothing of them stays in the file.
    pub fn append(&mut self, entries: &[Entry]) -> io::Result<()> {
        let mut buffer = Vec::with_capacity(entries.len() * 512);
        for entry in entries {
            serde_json::to_writer(&mut buffer, entry)?;
            buffer.push(b'\n');
        }
        if let Err(error) = (&*self.file).write_all(&buffer) {
            // A partial line would glue itself to the next one.
            let _ = self.file.set_len(self.bytes());
            return Err(error);
        }
        self.end += buffer.len() as u64;
        Ok(())
    }

    /// Reads up to `max` entries from logical position `from`, and the position after them.
    /// A line that does not parse (a damaged disk) is skipped with an error in the log.
    pub fn read(&self, from: u64, max: usize) -> io::Result<(Vec<Entry>, u64)> {
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(from.saturating_sub(self.start)))?;
        let mut reader = BufReader::new(file.take(self.end.saturating_sub(from)));
        let mut entries = Vec::new();
        let mut position = from;
        let mut line = Vec::new();
        while entries.len() < max {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            position += read as u64;
            match serde_json::from_slice::<Entry>(&line) {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    tracing::error!(journal = %self.path.display(), position, error = %error, "skipping a damaged journal line");
                }
            }
        }
        Ok((entries, position))
    }

    /// A handle to sync the file with, off the async threads.
    pub fn sync_handle(&self) -> Arc<File> {
        self.file.clone()
    }

    /// Gives back the space of what is committed (everything before `committed`): empties the
    /// file when all is committed, or copies a small uncommitted tail to a fresh file.
    pub fn reclaim(&mut self, committed: u64) -> io::Result<()> {
        if committed >= self.end {
            if self.bytes() > 0 {
                self.file.set_len(0)?;
                self.start = self.end;
            }
            return Ok(());
        }
        let head = committed.saturating_sub(self.start);
        let tail = self.end - committed;
        if head < COMPACT_BYTES || tail > head {
            return Ok(());
        }
        let fresh = self.path.with_extension("log.new");
        {
            let mut source = File::open(&self.path)?;
            source.seek(SeekFrom::Start(head))?;
            let mut target = File::create(&fresh)?;
            io::copy(&mut source.take(tail), &mut target)?;
            target.sync_data()?;
        }
        std::fs::rename(&fresh, &self.path)?;
        sync_dir(&self.path);
        self.file = Arc::new(
            OpenOptions::new()
                .read(true)
                .append(true)
                .open(&self.path)?,
        );
        self.start = committed;
        Ok(())
    }
}

/// Syncs the folder holding `path`, so a created or renamed name is on disk (best effort).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

/// The length of `file` up to and including its last newline.
fn complete_length(file: &File) -> io::Result<u64> {
    let mut reader = file;
    let mut end = file.metadata()?.len();
    let mut chunk = Vec::new();
    while end > 0 {
        let from = end.saturating_sub(TAIL_SCAN);
        reader.seek(SeekFrom::Start(from))?;
        chunk.clear();
        reader.take(end - from).read_to_end(&mut chunk)?;
        if let Some(last) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(from + last as u64 + 1);
        }
        end = from;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(n: i32) -> Entry {
        let record = AttemptRecord {
            request_id: Arc::from(format!("req-{n}")),
            attempt: n,
            key_id: Some(3),
            key_name: Some("k".into()),
            access_token_id: Some(4),
            provider: "anthropic",
            endpoint: "responses",
            model: Arc::from("claude"),
            is_stream: true,
            usage: Usage {
                input: 10,
                output: 20,
                cache_read: 1,
                cache_creation: 2,
                cache_creation_1h: 1,
                reasoning: 3,
            },
            cost: 77,
            cost_unknown: false,
            latency_ms: 5,
            first_byte_ms: Some(2),
            status: AttemptStatus::Cancelled,
            http_status_code: Some(200),
            error_type: Some("server_shutdown".into()),
            error_message: None,
            usage_source: UsageSource::Estimated,
            response_id: Some("resp_1".into()),
            route: Some(RouteFacts {
                client_format: "openai",
                upstream_format: "anthropic",
                client_model: Arc::from("gpt-4o"),
            }),
            started_at: Utc::now(),
        };
        Entry::Attempt(Box::new((&record).into()))
    }

    fn request_ids(entries: Vec<Entry>) -> Vec<String> {
        entries
            .into_iter()
            .filter_map(|entry| match entry {
                Entry::Attempt(stored) => Some(AttemptRecord::from(*stored).request_id.to_string()),
                Entry::DisableKey { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_record_reads_back_as_it_was_written() {
        let folder = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(&folder.path().join("a.log")).unwrap();
        journal.append(&[attempt(1)]).unwrap();
        let (mut entries, end) = journal.read(0, 10).unwrap();
        assert_eq!(end, journal.end());
        let Some(Entry::Attempt(stored)) = entries.pop() else {
            panic!("an attempt")
        };
        let record = AttemptRecord::from(*stored);
        assert_eq!(
            (record.provider, record.endpoint),
            ("anthropic", "responses")
        );
        assert_eq!(record.usage.reasoning, 3);
        assert_eq!(record.response_id.as_deref(), Some("resp_1"));
        assert_eq!(record.status, AttemptStatus::Cancelled);
        assert_eq!(record.usage_source, UsageSource::Estimated);
        assert_eq!(record.usage.total(), 33);
        assert_eq!((record.cost, record.attempt), (77, 1));
        let route = record.route.expect("the route is kept");
        assert_eq!(
            (
                route.client_format,
                route.upstream_format,
                &*route.client_model
            ),
            ("openai", "anthropic", "gpt-4o")
        );
    }

    #[test]
    fn reads_go_in_order_from_a_position_and_stop_at_the_limit() {
        let folder = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(&folder.path().join("a.log")).unwrap();
        journal.append(&[attempt(1), attempt(2)]).unwrap();
        journal.append(&[attempt(3)]).unwrap();
        let (first, middle) = journal.read(0, 2).unwrap();
        assert_eq!(request_ids(first), ["req-1", "req-2"]);
        let (rest, end) = journal.read(middle, 10).unwrap();
        assert_eq!(request_ids(rest), ["req-3"]);
        assert_eq!(end, journal.end());
    }

    #[test]
    fn a_line_cut_short_by_a_crash_is_dropped_on_open() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a.log");
        {
            let mut journal = Journal::open(&path).unwrap();
            journal.append(&[attempt(1), attempt(2)]).unwrap();
        }
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 9]).unwrap();

        let journal = Journal::open(&path).unwrap();
        let (entries, _) = journal.read(0, 10).unwrap();
        assert_eq!(request_ids(entries), ["req-1"]);
        assert!(journal.end() < whole.len() as u64);
    }

    #[test]
    fn a_damaged_line_is_skipped_and_the_rest_still_reads() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a.log");
        {
            let mut journal = Journal::open(&path).unwrap();
            journal.append(&[attempt(1)]).unwrap();
        }
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.splice(0..0, b"{not json\n".iter().copied());
        std::fs::write(&path, &bytes).unwrap();
        let journal = Journal::open(&path).unwrap();
        let (entries, end) = journal.read(0, 10).unwrap();
        assert_eq!(request_ids(entries), ["req-1"]);
        assert_eq!(end, bytes.len() as u64);
    }

    #[test]
    fn a_drained_journal_is_emptied_and_positions_keep_growing() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a.log");
        let mut journal = Journal::open(&path).unwrap();
        journal.append(&[attempt(1)]).unwrap();
        let end = journal.end();
        journal.reclaim(end).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        journal.append(&[attempt(2)]).unwrap();
        let (entries, _) = journal.read(end, 10).unwrap();
        assert_eq!(request_ids(entries), ["req-2"]);
    }

    #[test]
    fn a_large_committed_head_is_cut_off_and_the_tail_kept() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a.log");
        let mut journal = Journal::open(&path).unwrap();
        let mut n = 0;
        while journal.end() < COMPACT_BYTES {
            let batch: Vec<Entry> = (0..500).map(|i| attempt(n + i)).collect();
            journal.append(&batch).unwrap();
            n += 500;
        }
        let committed = journal.end();
        journal.append(&[attempt(-1)]).unwrap();
        journal.reclaim(committed).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            journal.end() - committed
        );
        let (entries, end) = journal.read(committed, 10).unwrap();
        assert_eq!(request_ids(entries), ["req--1"]);
        assert_eq!(end, journal.end());
        // And appends after the compaction land in the new file.
        journal.append(&[attempt(-2)]).unwrap();
        let (entries, _) = journal.read(end, 10).unwrap();
        assert_eq!(request_ids(entries), ["req--2"]);
    }

    #[test]
    fn a_second_process_cannot_open_the_same_journal() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a.log");
        let _first = Journal::open(&path).unwrap();
        let second = Journal::open(&path).err().unwrap();
        assert_eq!(second.kind(), io::ErrorKind::WouldBlock);
    }
}
