//! placeholder: the canonical clinical model and the Adapter trait.
