//! A list of lists kept as one list and the place each row starts. The lexicon's indexes hold
//! tens of thousands of short rows (most of one or two ids); as separate vectors each would
//! cost its own allocation and spare capacity, several times the ids themselves.

use std::ops::Index;

/// Rows of `T`, read as slices; built once from the growing lists.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rows<T> {
    /// Where row `i` starts in `items`; `starts[i + 1]` (or the end) is where it stops.
    starts: Vec<u32>,
    items: Vec<T>,
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Self {
            starts: Vec::new(),
            items: Vec::new(),
        }
    }
}

impl<T> Rows<T> {
    /// How many rows there are.
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// Adds a row at the end.
    ///
    /// # Panics
    /// When the rows hold more than `u32::MAX` items, far beyond any rule set.
    pub(crate) fn push(&mut self, row: impl IntoIterator<Item = T>) {
        self.starts
            .push(u32::try_from(self.items.len()).expect("rows hold at most u32::MAX items"));
        self.items.extend(row);
    }

    /// Drops the spare capacity growing left.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.starts.shrink_to_fit();
        self.items.shrink_to_fit();
    }

    /// `count` rows from (row, item) pairs, each row's items in the order given.
    ///
    /// # Panics
    /// When a row is not below `count`, or the rows hold more than `u32::MAX` items.
    pub(crate) fn group(count: usize, mut pairs: Vec<(usize, T)>) -> Self {
        pairs.sort_by_key(|&(row, _)| row);
        let mut starts = Vec::with_capacity(count);
        let mut items = Vec::with_capacity(pairs.len());
        let mut pairs = pairs.into_iter().peekable();
        for row in 0..count {
            starts.push(u32::try_from(items.len()).expect("rows hold at most u32::MAX items"));
            while let Some((_, item)) = pairs.next_if(|&(r, _)| r == row) {
                items.push(item);
            }
        }
        assert!(pairs.next().is_none(), "a row is not below the count");
        Self { starts, items }
    }

    /// Packs `lists`, emptying them as it goes.
    ///
    /// # Panics
    /// When the rows hold more than `u32::MAX` items, far beyond any rule set.
    pub(crate) fn pack(lists: Vec<Vec<T>>) -> Self {
        let total = lists.iter().map(Vec::len).sum();
        let mut rows = Self {
            starts: Vec::with_capacity(lists.len()),
            items: Vec::with_capacity(total),
        };
        for list in lists {
            rows.push(list);
        }
        rows
    }
}

impl<T> Index<usize> for Rows<T> {
    type Output = [T];

    fn index(&self, row: usize) -> &[T] {
        let start = self.starts[row] as usize;
        let end = self
            .starts
            .get(row + 1)
            .map_or(self.items.len(), |&end| end as usize);
        &self.items[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::Rows;

    #[test]
    fn grouped_pairs_become_rows_in_the_order_given() {
        let rows = Rows::group(3, vec![(2, 'c'), (0, 'a'), (2, 'd'), (0, 'b')]);

        assert_eq!(&rows[0], &['a', 'b']);
        assert!(rows[1].is_empty());
        assert_eq!(&rows[2], &['c', 'd']);
    }

    #[test]
    fn rows_read_back_as_they_were_packed_including_empty_ones() {
        let rows = Rows::pack(vec![vec![1, 2], vec![], vec![3], vec![]]);

        assert_eq!(&rows[0], &[1, 2]);
        assert!(rows[1].is_empty());
        assert_eq!(&rows[2], &[3]);
        assert!(rows[3].is_empty());
    }
}
