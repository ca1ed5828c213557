//! build (placeholder, owned by its stage)
