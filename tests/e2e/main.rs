//! End-to-end tests: see util.rs.
