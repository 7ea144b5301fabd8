#include <rdma/ib_verbs.h>
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
