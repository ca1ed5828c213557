//! Values inside a field: [`Field`] → [`Repetition`] → [`Component`] → [`Subcomponent`].
//!
//! Each is a borrowed slice of the decoded text plus the message's delimiters (`Copy`, no
//! allocation). Splitting happens when asked; `.text()` resolves escapes and borrows when
//! there is none. Absent parts are empty, never errors: `field.component(9)` of a short
//! field is `""`.

use std::borrow::Cow;

use super::escape::{unescape, Delimiters};

/// One field (all its repetitions).
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    pub(super) raw: &'a str,
    pub(super) d: Delimiters,
    pub(super) literal: bool,
}

/// One repetition of a field.
#[derive(Debug, Clone, Copy)]
pub struct Repetition<'a> {
    raw: &'a str,
    d: Delimiters,
}

/// One component of a repetition.
#[derive(Debug, Clone, Copy)]
pub struct Component<'a> {
    raw: &'a str,
    d: Delimiters,
}

/// One subcomponent of a component.
#[derive(Debug, Clone, Copy)]
pub struct Subcomponent<'a> {
    raw: &'a str,
    d: Delimiters,
}

/// The `n`th (1-based) piece of `raw` split on the ASCII byte `sep`, or "". A plain byte
/// loop: values are short, and this is the parser's hottest path.
pub(super) fn nth(raw: &str, sep: u8, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    let b = raw.as_bytes();
    let mut start = 0;
    let mut k = 1;
    if n > 1 {
        let mut i = 0;
        while i < b.len() {
            if b[i] == sep {
                k += 1;
                if k == n {
                    start = i + 1;
                    break;
                }
            }
            i += 1;
        }
        if k < n {
            return "";
        }
    }
    let mut end = start;
    while end < b.len() && b[end] != sep {
        end += 1;
    }
    // `sep` is ASCII, so both ends are character boundaries.
    raw.get(start..end).unwrap_or("")
}

impl<'a> Field<'a> {
    /// The field as written (escapes not resolved).
    pub fn raw(&self) -> &'a str {
        self.raw
    }
    /// True when the field is absent or empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
    /// The whole field, escapes resolved.
    pub fn text(&self) -> Cow<'a, str> {
        if self.literal {
            Cow::Borrowed(self.raw)
        } else {
            unescape(self.raw, &self.d)
        }
    }
    /// The repetitions (at least one, possibly empty).
    pub fn repetitions(&self) -> impl Iterator<Item = Repetition<'a>> + 'a {
        let d = self.d;
        let literal = self.literal;
        // MSH-1/MSH-2 are never split.
        self.raw
            .split(move |c: char| !literal && c == d.repetition as char)
            .map(move |raw| Repetition { raw, d })
    }
    /// Repetition `n` (1-based); empty when absent.
    pub fn repetition(&self, n: usize) -> Repetition<'a> {
        let raw = if self.literal {
            if n == 1 {
                self.raw
            } else {
                ""
            }
        } else {
            nth(self.raw, self.d.repetition, n)
        };
        Repetition { raw, d: self.d }
    }
    /// Component `n` of the first repetition.
    pub fn component(&self, n: usize) -> Component<'a> {
        if self.literal {
            let raw = if n == 1 { self.raw } else { "" };
            return Component { raw, d: self.d };
        }
        self.repetition(1).component(n)
    }
}

/// `raw`, `is_empty` and `text` (escapes resolved) for the levels below a field, which all hold
/// a raw slice and the delimiters.
macro_rules! text_accessors {
    ($($t:ident: $doc:literal),* $(,)?) => {$(
        impl<'a> $t<'a> {
            /// As written.
            pub fn raw(&self) -> &'a str {
                self.raw
            }
            /// True when empty.
            pub fn is_empty(&self) -> bool {
                self.raw.is_empty()
            }
            #[doc = $doc]
            pub fn text(&self) -> Cow<'a, str> {
                unescape(self.raw, &self.d)
            }
        }
    )*};
}

text_accessors!(
    Repetition: "Escapes resolved (components still joined by their separator).",
    Component: "Escapes resolved (subcomponents still joined by their separator).",
    Subcomponent: "Escapes resolved.",
);

impl<'a> Repetition<'a> {
    /// Component `n` (1-based); empty when absent.
    pub fn component(&self, n: usize) -> Component<'a> {
        Component {
            raw: nth(self.raw, self.d.component, n),
            d: self.d,
        }
    }
    /// All components.
    pub fn components(&self) -> impl Iterator<Item = Component<'a>> + 'a {
        let d = self.d;
        self.raw
            .split(d.component as char)
            .map(move |raw| Component { raw, d })
    }
}

impl<'a> Component<'a> {
    /// Subcomponent `n` (1-based); empty when absent.
    pub fn subcomponent(&self, n: usize) -> Subcomponent<'a> {
        Subcomponent {
            raw: nth(self.raw, self.d.subcomponent, n),
            d: self.d,
        }
    }
    /// All subcomponents.
    pub fn subcomponents(&self) -> impl Iterator<Item = Subcomponent<'a>> + 'a {
        let d = self.d;
        self.raw
            .split(d.subcomponent as char)
            .map(move |raw| Subcomponent { raw, d })
    }
}
