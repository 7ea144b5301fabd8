// SPDX-License-Identifier: GPL-2.0

//! The driver-specific data of a uverbs command (`struct ib_udata`).
//!
//! C headers: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h),
//! [`include/rdma/uverbs_ioctl.h`](srctree/include/rdma/uverbs_ioctl.h).
//!
//! A uverbs command carries a driver request (user space's `inbuf`, `inlen` bytes) and room for
//! a driver response (`outbuf`, `outlen` bytes). [`UData`] implements the compatibility rules
//! of `ib_copy_validate_udata_in()` and `ib_respond_udata()`:
//!
//! - a request shorter than the first version of its structure is refused with `EINVAL`;
//! - a shorter request than the current structure is zero-extended;
//! - a longer request is accepted only if the extra bytes are zero, else `EOPNOTSUPP` (user
//!   space asks for something this kernel does not know);
//! - unknown `comp_mask` bits are refused with `EOPNOTSUPP`;
//! - a response is truncated to `outlen`, and a longer buffer is zero-filled.

use crate::{
    bindings,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
    types::Opaque,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};
use core::mem::{
    size_of,
    MaybeUninit, //
};

/// The driver data of one uverbs command (`struct ib_udata`).
///
/// # Invariants
///
/// `inbuf` is a user pointer valid for reads of `inlen` bytes and `outbuf` one valid for
/// writes of `outlen` bytes, in the address space of the current task, as far as the user
/// copy functions are concerned (they check and fault safely).
#[repr(transparent)]
pub struct UData(Opaque<bindings::ib_udata>);

/// How many bytes are checked at once for being zero.
const ZERO_CHUNK: usize = 64;

impl UData {
    /// Creates a reference from a raw pointer, `None` if it is null.
    ///
    /// # Safety
    ///
    /// `ptr` must be null or point to a `struct ib_udata` whose buffers are user memory of the
    /// current task, valid and not changed for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::ib_udata) -> Option<&'a Self> {
        // SAFETY: `UData` is a transparent wrapper, and the caller guarantees validity.
        (!ptr.is_null()).then(|| unsafe { &*ptr.cast::<Self>() })
    }

    /// Returns the raw pointer.
    pub fn as_raw(&self) -> *mut bindings::ib_udata {
        self.0.get()
    }

    fn raw(&self) -> bindings::ib_udata {
        // SAFETY: By the type invariant the structure is valid and does not change.
        unsafe { self.0.get().read() }
    }

    /// Returns the length of the request, `inlen`.
    pub fn in_len(&self) -> usize {
        self.raw().inlen
    }

    /// Returns the room for the response, `outlen`.
    pub fn out_len(&self) -> usize {
        self.raw().outlen
    }

    fn reader(&self) -> UserSlice {
        let raw = self.raw();
        UserSlice::new(UserPtr::from_ptr(raw.inbuf.cast_mut()), raw.inlen)
    }

    fn writer(&self) -> UserSlice {
        let raw = self.raw();
        UserSlice::new(UserPtr::from_ptr(raw.outbuf), raw.outlen)
    }

    /// Copies the request into an `R` (`ib_copy_validate_udata_in()`).
    ///
    /// `min_len` is the size of the first version of `R` (the end of the member that ended
    /// it, e.g. `offset_of!(R, field) + size_of::<u32>()`); a shorter request is refused with
    /// `EINVAL`. Missing trailing bytes are zero; extra bytes must be zero, else
    /// `EOPNOTSUPP`. A fault gives `EFAULT`.
    pub fn read_in<R: FromBytes>(&self, min_len: usize) -> Result<R> {
        let inlen = self.in_len();
        if inlen < min_len || min_len > size_of::<R>() {
            return Err(EINVAL);
        }
        let copy = inlen.min(size_of::<R>());
        let mut reader = self.reader().reader();
        let mut value = MaybeUninit::<R>::zeroed();
        // SAFETY: `value` is `size_of::<R>()` bytes, all initialised (zeroed), and `copy` is
        // at most that; `u8` has no invalid values.
        let bytes =
            unsafe { core::slice::from_raw_parts_mut(value.as_mut_ptr().cast::<u8>(), copy) };
        reader.read_slice(bytes)?;
        check_zeroed(reader)?;
        // SAFETY: All bytes of `value` are initialised (zeroed, then partly overwritten), and
        // `R: FromBytes` accepts any bytes.
        Ok(unsafe { value.assume_init() })
    }

    /// Checks that the request is empty or all zero (`ib_is_udata_in_empty()`), for
    /// commands without a driver request: `EOPNOTSUPP` otherwise.
    pub fn check_in_empty(&self) -> Result {
        check_zeroed(self.reader().reader())
    }

    /// Checks that a request's `comp_mask` has only `valid` bits
    /// (`ib_copy_validate_udata_in_cm()`): `EOPNOTSUPP` otherwise.
    pub fn check_comp_mask(comp_mask: u64, valid: u64) -> Result {
        if comp_mask & !valid != 0 {
            return Err(EOPNOTSUPP);
        }
        Ok(())
    }

    /// Copies the response `resp` to user space (`ib_respond_udata()`): truncated to
    /// `outlen`, and the rest of a longer buffer zero-filled. A fault gives `EFAULT`.
    pub fn respond<W: AsBytes>(&self, resp: &W) -> Result {
        let mut writer = self.writer().writer();
        let bytes = resp.as_bytes();
        let copy = bytes.len().min(writer.len());
        writer.write_slice(&bytes[..copy])?;
        fill_zero(writer)
    }

    /// Zero-fills the response buffer (`ib_respond_empty_udata()`), for commands without a
    /// driver response.
    pub fn respond_empty(&self) -> Result {
        fill_zero(self.writer().writer())
    }
}

/// Checks that the rest of `reader` is zero: `EOPNOTSUPP` otherwise, `EFAULT` on a fault.
fn check_zeroed(mut reader: crate::uaccess::UserSliceReader) -> Result {
    let mut chunk = [0u8; ZERO_CHUNK];
    while !reader.is_empty() {
        let n = reader.len().min(ZERO_CHUNK);
        reader.read_slice(&mut chunk[..n])?;
        if chunk[..n].iter().any(|&b| b != 0) {
            return Err(EOPNOTSUPP);
        }
    }
    Ok(())
}

/// Writes zeroes to the rest of `writer`.
fn fill_zero(mut writer: crate::uaccess::UserSliceWriter) -> Result {
    let zero = [0u8; ZERO_CHUNK];
    while !writer.is_empty() {
        let n = writer.len().min(ZERO_CHUNK);
        writer.write_slice(&zero[..n])?;
    }
    Ok(())
}
