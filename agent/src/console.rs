//! What the commands write to the terminal.
//!
//! `tsunagi … | head` closes the pipe early: `println!` would panic on the next write, so the
//! commands print with [`outln!`], which returns the error, and `main` takes a BrokenPipe as
//! success. Its own module, below both `cli` and `demo`.

/// `println!` that returns the write's `io::Result` instead of panicking when stdout is gone.
macro_rules! outln {
    () => {
        ::std::io::Write::write_all(&mut ::std::io::stdout().lock(), b"\n")
    };
    ($($arg:tt)*) => {
        ::std::io::Write::write_fmt(
            &mut ::std::io::stdout().lock(),
            format_args!("{}\n", format_args!($($arg)*)),
        )
    };
}
pub(crate) use outln;
