#[cfg(CONFIG_NET)]
pub mod netdev;
pub mod owned_workqueue;
#[cfg(CONFIG_INFINIBAND)]
pub mod rdma;
pub mod dma_stream;
pub mod ratelimit;
pub mod u64_stats;
