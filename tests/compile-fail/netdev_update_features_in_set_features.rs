// SPDX-License-Identifier: GPL-2.0
//! `Device::update_features` from `ndo_set_features`: `netdev_update_features()` would call
//! `ndo_set_features` again, without end. `set_features` gets an `Rtnl`, `update_features`
//! needs an `RtnlOuter`; `Registration::open`/`close`/`set_wanted_features` too.

use kernel::{
    netdev::{
        self,
        skb::Skb,
        Device,
        Features,
        Registration,
        Rtnl,
        TxResult, //
    },
    prelude::*,
};

/// What `module!` defines in a driver crate, for `#[vtable]`.
pub struct LocalModule;

impl kernel::ModuleMetadata for LocalModule {
    const NAME: &'static kernel::str::CStr = c"compile_fail";

    // SAFETY: Only compiled, never loaded: nothing uses the module pointer.
    const THIS_MODULE: kernel::ThisModule =
        unsafe { kernel::ThisModule::from_ptr(core::ptr::null_mut()) };
}

/// A driver.
pub struct D;

#[vtable]
impl netdev::Driver for D {
    type Data = ();

    fn open(_dev: &Device<Self>, _rtnl: &Rtnl) -> Result {
        Ok(())
    }

    fn stop(_dev: &Device<Self>, _rtnl: &Rtnl) -> Result {
        Ok(())
    }

    fn start_xmit(_dev: &Device<Self>, _skb: Skb) -> TxResult {
        TxResult::Consumed
    }

    fn set_features(dev: &Device<Self>, features: Features, rtnl: &Rtnl) -> Result {
        let _ = (dev, features, rtnl);
        dev.update_features(rtnl); // compile-fail: expected `&RtnlOuter`, found `&Rtnl`
        Ok(())
    }
}

/// Reaching the registration from inside an operation does not help.
pub fn from_inside(reg: &Registration<D>, rtnl: &Rtnl) {
    let _ = (reg, rtnl);
    reg.close(rtnl); // compile-fail: expected `&RtnlOuter`, found `&Rtnl`
    let _ = reg.open(rtnl); // compile-fail: expected `&RtnlOuter`, found `&Rtnl`
    reg.set_wanted_features(Features::RXCSUM, rtnl); // compile-fail: expected `&RtnlOuter`, found `&Rtnl`
}

/// With the lock taken by the caller itself, all of it is allowed.
pub fn from_outside(reg: &Registration<D>) {
    let rtnl = netdev::rtnl_lock();
    reg.update_features(&rtnl);
    reg.set_wanted_features(Features::RXCSUM, &rtnl);
    reg.close(&rtnl);
}
