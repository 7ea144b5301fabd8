/// The lock class name of the work items of [`Queue::spawn`]. A static, not a literal in the
/// generic function: a literal in generic code is emitted once per crate that instantiates it,
/// so two modules (or a module and vmlinux) would give lockdep one key with two name pointers,
/// and lockdep warns ("found a different class with the same key") — as it does for
/// [`Queue::try_spawn`] once it is used from more than one module.
static SPAWN_NAME: &CStr = c"Queue::spawn";

/// The lock class of the work items of [`Queue::spawn`].
// SAFETY: The key is in static memory and pinned there; a static is never dropped.
static SPAWN_CLASS: LockClassKey = unsafe { LockClassKey::new_static() };

impl Queue {
    /// Runs `func` once on this queue, as [`Queue::try_spawn`] does, with one lock class and
    /// name however many modules call it.
    pub fn spawn<T: 'static + Send + FnOnce()>(
        &self,
        flags: Flags,
        func: T,
    ) -> Result<(), AllocError> {
        let init = pin_init!(ClosureWork {
            work <- Work::new(SPAWN_NAME, Pin::static_ref(&SPAWN_CLASS)),
            func: Some(func),
        });
        self.enqueue(KBox::pin_init(init, flags).map_err(|_| AllocError)?);
        Ok(())
    }
}
