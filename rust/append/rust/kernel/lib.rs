#[cfg(CONFIG_NET)]
pub mod netdev;
#[cfg(CONFIG_INFINIBAND)]
pub mod rdma;
pub mod dma_stream;
