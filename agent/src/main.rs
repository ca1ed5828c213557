//! tsunagi: the hospital edge agent (skeleton; modules are filled in by their owners).

mod build;
mod source;
mod uplink;
mod shutdown;
mod validate;

fn main() {}
