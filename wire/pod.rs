// SPDX-License-Identifier: GPL-2.0-only

//! Byte views of wire types ([`Pod`]) and register-like bit-field words ([`crate::bitfield!`],
//! [`Field`]), with nothing but `core`.

use core::mem::size_of;

/// Plain old data: a type that is nothing but initialized bytes, any of which may hold any
/// value.
///
/// The methods are prefixed `wire_` so that they never clash with the kernel's
/// `transmute::{FromBytes, AsBytes}` or `pin_init::Zeroable` methods, which wire types also
/// implement when built into the kernel.
///
/// # Safety
///
/// Every bit pattern of `size_of::<Self>()` bytes is a valid value of `Self`, `Self` has no
/// padding or other uninitialized byte, and no interior mutability.
pub unsafe trait Pod: Copy + 'static {
    /// The all-zero value.
    fn wire_zeroed() -> Self {
        // SAFETY: Every bit pattern, all zeroes included, is a valid `Self` (trait invariant).
        unsafe { core::mem::zeroed() }
    }

    /// The bytes of `self`.
    fn wire_bytes(&self) -> &[u8] {
        // SAFETY: `self` is a valid reference to `size_of::<Self>()` bytes, all of them
        // initialized (trait invariant); `u8` has alignment 1, and the shared borrow of `self`
        // keeps the bytes alive and unchanged (no interior mutability) for the returned lifetime.
        unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(self).cast::<u8>(), size_of::<Self>())
        }
    }

    /// The bytes of `self`, writable.
    fn wire_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `self` is a valid, exclusive reference to `size_of::<Self>()` initialized
        // bytes; any byte values written through the slice leave a valid `Self` (every bit
        // pattern is valid, trait invariant).
        unsafe {
            core::slice::from_raw_parts_mut(
                core::ptr::from_mut(self).cast::<u8>(),
                size_of::<Self>(),
            )
        }
    }

    /// A copy of `Self` read from the beginning of `bytes`, and the bytes after it; `None` if
    /// `bytes` is shorter than `Self`. `bytes` needs no alignment.
    fn wire_read_prefix(bytes: &[u8]) -> Option<(Self, &[u8])> {
        let (prefix, rest) = bytes.split_at_checked(size_of::<Self>())?;
        // SAFETY: `prefix` holds exactly `size_of::<Self>()` readable bytes, `read_unaligned`
        // needs no alignment, and every bit pattern is a valid `Self` (trait invariant).
        let value = unsafe { core::ptr::read_unaligned(prefix.as_ptr().cast::<Self>()) };
        Some((value, rest))
    }
}

macro_rules! impl_pod_primitive {
    ($($t:ty),*) => {
        $(
            // SAFETY: A primitive integer: every bit pattern is valid, no padding, no interior
            // mutability.
            unsafe impl Pod for $t {}
        )*
    };
}
impl_pod_primitive!(u8, u16, u32, u64, i8, i16, i32, i64);

// SAFETY: An array of `Pod` elements has no padding between them (size is a multiple of the
// alignment), so it is `N` valid-for-every-pattern, initialized elements without interior
// mutability.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// The byte-view traits of the kernel, when the crate is built into it: every wire message
/// type (`hdr::Request`, `hdr::Response`) has them, so driver code generic over a message can
/// copy it to and from DMA memory. On the host this trait is implemented for every type and
/// means nothing.
#[cfg(CONFIG_RUST)]
pub trait KernelBytes:
    ::kernel::transmute::FromBytes + ::kernel::transmute::AsBytes + ::pin_init::Zeroable
{
}

#[cfg(CONFIG_RUST)]
impl<T> KernelBytes for T where
    T: ::kernel::transmute::FromBytes + ::kernel::transmute::AsBytes + ::pin_init::Zeroable
{
}

/// The byte-view traits of the kernel, when the crate is built into it: every wire message
/// type (`hdr::Request`, `hdr::Response`) has them, so driver code generic over a message can
/// copy it to and from DMA memory. On the host this trait is implemented for every type and
/// means nothing.
#[cfg(not(CONFIG_RUST))]
pub trait KernelBytes {}

#[cfg(not(CONFIG_RUST))]
impl<T> KernelBytes for T {}

/// The value of an `N`-bit field of a [`crate::bitfield!`] word whose storage integer is `S`: always
/// below `2^N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Field<S, const N: u32>(S);

impl<S: Copy, const N: u32> Field<S, N> {
    /// The value.
    #[inline(always)]
    pub const fn get(self) -> S {
        self.0
    }
}

impl<S: Copy + PartialEq, const N: u32> PartialEq<S> for Field<S, N> {
    fn eq(&self, other: &S) -> bool {
        self.0 == *other
    }
}

impl<S: Copy + Into<u64>, const N: u32> Field<S, N> {
    /// Whether the value is not zero (for one-bit flags).
    #[inline(always)]
    pub fn into_bool(self) -> bool {
        self.0.into() != 0
    }
}

macro_rules! impl_field_storage {
    ($($s:ty),*) => {
        $(
            impl<const N: u32> Field<$s, N> {
                /// The low `N` bits of `value`.
                #[doc(hidden)]
                #[inline(always)]
                pub const fn __masked(value: $s) -> Self {
                    match (1 as $s).checked_shl(N) {
                        // `bit >= 1`, so `bit - 1` does not wrap.
                        Some(bit) if N < <$s>::BITS => Self(value & (bit - 1)),
                        _ => Self(value),
                    }
                }
            }

            impl<const N: u32> From<Field<$s, N>> for $s {
                fn from(f: Field<$s, N>) -> $s {
                    f.0
                }
            }

            impl<const N: u32> FieldValue for Field<$s, N> {
                const BITS: u32 = N;

                fn into_u64(self) -> u64 {
                    u64::from(self.0)
                }
            }
        )*
    };
}
impl_field_storage!(u8, u16, u32, u64);

/// A value a bit field can be set to: a `bool`, an unsigned integer or a [`Field`].
///
/// The infallible setters (`with_<field>`) accept only values whose type has at most as many
/// bits as the field (checked at compile time); the fallible ones (`try_with_<field>`) check
/// the value at run time.
pub trait FieldValue: Copy {
    /// The bits a value of this type can occupy.
    const BITS: u32;
    /// The value.
    fn into_u64(self) -> u64;
}

impl FieldValue for bool {
    const BITS: u32 = 1;

    fn into_u64(self) -> u64 {
        u64::from(self)
    }
}

macro_rules! impl_field_value {
    ($($t:ty),*) => {
        $(
            impl FieldValue for $t {
                const BITS: u32 = <$t>::BITS;

                fn into_u64(self) -> u64 {
                    u64::from(self)
                }
            }
        )*
    };
}
impl_field_value!(u8, u16, u32, u64);

/// Defines an integer type split into bit fields.
///
/// ```text
/// bitfield! {
///     /// Documentation.
///     pub struct Name(u32) {
///         /// Documentation of the field.
///         hi:lo field;
///     }
/// }
/// ```
///
/// For every field `hi:lo f` (inclusive bit range) it generates `f()` (the value as a
/// [`Field`]), `with_f(value)` (the value's type must not be wider than the field: checked at
/// compile time), `try_with_f(value)` (fails with [`crate::Error::Overflow`] if the value does
/// not fit), and the constants `F_SHIFT` and `F_MASK`. The type also has `from_raw`,
/// `into_raw`, the `ZERO` constant, `Default` and `Debug`, and converts to and from its
/// storage integer.
#[macro_export]
macro_rules! bitfield {
    (
        $(#[$attr:meta])*
        pub struct $name:ident($storage:ty) {
            $(
                $(#[doc = $doc:expr])*
                $hi:literal : $lo:literal $field:ident;
            )*
        }
    ) => {
        $(#[$attr])*
        #[repr(transparent)]
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            inner: $storage,
        }

        #[allow(dead_code)]
        impl $name {
            /// The all-zero value.
            pub const ZERO: Self = Self { inner: 0 };

            /// The word with the raw value `value`.
            #[inline(always)]
            pub const fn from_raw(value: $storage) -> Self {
                Self { inner: value }
            }

            /// The raw value.
            #[inline(always)]
            pub const fn into_raw(self) -> $storage {
                self.inner
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::ZERO
            }
        }

        impl ::core::convert::From<$name> for $storage {
            fn from(val: $name) -> $storage {
                val.inner
            }
        }

        impl ::core::convert::From<$storage> for $name {
            fn from(val: $storage) -> $name {
                $name { inner: val }
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("<raw>", &::core::format_args!("{:#x}", self.inner))
                    $(.field(stringify!($field), &self.$field().get()))*
                    .finish()
            }
        }

        $crate::__paste! {
            // `$hi + 1 - $lo` is the field's width, as the C header writes the range.
            #[allow(dead_code, clippy::int_plus_one)]
            impl $name {
                $(
                    #[doc = concat!("Shift of the field `", stringify!($field), "`.")]
                    pub const [<$field:upper _SHIFT>]: u32 = $lo;
                    #[doc = concat!("Mask of the field `", stringify!($field), "` in the word.")]
                    pub const [<$field:upper _MASK>]: $storage = {
                        const _: () = assert!($hi >= $lo && $hi < <$storage>::BITS);
                        // CAST: `$storage` is at most 64 bits wide, so the shifted mask of at
                        // most `<$storage>::BITS` bits fits it.
                        ((u64::MAX >> (63 - ($hi - $lo))) << $lo) as $storage
                    };

                    $(#[doc = $doc])*
                    #[inline(always)]
                    pub fn $field(self) -> $crate::Field<$storage, { $hi + 1 - $lo }> {
                        $crate::Field::<$storage, { $hi + 1 - $lo }>::__masked(
                            (self.inner & Self::[<$field:upper _MASK>]) >> $lo,
                        )
                    }

                    $(#[doc = $doc])*
                    #[doc = ""]
                    #[doc = "Sets the field to `value`, whose type is not wider than the field."]
                    #[inline(always)]
                    #[must_use]
                    pub fn [<with_ $field>]<T: $crate::FieldValue>(self, value: T) -> Self {
                        const {
                            assert!(T::BITS <= $hi + 1 - $lo, "the value is wider than the field")
                        };
                        let v = value.into_u64() << $lo;
                        // CAST: `value` has at most `$hi + 1 - $lo` bits (asserted above), so
                        // shifted by `$lo` it fits the `$hi + 1` bits of the storage.
                        let v = (v as $storage) & Self::[<$field:upper _MASK>];
                        Self { inner: (self.inner & !Self::[<$field:upper _MASK>]) | v }
                    }

                    $(#[doc = $doc])*
                    #[doc = ""]
                    #[doc = "Sets the field to `value`, or fails if it does not fit."]
                    #[inline(always)]
                    pub fn [<try_with_ $field>]<T: $crate::FieldValue>(
                        self,
                        value: T,
                    ) -> $crate::Result<Self> {
                        let v = value.into_u64();
                        if $hi + 1 - $lo < 64 && v >> ($hi + 1 - $lo) != 0 {
                            return Err($crate::Error::Overflow);
                        }
                        // CAST: `v < 2^($hi + 1 - $lo)` (checked above), so shifted by `$lo`
                        // it fits the `$hi + 1` bits of the storage.
                        let v = ((v << $lo) as $storage) & Self::[<$field:upper _MASK>];
                        Ok(Self { inner: (self.inner & !Self::[<$field:upper _MASK>]) | v })
                    }
                )*
            }
        }
    };
}
