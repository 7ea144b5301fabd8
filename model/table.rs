// SPDX-License-Identifier: GPL-2.0-only

//! A fixed-capacity table ([`Table`]): the storage of the device's object tables, like the
//! tables of the hardware, with no allocation after the device is created.

use core::ops::{
    Deref,
    DerefMut, //
};

use crate::{
    error::{
        Error,
        Result, //
    },
    zero::Zeroable,
};

/// Up to `N` values of `T`, in insertion order.
pub struct Table<T, const N: usize> {
    items: [T; N],
    len: usize,
}

// SAFETY: Both fields are `Zeroable` (`[T; N]` because `T` is; `usize`); the all-zero table is
// empty.
unsafe impl<T: Zeroable, const N: usize> Zeroable for Table<T, N> {}

impl<T, const N: usize> Table<T, N> {
    /// How many values the table holds at most.
    pub const CAPACITY: usize = N;

    /// Appends `value`; [`Error::NoSpace`] if the table is full.
    pub fn push(&mut self, value: T) -> Result {
        let slot = self.items.get_mut(self.len).ok_or(Error::NoSpace)?;
        *slot = value;
        // `len < N` (the slot exists): no overflow.
        self.len = self.len.wrapping_add(1);
        Ok(())
    }

    /// Removes the value at `pos`, keeping the order of the others; nothing if `pos` is out of
    /// range.
    pub fn remove(&mut self, pos: usize) {
        if let Some(tail) = self.items.get_mut(pos..self.len) {
            if !tail.is_empty() {
                tail.rotate_left(1);
                // `pos < len` (the tail is not empty): no underflow.
                self.len = self.len.wrapping_sub(1);
            }
        }
    }

    /// Removes every value.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Whether the table is full.
    pub fn is_full(&self) -> bool {
        self.len >= N
    }
}

impl<T, const N: usize> Deref for Table<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or(&[])
    }
}

impl<T, const N: usize> DerefMut for Table<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.items.get_mut(..self.len).unwrap_or(&mut [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_remove_and_capacity() {
        let mut t = crate::zero::zeroed_box::<Table<u32, 3>>();
        assert!(t.is_empty());
        t.push(1).unwrap();
        t.push(2).unwrap();
        t.push(3).unwrap();
        assert_eq!(t.push(4), Err(Error::NoSpace));
        assert!(t.is_full());
        t.remove(0);
        assert_eq!(&t[..], &[2, 3]);
        t.remove(5);
        assert_eq!(t.len(), 2);
        t.push(9).unwrap();
        assert_eq!(&t[..], &[2, 3, 9]);
        t.clear();
        assert!(t.is_empty());
    }
}
