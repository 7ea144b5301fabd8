#include "netdev.c"
#include "rdma.c"
#include "dma_stream.c"
#include "xdp.c"
