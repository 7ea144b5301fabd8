// SPDX-License-Identifier: GPL-2.0-only

//! Shared MSI-X vectors: several event queues (e.g. channel `i` of every port, like the C
//! driver's `gdma_irq_context.eq_list`) raise one vector, and each gets its interrupt.
//!
//! The first handler added for a vector installs a dispatcher with the transport; the
//! dispatcher calls every handler of the vector, under that vector's interrupt-safe lock (one
//! lock per vector: the vectors of different CPUs never contend). Removing a handler takes
//! that lock, so once [`IrqTable::remove`] returns the handler is not running and the table
//! holds no reference to it.
//!
//! Shared vectors carry the data path only: every handler must run in hard interrupt context
//! ([`IrqContext::Hard`]), and so does the dispatcher. The hardware channel, whose handler
//! sleeps, has vector 0 to itself and installs its handler with the transport directly.

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
    IrqContext,
    Transport, //
};

/// The handlers of one vector.
type List = Pin<KBox<SpinLockIrq<KVec<Arc<dyn InterruptHandler>>>>>;

/// The handlers of every vector of one function.
pub(crate) struct IrqTable {
    lists: KVec<List>,
}

/// The transport's handler of one shared vector.
struct Dispatch {
    table: Arc<IrqTable>,
    vector: usize,
}

impl InterruptHandler for Dispatch {
    fn handle(&self) {
        if let Some(list) = self.table.lists.get(self.vector) {
            for h in list.lock().iter() {
                h.handle();
            }
        }
    }

    /// Every handler of a shared vector is a [`IrqContext::Hard`] one ([`IrqTable::add`]).
    fn context(&self) -> IrqContext {
        IrqContext::Hard
    }
}

impl IrqTable {
    /// A table for `vectors` vectors.
    pub(crate) fn new(vectors: u32) -> Result<Arc<Self>> {
        let mut lists = KVec::with_capacity(vectors as usize, GFP_KERNEL)?;
        for _ in 0..vectors {
            lists.push(
                KBox::pin_init(new_spinlock_irq!(KVec::new()), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(Arc::new(Self { lists }, GFP_KERNEL)?)
    }

    /// Adds `handler` to `vector`, installing the dispatcher with `transport` if it is the
    /// vector's first. `EINVAL` for a handler that needs a thread (shared vectors are the data
    /// path's, dispatched in hard interrupt context).
    pub(crate) fn add(
        self: &Arc<Self>,
        transport: &dyn Transport,
        vector: u32,
        handler: Arc<dyn InterruptHandler>,
    ) -> Result {
        if handler.context() != IrqContext::Hard {
            return Err(EINVAL);
        }
        let v = vector as usize;
        let list = self.lists.get(v).ok_or(EINVAL)?;
        // Room first: no allocation under the interrupt-safe lock.
        let mut room = KVec::<Arc<dyn InterruptHandler>>::new();
        let len = list.lock().len();
        room.reserve(len + 1, GFP_KERNEL)?;
        let first = {
            let mut list = list.lock();
            if list.capacity() < list.len() + 1 {
                for h in list.drain_all() {
                    // Cannot fail: `room` has room for every handler and the new one, unless
                    // handlers were added meanwhile; then the push below reports it.
                    let _ = room.push(h, GFP_NOWAIT);
                }
                core::mem::swap(&mut *list, &mut room);
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
        let Some(list) = self.lists.get(vector as usize) else {
            return;
        };
        let removed = {
            let mut list = list.lock();
            let pos = list.iter().position(|h| Arc::ptr_eq(h, handler));
            pos.and_then(|p| list.remove(p).ok())
        };
        // Dropped outside the lock.
        drop(removed);
    }
}
