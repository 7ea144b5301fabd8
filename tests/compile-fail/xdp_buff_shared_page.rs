// SPDX-License-Identifier: GPL-2.0
//! An XDP program writes the frame's page: it runs only over the CPU's exclusive access to the
//! bytes (a `CpuPage`, from a mapping the CPU owns), never over a shared page handle, which a
//! device model or another thread could be using at the same time.

use kernel::{
    dma_stream::{
        SharedPage,
        StreamMapping, //
    },
    netdev::xdp::{
        Buff,
        RxQueueInfo, //
    },
    prelude::*,
};

/// Over a shared page handle.
pub fn over_shared(rxq: &RxQueueInfo, page: &SharedPage) -> Result {
    let _ = (rxq, page);
    let _ = Buff::new(rxq, page, 4096, 256, 64)?; // compile-fail: mismatched types
    Ok(())
}

/// Over the CPU's access to a mapping: fine (`EBUSY` at run time while the device owns it).
pub fn over_cpu_page(rxq: &RxQueueInfo, map: &mut StreamMapping) -> Result {
    let mut cpu = map.cpu_page()?;
    let buff = Buff::new(rxq, &mut cpu, 4096, 256, 64)?;
    drop(buff);
    Ok(())
}
