//! A short list that keeps its first item in place and only a second one
//! moves it to the heap, read as a slice: for the many lists of the probe
//! table that nearly always hold one item (a probe's sightings of one kind
//! at one capture point, a flow's tally in one capture), so that tens of
//! thousands of them cost no allocation each, and reading them back walks
//! one array instead of scattered buffers.
//!
//! Guarantees: the slice holds the items in the order they were pushed.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Few<T> {
    #[default]
    None,
    One(T),
    Many(Vec<T>),
}

impl<T: Copy> Few<T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            Few::None => &[],
            Few::One(t) => std::slice::from_ref(t),
            Few::Many(v) => v,
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            Few::None => &mut [],
            Few::One(t) => std::slice::from_mut(t),
            Few::Many(v) => v,
        }
    }

    pub fn push(&mut self, item: T) {
        match self {
            Few::None => *self = Few::One(item),
            Few::One(first) => *self = Few::Many(vec![*first, item]),
            Few::Many(v) => v.push(item),
        }
    }
}

impl<T: Copy> std::ops::Deref for Few<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Copy> std::ops::DerefMut for Few<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<'a, T: Copy> IntoIterator for &'a Few<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_item_in_order_in_place_then_on_the_heap() {
        let mut few = Few::default();
        assert!(few.is_empty());
        few.push(1);
        assert!(matches!(few, Few::One(1)));
        few.push(2);
        few.push(3);
        assert_eq!(few.as_slice(), [1, 2, 3]);
        few[0] = 9;
        assert_eq!((&few).into_iter().copied().collect::<Vec<_>>(), [9, 2, 3]);
    }
}
