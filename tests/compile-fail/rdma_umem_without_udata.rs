// SPDX-License-Identifier: GPL-2.0
//! `ib_umem_get()` pins `current->mm`: a `Umem` is made only for the process of a uverbs
//! command, proven by its `UData`.

use kernel::{
    prelude::*,
    rdma::{
        udata::UData,
        umem::Umem,
        Device,
        Driver, //
    },
};

/// Pins user memory.
pub fn pin<T: Driver>(dev: &Device<T>, udata: &UData, addr: u64) -> Result<Umem> {
    let _ = udata;
    let _ = Umem::get(dev, addr, 4096, 0)?; // compile-fail: this function takes 5 arguments but 4 arguments were supplied
    Umem::get(dev, udata, addr, 4096, 0)
}
