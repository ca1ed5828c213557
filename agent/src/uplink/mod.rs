//! uplink (placeholder, owned by its stage)
