// SPDX-License-Identifier: GPL-2.0-only

//! What the tests of the crate share: guest RAM and interrupt descriptors as QEMU hands them
//! over. The unit tests include this file as `crate::test_support`, the integration tests as
//! `support`.

use std::fs::File;
use std::os::fd::FromRawFd;

/// Guest RAM as QEMU shares it (`memory-backend-memfd`): a memfd of `size` bytes.
pub fn memfd(size: u64) -> File {
    // SAFETY: the name is a NUL-terminated string; the result is checked.
    let fd = unsafe { libc::memfd_create(c"guest-ram".as_ptr(), 0) };
    assert!(fd >= 0);
    // SAFETY: `fd` is fresh and owned by nothing else.
    let file = unsafe { File::from_raw_fd(fd) };
    file.set_len(size).unwrap();
    file
}

/// An MSI-X vector's eventfd as QEMU sends it with SET_IRQS (non-blocking, so that a test
/// reads "not signalled" as an error instead of waiting).
pub fn eventfd() -> File {
    // SAFETY: eventfd() has no memory-safety preconditions; the result is checked.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK) };
    assert!(fd >= 0);
    // SAFETY: `fd` is fresh and owned by nothing else.
    unsafe { File::from_raw_fd(fd) }
}
