// SPDX-License-Identifier: GPL-2.0
//! `Device::close` from `ndo_stop`: the device is still `IFF_UP` and on the core's close list,
//! so `dev_close()` would put it on a second list and stop it twice. `stop` gets an `Rtnl`,
//! `close` needs an `RtnlOuter`.

use kernel::{
    netdev::{
        self,
        skb::Skb,
        Device,
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

    fn stop(dev: &Device<Self>, rtnl: &Rtnl) -> Result {
        let _ = (dev, rtnl);
        dev.close(rtnl); // compile-fail: expected `&RtnlOuter`, found `&Rtnl`
        Ok(())
    }

    fn start_xmit(_dev: &Device<Self>, _skb: Skb) -> TxResult {
        TxResult::Consumed
    }

    fn rtnl_work(dev: &Device<Self>, rtnl: &netdev::RtnlOuter) {
        // Outside of any device operation, closing is fine.
        dev.close(rtnl);
    }
}
