//! source (placeholder, owned by its stage)
