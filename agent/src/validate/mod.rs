//! validate (placeholder, owned by its stage)
