// SPDX-License-Identifier: GPL-2.0-only

//! Shared MSI-X vectors: several event queues (e.g. channel `i` of every port, like the C
//! driver's `gdma_irq_context.eq_list`) raise one vector, and each gets its interrupt.
//!
//! The first handler added for a vector installs a dispatcher with the transport; the
//! dispatcher calls every handler of the vector, under an interrupt-safe lock. Removing a
//! handler takes that lock, so once [`IrqTable::remove`] returns the handler is not running and
//! the table holds no reference to it.

use kernel::{
    new_spinlock_irq,
    prelude::*,
    sync::{
        Arc,
        SpinLockIrq, //
    }, //
};

use crate::transport::{
    InterruptHandler,
    Transport, //
};

/// The handlers of every vector of one function.
#[pin_data]
pub(crate) struct IrqTable {
    #[pin]
    lists: SpinLockIrq<KVec<KVec<Arc<dyn InterruptHandler>>>>,
}

/// The transport's handler of one shared vector.
struct Dispatch {
    table: Arc<IrqTable>,
    vector: usize,
}

impl InterruptHandler for Dispatch {
    fn handle(&self) {
        let lists = self.table.lists.lock();
        if let Some(list) = lists.get(self.vector) {
            for h in list.iter() {
                h.handle();
            }
        }
    }
}

impl IrqTable {
    /// A table for `vectors` vectors.
    pub(crate) fn new(vectors: u32) -> Result<Arc<Self>> {
        let mut lists = KVec::with_capacity(vectors as usize, GFP_KERNEL)?;
        for _ in 0..vectors {
            lists.push(KVec::new(), GFP_KERNEL)?;
        }
        Arc::pin_init(
            pin_init!(Self {
                lists <- new_spinlock_irq!(lists),
            }),
            GFP_KERNEL,
        )
    }

    /// Adds `handler` to `vector`, installing the dispatcher with `transport` if it is the
    /// vector's first.
    pub(crate) fn add(
        self: &Arc<Self>,
        transport: &dyn Transport,
        vector: u32,
        handler: Arc<dyn InterruptHandler>,
    ) -> Result {
        let v = vector as usize;
        // Room first: no allocation under the interrupt-safe lock.
        let mut room = KVec::<Arc<dyn InterruptHandler>>::new();
        let len = self.lists.lock().get(v).ok_or(EINVAL)?.len();
        room.reserve(len + 1, GFP_KERNEL)?;
        let first = {
            let mut lists = self.lists.lock();
            let list = lists.get_mut(v).ok_or(EINVAL)?;
            if list.capacity() < list.len() + 1 {
                for h in list.drain_all() {
                    // Cannot fail: `room` has room for every handler and the new one, unless
                    // handlers were added meanwhile; then the push below reports it.
                    let _ = room.push(h, GFP_NOWAIT);
                }
                core::mem::swap(list, &mut room);
            }
            let first = list.is_empty();
            list.push(handler, GFP_NOWAIT)?;
            first
        };
        drop(room);
        if first {
            let dispatch = Arc::new(
                Dispatch {
                    table: self.clone(),
                    vector: v,
                },
                GFP_KERNEL,
            )?;
            transport.set_interrupt_handler(vector, Some(dispatch))?;
        }
        Ok(())
    }

    /// Removes `handler` from `vector`.
    pub(crate) fn remove(&self, vector: u32, handler: &Arc<dyn InterruptHandler>) {
        let removed = {
            let mut lists = self.lists.lock();
            let Some(list) = lists.get_mut(vector as usize) else {
                return;
            };
            let pos = list.iter().position(|h| Arc::ptr_eq(h, handler));
            pos.and_then(|p| list.remove(p).ok())
        };
        // Dropped outside the lock.
        drop(removed);
    }
}
