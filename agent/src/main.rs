//! tsunagi: the hospital edge agent (skeleton; modules are filled in by their owners).

mod build;
mod shutdown;
mod source;
mod store;
mod uplink;
mod validate;

fn main() {}
