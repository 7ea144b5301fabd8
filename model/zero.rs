// SPDX-License-Identifier: GPL-2.0-only

//! Types whose all-zero bytes are a valid value ([`Zeroable`]), so that a host can allocate the
//! device model zeroed on its heap instead of building it on a stack: the kernel host with
//! `KVBox::init(pin_init::zeroed(), ..)` (the model's root types also implement the kernel's
//! `pin_init::Zeroable` when built into the kernel), the user-space host with [`zeroed_box`].
//!
//! The model's own structures prove the property with `zeroable!`, which checks at compile
//! time that every field (all of them, by an exhaustive pattern) has a `Zeroable` type.

/// A type for which all-zero bytes are a valid value.
///
/// # Safety
///
/// A value of the type whose every byte is zero must be valid (padding bytes aside).
pub unsafe trait Zeroable {}

macro_rules! impl_zeroable_primitive {
    ($($t:ty),*) => {
        // SAFETY: Zero is a valid value of every integer type and `false` of `bool`.
        $(unsafe impl Zeroable for $t {})*
    };
}
impl_zeroable_primitive!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, bool);

// SAFETY: An array of zero-valid elements is zero-valid: it has no other bytes.
unsafe impl<T: Zeroable, const N: usize> Zeroable for [T; N] {}
// SAFETY: A tuple of zero-valid fields is zero-valid (padding bytes need no value).
unsafe impl<A: Zeroable, B: Zeroable> Zeroable for (A, B) {}
// SAFETY: A tuple of zero-valid fields is zero-valid (padding bytes need no value).
unsafe impl<A: Zeroable, B: Zeroable, C: Zeroable> Zeroable for (A, B, C) {}
// SAFETY: `Option<&T>` has the null-pointer optimization (guaranteed by the `Option`
// documentation): all-zero bytes are `None`.
unsafe impl<T: ?Sized> Zeroable for Option<&T> {}

/// Requires `T: Zeroable` (used by [`zeroable!`]).
pub(crate) const fn assert_zeroable<T: Zeroable + ?Sized>(_: &T) {}

/// Implements [`Zeroable`] for a struct of the crate after checking that every one of its
/// fields is `Zeroable`: `zeroable!(Name { field_a, field_b })` names all fields (the check is
/// an exhaustive pattern, so it does not compile if one is left out).
macro_rules! zeroable {
    ($name:ident { $($field:ident),* $(,)? }) => {
        const _: () = {
            #[allow(dead_code)]
            fn every_field_is_zeroable(v: &$name) {
                let $name { $($field),* } = v;
                $($crate::zero::assert_zeroable($field);)*
            }
        };

        // SAFETY: `every_field_is_zeroable` above names every field of the struct (its pattern
        // has no `..`) and requires each field's type to be `Zeroable`: all-zero bytes are a
        // valid value of every field, hence of the struct (padding bytes need no value).
        unsafe impl $crate::zero::Zeroable for $name {}
    };
}
pub(crate) use zeroable;

/// A `T` allocated zeroed on the heap (the user-space host's way to hold a device).
#[cfg(not(CONFIG_RUST))]
pub fn zeroed_box<T: Zeroable>() -> alloc::boxed::Box<T> {
    let b = alloc::boxed::Box::<T>::new_zeroed();
    // SAFETY: `new_zeroed` returns memory whose every byte is zero, and all-zero bytes are a
    // valid `T` (`T: Zeroable`).
    unsafe { b.assume_init() }
}
