//! Relatives of Mamba's selective SSM. [`ssd`]: the SSD head of Mamba-2 (T8–T13);
//! [`golden`]: golden cases of the gated linear family from independent implementations.

pub mod golden;
pub mod linear;
pub mod ssd;
