// SPDX-License-Identifier: GPL-2.0
//! A `Registration` borrows its parent, bound, as `drm::Registration` does: it cannot be kept
//! beyond the binding (here, in a `'static` place), so the RDMA device is unregistered at the
//! latest when the parent's driver unbinds.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    prelude::*,
    rdma::{
        Driver,
        Registration,
        UnregisteredDevice, //
    },
};

/// Registers `dev` under `parent` and tries to keep the registration for good.
pub fn keep<T: Driver>(
    parent: &Device<Bound>,
    dev: UnregisteredDevice<T>,
    slot: &mut Option<Registration<'static, T>>,
) -> Result {
    if slot.is_some() {
        return Err(EBUSY);
    }
    let reg = Registration::new(parent, dev, c"rust_rdma_%d", None)?;
    let _ = reg.phys_port_cnt();
    *slot = Some(reg); // compile-fail: borrowed data escapes outside of function
    Ok(())
}
