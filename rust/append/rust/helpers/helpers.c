#include "netdev.c"
#include "rdma.c"
