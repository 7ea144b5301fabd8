// SPDX-License-Identifier: GPL-2.0
//! A `Registration` borrows its parent, bound, as `drm::Registration` does: it cannot be kept
//! beyond the binding (here, in a `'static` place), so the interface is unregistered at the
//! latest when the parent's driver unbinds. What must outlive it keeps a `DeviceHandle`.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    netdev::{
        DeviceHandle,
        Driver,
        Registration,
        UnregisteredDevice, //
    },
    prelude::*,
};

/// Registers `dev` under `parent` and tries to keep the registration for good.
pub fn keep<T: Driver>(
    parent: &Device<Bound>,
    dev: UnregisteredDevice<T>,
    handle: &mut Option<DeviceHandle<T>>,
    slot: &mut Option<Registration<'static, T>>,
) -> Result {
    if slot.is_some() {
        return Err(EBUSY);
    }
    let reg = Registration::new(parent, dev)?;
    // A handle may be kept.
    *handle = Some(reg.handle());
    *slot = Some(reg); // compile-fail: borrowed data escapes outside of function
    Ok(())
}
