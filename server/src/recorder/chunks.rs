//! Multi-row statements in a few fixed sizes.
//!
//! Each row count makes a different SQL statement, and the driver keeps the statements it
//! prepared (about a hundred per connection; a 128-row insert is a large one). Cutting a batch
//! into powers of two keeps the distinct statements to a handful that stay prepared, instead of
//! one per batch size that fills the cache and memory and is prepared again each time.

/// `items` cut into chunks of `max` (a power of two) and then of falling powers of two.
pub(super) fn power_of_two_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = Ord::min(max, 1 << rest.len().ilog2());
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_cut_into_few_distinct_sizes_in_order() {
        let items: Vec<u32> = (0..301).collect();
        let sizes: Vec<usize> = power_of_two_chunks(&items, 128).map(<[u32]>::len).collect();
        assert_eq!(sizes, [128, 128, 32, 8, 4, 1]);
        let joined: Vec<u32> = power_of_two_chunks(&items, 128)
            .flatten()
            .copied()
            .collect();
        assert_eq!(joined, items);
        assert_eq!(power_of_two_chunks(&[] as &[u32], 128).count(), 0);
    }
}
