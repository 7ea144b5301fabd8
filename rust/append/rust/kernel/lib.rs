#[cfg(CONFIG_NET)]
pub mod netdev;
