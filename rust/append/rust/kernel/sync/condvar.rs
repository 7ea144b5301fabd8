impl CondVar {
    /// Releases the lock and waits for a notification in uninterruptible mode, for at most
    /// `jiffies`.
    ///
    /// Like [`CondVar::wait_interruptible_timeout`], except that signals do not wake the thread:
    /// for waits that must not be abandoned half-way, such as a request a device is already
    /// working on, or teardown from a task that is being killed (whose pending `SIGKILL` would
    /// end an interruptible wait at once). As with [`CondVar::wait`], the thread counts as
    /// blocked, so the timeout should stay well below the hung-task timeout. It may also wake
    /// up spuriously.
    ///
    /// Returns the jiffies left, or 0 if the timeout elapsed.
    #[must_use = "wait_timeout returns 0 when the timeout elapsed, so the caller must check it"]
    pub fn wait_timeout<T: ?Sized, B: Backend>(
        &self,
        guard: &mut Guard<'_, T, B>,
        jiffies: Jiffies,
    ) -> Jiffies {
        let jiffies = jiffies.try_into().unwrap_or(MAX_SCHEDULE_TIMEOUT);
        let left = self.wait_internal(TASK_UNINTERRUPTIBLE, guard, jiffies);
        // `schedule_timeout` returns the (non-negative) jiffies left of what it was given.
        Jiffies::try_from(left).unwrap_or(0)
    }
}
