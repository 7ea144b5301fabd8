/*
 * mana-rs: the C MANA definitions, so the Rust wire types can be checked against them
 * (size and every field offset), and the uverbs ABI that rdma-core's libmana uses.
 */
#include <net/mana/gdma.h>
#include <net/mana/hw_channel.h>
#include <net/mana/shm_channel.h>
#include <net/mana/mana.h>
#include <rdma/ib_verbs.h>
#include <uapi/rdma/mana-abi.h>
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <net/netdev_queues.h>
#include <net/netdev_rx_queue.h>
#include <net/gro.h>
#include <rdma/ib_umem.h>
#include <rdma/iter.h>
#include <linux/dma-mapping.h>
const gfp_t RUST_CONST_HELPER___GFP_COMP = __GFP_COMP;
#include <linux/bpf.h>
#include <linux/filter.h>
#include <net/xdp.h>
