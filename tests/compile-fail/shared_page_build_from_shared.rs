// SPDX-License-Identifier: GPL-2.0
//! A socket buffer built on a page hands out `&[u8]` of it: it is built only from a page handle
//! borrowed exclusively (which must also hold the only reference).

use kernel::{
    dma_stream::SharedPage,
    netdev::skb::Skb,
    prelude::*, //
};

/// Through a shared handle.
pub fn shared(page: &SharedPage) -> Result<Skb> {
    let _ = page;
    let _ = Skb::build_from_shared_page(page, 0, 4096, 0, 64)?; // compile-fail: types differ in mutability
    Err(EINVAL)
}

/// Through an exclusive handle: fine (and checked at run time for other holders).
pub fn exclusive(page: &mut SharedPage) -> Result<Skb> {
    Skb::build_from_shared_page(page, 0, 4096, 0, 64)
}
