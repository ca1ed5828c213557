//! Test support: spelling variants of a master name, as hospital systems write them (half-width
//! katakana, hiragana/katakana swapped, spaces, full-/half-width digits and Latin, other
//! brackets, long-vowel marks). Used to build accuracy test sets where the right code is known.

use rand::rngs::StdRng;
use rand::Rng;

const FULL: &str = "ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン";
const HALF: &str = "ｦｧｨｩｪｫｬｭｮｯｰｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝ";

/// Full-width katakana (and hiragana) → half-width katakana, voiced kana split into kana + ﾞ/ﾟ.
pub fn to_half_katakana(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let k = to_katakana_char(c);
        let (base, mark) = devoice(k);
        match FULL.chars().position(|f| f == base) {
            Some(i) => {
                out.push(HALF.chars().nth(i).unwrap_or(base));
                if let Some(m) = mark {
                    out.push(m);
                }
            }
            None => out.push(k),
        }
    }
    out
}

fn devoice(c: char) -> (char, Option<char>) {
    const VOICED: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボ";
    const SEMI: &str = "パピプペポ";
    if c == 'ヴ' {
        ('ウ', Some('ﾞ'))
    } else if VOICED.contains(c) {
        (char::from_u32(c as u32 - 1).unwrap_or(c), Some('ﾞ'))
    } else if SEMI.contains(c) {
        (char::from_u32(c as u32 - 2).unwrap_or(c), Some('ﾟ'))
    } else {
        (c, None)
    }
}

fn to_katakana_char(c: char) -> char {
    match c {
        'ぁ'..='ゔ' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        _ => c,
    }
}

/// Hiragana ↔ katakana.
pub fn swap_kana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ぁ'..='ゔ' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
            'ァ'..='ヴ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Full-width ASCII ↔ ASCII (digits, Latin, symbols).
pub fn swap_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Removes spaces, or inserts half/full-width spaces at random positions.
pub fn respace(s: &str, rng: &mut StdRng) -> String {
    if s.contains([' ', '　']) {
        return s.chars().filter(|c| !matches!(c, ' ' | '　')).collect();
    }
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && rng.random_bool(0.15) {
            out.push(if rng.random_bool(0.5) { ' ' } else { '　' });
        }
        out.push(c);
    }
    out
}

/// Replaces brackets with other kinds (or removes them).
pub fn rebracket(s: &str, rng: &mut StdRng) -> String {
    const PAIRS: [(char, char); 5] = [
        ('(', ')'),
        ('（', '）'),
        ('［', '］'),
        ('【', '】'),
        ('「', '」'),
    ];
    let (open, close) = PAIRS[rng.random_range(0..PAIRS.len())];
    let drop = rng.random_bool(0.3);
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '(' | '（' | '[' | '［' | '【' | '「' | '〔' | '<' | '＜' => {
                if !drop {
                    out.push(open)
                }
            }
            ')' | '）' | ']' | '］' | '】' | '」' | '〕' | '>' | '＞' => {
                if !drop {
                    out.push(close)
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Rewrites long-vowel and dash marks (ー － ‐ ｰ or nothing).
pub fn relong(s: &str, rng: &mut StdRng) -> String {
    const FORMS: [&str; 5] = ["ー", "－", "‐", "ｰ", ""];
    let form = FORMS[rng.random_range(0..FORMS.len())];
    let mut out = String::new();
    for c in s.chars() {
        if matches!(c, 'ー' | '－' | '‐' | 'ｰ' | '-' | '―' | '−') {
            out.push_str(form);
        } else {
            out.push(c);
        }
    }
    out
}

/// A random mix of the variations above; at least one is applied, and the result differs from
/// the input when any applicable variation exists.
pub fn variant(name: &str, rng: &mut StdRng) -> String {
    for _ in 0..8 {
        let mut s = name.to_string();
        if rng.random_bool(0.4) {
            s = swap_kana(&s);
        }
        if rng.random_bool(0.4) {
            s = to_half_katakana(&s);
        }
        if rng.random_bool(0.5) {
            s = swap_width(&s);
        }
        if rng.random_bool(0.5) {
            s = respace(&s, rng);
        }
        if rng.random_bool(0.5) {
            s = rebracket(&s, rng);
        }
        if rng.random_bool(0.5) {
            s = relong(&s, rng);
        }
        if s != name {
            return s;
        }
    }
    respace(name, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn generators_do_what_they_say() {
        assert_eq!(to_half_katakana("ガンマグロブリン"), "ｶﾞﾝﾏｸﾞﾛﾌﾞﾘﾝ");
        assert_eq!(to_half_katakana("ぱん"), "ﾊﾟﾝ");
        assert_eq!(swap_kana("カリウムと"), "かりうむト");
        assert_eq!(swap_width("１１β－Ab1"), "11β-Ａｂ１");
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(respace("胃 炎", &mut rng), "胃炎");
        let v = variant("カリウム", &mut rng);
        assert_ne!(v, "カリウム");
    }
}
