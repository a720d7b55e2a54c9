//! The journal's latest appends, still in memory: the writer commits from here when it can,
//! instead of reading back (and parsing) what it has just written.

use std::collections::VecDeque;

use super::journal::Entry;

/// Appended batches as (position before, position after, entries), oldest first. Bounded: what
/// falls out, and whatever a restart finds in the journal, is read from the file.
pub(super) struct Recent {
    batches: VecDeque<(u64, u64, Vec<Entry>)>,
    entries: usize,
    max_entries: usize,
}

impl Recent {
    pub fn new(max_entries: usize) -> Self {
        Self {
            batches: VecDeque::new(),
            entries: 0,
            max_entries,
        }
    }

    /// Keeps `entries`, just appended at `start..end` of the journal.
    pub fn remember(&mut self, start: u64, end: u64, entries: Vec<Entry>) {
        self.entries += entries.len();
        self.batches.push_back((start, end, entries));
        while self.entries > self.max_entries && self.pop().is_some() {}
    }

    /// Up to `max` entries (at least one batch) starting exactly at `committed`, with the
    /// position after them; `None` when memory does not hold what comes next. Taken entries
    /// leave memory: a commit that fails is retried from the journal.
    pub fn take(&mut self, committed: u64, max: usize) -> Option<(Vec<Entry>, u64)> {
        while self
            .batches
            .front()
            .is_some_and(|(_, end, _)| *end <= committed)
        {
            self.pop();
        }
        let mut batch: Vec<Entry> = Vec::new();
        let mut position = committed;
        while self.batches.front().is_some_and(|(start, _, entries)| {
            *start == position && (batch.is_empty() || batch.len() + entries.len() <= max)
        }) {
            if let Some((_, end, entries)) = self.pop() {
                position = end;
                batch.extend(entries);
            }
        }
        (position > committed).then_some((batch, position))
    }

    fn pop(&mut self) -> Option<(u64, u64, Vec<Entry>)> {
        let batch = self.batches.pop_front()?;
        self.entries -= batch.2.len();
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn entries(n: usize) -> Vec<Entry> {
        (0..n)
            .map(|i| Entry::DisableKey {
                key_id: i as i32,
                reason: String::new(),
                at: Utc::now(),
            })
            .collect()
    }

    #[test]
    fn consecutive_batches_are_taken_together_up_to_the_limit() {
        let mut recent = Recent::new(1_000);
        recent.remember(0, 100, entries(3));
        recent.remember(100, 150, entries(2));
        recent.remember(150, 400, entries(4));
        let (batch, end) = recent.take(0, 5).expect("the next entries are in memory");
        assert_eq!((batch.len(), end), (5, 150));
        let (batch, end) = recent.take(150, 5).expect("the last batch is in memory");
        assert_eq!((batch.len(), end), (4, 400));
        assert!(recent.take(400, 5).is_none());
    }

    #[test]
    fn a_batch_larger_than_the_limit_is_still_taken_whole() {
        let mut recent = Recent::new(1_000);
        recent.remember(0, 10, entries(8));
        assert_eq!(
            recent.take(0, 5).map(|(b, end)| (b.len(), end)),
            Some((8, 10))
        );
    }

    #[test]
    fn what_is_not_in_memory_is_left_to_the_journal() {
        let mut recent = Recent::new(4);
        recent.remember(0, 10, entries(3));
        recent.remember(10, 20, entries(3));
        // The first batch fell out (over 4 entries): the commit at 0 must read the file.
        assert!(recent.take(0, 100).is_none());
        // After the file's read reached 10, memory serves again.
        assert_eq!(recent.take(10, 100).map(|(_, end)| end), Some(20));
    }

    #[test]
    fn batches_a_journal_read_already_covered_are_dropped() {
        let mut recent = Recent::new(100);
        recent.remember(0, 10, entries(1));
        recent.remember(10, 20, entries(1));
        recent.remember(20, 30, entries(1));
        // A read from the file committed up to 15, in the middle of the second batch.
        assert!(recent.take(15, 100).is_none());
        assert_eq!(recent.take(20, 100).map(|(_, end)| end), Some(30));
    }
}
