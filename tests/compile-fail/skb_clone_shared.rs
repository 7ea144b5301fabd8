// SPDX-License-Identifier: GPL-2.0
//! `skb_clone()` writes its source (the cloned bit, the fast-clone reference count): cloning
//! through a shared reference would let two threads clone one buffer at once.

use kernel::{
    netdev::skb::Skb,
    prelude::*, //
};

/// Clones a buffer the caller may share with other threads.
pub fn clone_shared(skb: &Skb) -> Result<Skb> {
    let _ = skb;
    let _ = skb.try_clone(GFP_ATOMIC); // compile-fail: cannot borrow `*skb` as mutable
    Err(EINVAL)
}

/// Clones an exclusively borrowed buffer: fine.
pub fn clone_exclusive(skb: &mut Skb) -> Result<Skb> {
    skb.try_clone(GFP_ATOMIC)
}
