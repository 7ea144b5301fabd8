#include "netdev.c"
