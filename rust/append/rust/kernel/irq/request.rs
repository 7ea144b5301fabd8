impl<T: Handler> Registration<'_, T> {
    /// Delivers the interrupt to the CPUs of `mask` (`irq_set_affinity()`), as a network driver
    /// spreads its queue vectors over the CPUs. The kernel copies the mask. Fails (the
    /// interrupt keeps its affinity) if no CPU of `mask` is online or the interrupt cannot be
    /// moved.
    pub fn set_affinity(&self, mask: &crate::cpumask::Cpumask) -> Result {
        // SAFETY: `self.request.irq` is the number of an interrupt this registration requested
        // and frees only when it is dropped (type invariant), so it is valid here; `mask` points
        // to a valid cpumask for the duration of the call, and `irq_set_affinity()` copies it
        // rather than keeping the pointer.
        to_result(unsafe { bindings::irq_set_affinity(self.request.irq, mask.as_raw()) })
    }
}

impl<T: ThreadedHandler> ThreadedRegistration<'_, T> {
    /// Delivers the interrupt to the CPUs of `mask`: as [`Registration::set_affinity`].
    pub fn set_affinity(&self, mask: &crate::cpumask::Cpumask) -> Result {
        // SAFETY: As in `Registration::set_affinity`: the interrupt is requested and not yet
        // freed (type invariant), and the mask is valid for the call, which copies it.
        to_result(unsafe { bindings::irq_set_affinity(self.request.irq, mask.as_raw()) })
    }
}
