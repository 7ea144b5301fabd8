// SPDX-License-Identifier: GPL-2.0

//! Workqueues a driver allocates and destroys.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)
//!
//! The system workqueues ([`crate::workqueue::system`] and friends) are shared and never go
//! away, so nothing tells a driver when the work it queued there has finished. An
//! [`OwnedQueue`] is the driver's own: dropping it calls `destroy_workqueue()`, which drains it,
//! so every work item queued on it has run to completion by then. A driver uses this to make
//! sure no work of its own outlives the objects (or the module) the work uses.
//!
//! # Examples
//!
//! ```
//! use kernel::owned_workqueue::OwnedQueue;
//! use kernel::sync::{atomic::{Atomic, Relaxed}, Arc};
//!
//! let queue = OwnedQueue::new_ordered(c"example")?;
//! let runs = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
//! for _ in 0..3 {
//!     let runs = runs.clone();
//!     queue.spawn(GFP_KERNEL, move || {
//!         runs.fetch_add(1, Relaxed);
//!     })?;
//! }
//! // Destroying the queue waits for all three.
//! drop(queue);
//! assert_eq!(runs.load(Relaxed), 3);
//! # Ok::<(), Error>(())
//! ```

use crate::{
    bindings,
    prelude::*,
    workqueue::Queue, //
};
use core::{
    ops::Deref,
    ptr::NonNull, //
};

/// A workqueue allocated by `alloc_workqueue()` and destroyed, drained, when dropped.
///
/// # Invariants
///
/// `ptr` is a workqueue returned by `alloc_workqueue()` that has not been destroyed.
pub struct OwnedQueue {
    ptr: NonNull<bindings::workqueue_struct>,
}

// SAFETY: A workqueue may be used from any thread; the C API does its own locking.
unsafe impl Send for OwnedQueue {}
// SAFETY: As above: every operation through `&OwnedQueue` is thread-safe.
unsafe impl Sync for OwnedQueue {}

impl OwnedQueue {
    /// Allocates an ordered workqueue named `name`: work items run one at a time, in the order
    /// they were queued (`alloc_ordered_workqueue()`).
    pub fn new_ordered(name: &CStr) -> Result<Self> {
        let flags = bindings::wq_flags_WQ_UNBOUND | bindings::wq_flags___WQ_ORDERED;
        // SAFETY: The format is a valid C string with one `%s`, matched by `name`, a valid C
        // string; `alloc_workqueue_noprof()` copies the formatted name.
        let ptr = unsafe {
            bindings::alloc_workqueue_noprof(c"%s".as_char_ptr(), flags, 1, name.as_char_ptr())
        };
        let ptr = NonNull::new(ptr).ok_or(ENOMEM)?;
        // INVARIANT: `ptr` was just returned by `alloc_workqueue()`.
        Ok(Self { ptr })
    }
}

impl Deref for OwnedQueue {
    type Target = Queue;

    fn deref(&self) -> &Queue {
        // SAFETY: By the type invariant the workqueue is valid until `self` is dropped, which
        // the returned reference cannot outlive.
        unsafe { Queue::from_raw(self.ptr.as_ptr()) }
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the workqueue is valid and not yet destroyed; `self` is
        // going away, so no reference to it remains. `destroy_workqueue()` drains it first.
        unsafe { bindings::destroy_workqueue(self.ptr.as_ptr()) };
    }
}

#[kunit_tests(rust_owned_workqueue)]
mod tests {
    use super::OwnedQueue;
    use crate::{
        new_mutex,
        prelude::*,
        sync::{
            Arc,
            Mutex, //
        },
        time::{
            delay::fsleep,
            Delta, //
        }, //
    };

    /// Dropping the queue waits for every queued item, and an ordered queue runs them one at a
    /// time in queue order: each item sleeps before recording itself, so an item that ran early
    /// or concurrently, or a drop that did not wait, shows up in the record.
    #[test]
    fn drop_drains_and_items_run_in_order() -> Result {
        let record = Arc::pin_init(new_mutex!(KVec::<u32>::new()), GFP_KERNEL)?;
        let queue = OwnedQueue::new_ordered(c"rust_owned_wq_test")?;
        for i in 0..8u32 {
            let record: Arc<Mutex<KVec<u32>>> = record.clone();
            queue.spawn(GFP_KERNEL, move || {
                fsleep(Delta::from_millis(i64::from(8 - i)));
                let _ = record.lock().push(i, GFP_KERNEL);
            })?;
        }
        drop(queue);
        let seen = record.lock();
        assert_eq!(&seen[..], &[0, 1, 2, 3, 4, 5, 6, 7]);
        Ok(())
    }
}
