/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The C MANA definitions the wire layout tests check the Rust wire types against (size and
 * every field offset and bit field), and the uverbs ABI that rdma-core's libmana uses.
 * Kbuild runs bindgen over this header for mana_gdma only (gdma/wire_tests/mana_c.rs):
 * nothing MANA-specific goes into the kernel crate's bindings.
 */
#include <net/mana/gdma.h>
#include <net/mana/hw_channel.h>
#include <net/mana/shm_channel.h>
#include <net/mana/mana.h>
#include <uapi/rdma/mana-abi.h>
