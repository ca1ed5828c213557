//! Japanese name normalisation for matching local names against master names.
//!
//! Two names that a person would call "the same" should normalise to the same string. Rules, in
//! the order they apply to each character:
//!
//! 1. **Width.** Full-width ASCII (`Ａ１（`) → ASCII; the ideographic space → space; half-width
//!    katakana (`ｶﾞｰｾﾞ`) → full-width, with `ﾞ`/`ﾟ` joined to the kana before them.
//! 2. **Compatibility forms.** Roman numerals `Ⅰ…Ⅻ`/`ⅰ…ⅻ` → `i…xii`; circled digits `①…⑳` →
//!    `1…20`; micro sign `µ` → `μ`; `ℓ` → `l`.
//! 3. **Voiced marks.** A separate `゛`/`゜` (or combining U+3099/U+309A) is joined to the kana
//!    before it (`か゛` → `が`); one that cannot join is dropped.
//! 4. **Case.** Lower case (Latin, Greek: `HbA1c` → `hba1c`, `Β` → `β`).
//! 5. **Kana.** Katakana → hiragana (`カリウム` → `かりうむ`, `ヴ` → `ゔ`); the small `ヵ`/`ヶ`
//!    (as in `1ヶ月`) → `か`.
//! 6. **Dropped.** White space; brackets of every kind (`()（）[]［］{}【】「」『』〔〕〈〉《》<>`,
//!    content kept); long-vowel and dash marks (`ー ｰ - ‐ ‑ ‒ – — ― −`: hospital systems write
//!    `コンピューター`/`コンピュータ`, `Ｂ－１`/`B1` inconsistently); middle dots (`・ ･ ·`);
//!    quotes; the commas `、 ,` and the full stop `。`.
//! 7. **Circles and waves.** `○ ◯ 〇` → `〇`; `〜 ～` → `~`.
//!
//! Every output character is a fixed point of these rules, so `normalize` is idempotent.

/// A voiced-sound mark waiting to join the previous kana.
#[derive(Clone, Copy)]
enum Mark {
    Dakuten,
    Handakuten,
}

const HALF_KATAKANA: &str = "ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン";

/// Normalises a name for matching (see the module doc for the rules).
pub fn normalize(s: &str) -> String {
    let mut out: Vec<char> = Vec::with_capacity(s.len());
    let mut buf = String::new();
    for c in s.chars() {
        buf.clear();
        if let Some(mark) = expand(c, &mut buf) {
            join(&mut out, mark);
            continue;
        }
        for e in buf.chars() {
            if dropped(e) {
                continue;
            }
            for l in e.to_lowercase() {
                if !dropped(l) {
                    out.push(fold(l));
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Step 1-2 for one character: writes its replacement into `buf`, or returns a voiced mark.
fn expand(c: char, buf: &mut String) -> Option<Mark> {
    let u = c as u32;
    match c {
        '\u{3099}' | '\u{309B}' | '\u{FF9E}' => return Some(Mark::Dakuten),
        '\u{309A}' | '\u{309C}' | '\u{FF9F}' => return Some(Mark::Handakuten),
        '\u{FF01}'..='\u{FF5E}' => buf.push(char::from_u32(u - 0xFEE0).unwrap_or(c)),
        '\u{3000}' => buf.push(' '),
        '\u{FF61}' => buf.push('。'),
        '\u{FF62}' => buf.push('「'),
        '\u{FF63}' => buf.push('」'),
        '\u{FF64}' => buf.push('、'),
        '\u{FF65}' => buf.push('・'),
        '\u{FF66}'..='\u{FF9D}' => {
            let k = HALF_KATAKANA.chars().nth((u - 0xFF66) as usize);
            buf.push(k.unwrap_or(c));
        }
        '\u{2160}'..='\u{216B}' | '\u{2170}'..='\u{217B}' => {
            const ROMAN: [&str; 12] = [
                "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii",
            ];
            buf.push_str(ROMAN[((u - 0x2160) % 16) as usize]);
        }
        '\u{2460}'..='\u{2473}' => buf.push_str(&(u - 0x2460 + 1).to_string()),
        'µ' => buf.push('μ'),
        'ℓ' => buf.push('l'),
        _ => buf.push(c),
    }
    None
}

/// Step 3: joins a voiced mark to the last kana (already hiragana), or drops it.
fn join(out: &mut [char], mark: Mark) {
    const DAKUTEN: &str = "かきくけこさしすせそたちつてとはひふへほ";
    const HANDAKUTEN: &str = "はひふへほ";
    let Some(last) = out.last_mut() else { return };
    let joined = match mark {
        Mark::Dakuten if *last == 'う' => Some('ゔ'),
        Mark::Dakuten if DAKUTEN.contains(*last) => char::from_u32(*last as u32 + 1),
        Mark::Handakuten if HANDAKUTEN.contains(*last) => char::from_u32(*last as u32 + 2),
        _ => None,
    };
    if let Some(j) = joined {
        *last = j;
    }
}

/// Step 6: characters that carry no meaning for matching.
fn dropped(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>'
                | '（' | '）' | '［' | '］' | '｛' | '｝' | '【' | '】' | '「' | '」' | '『' | '』'
                | '〔' | '〕' | '〈' | '〉' | '《' | '》' | '〘' | '〙' | '〚' | '〛' | '＜' | '＞'
                | 'ー' | '-' | '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' | '－'
                | '・' | '·' | '•' | '‧'
                | '"' | '\'' | '`' | '‘' | '’' | '“' | '”' | '〝' | '〟'
                | '、' | ',' | '。'
        )
        // Leftover voiced marks and other combining marks of kana.
        || matches!(c, '\u{3099}'..='\u{309C}')
}

/// Steps 5 and 7 for one (lower-cased) character.
fn fold(c: char) -> char {
    match c {
        'ヵ' | 'ヶ' | 'ゕ' | 'ゖ' => 'か',
        'ァ'..='ヴ' | 'ヽ' | 'ヾ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        '○' | '◯' => '〇',
        '〜' => '~',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::normalize as n;
    use proptest::prelude::*;

    #[test]
    fn width_kana_and_voiced_marks() {
        assert_eq!(n("ｶﾘｳﾑ"), "かりうむ");
        assert_eq!(n("カリウム"), "かりうむ");
        assert_eq!(n("ｶﾞﾝﾏ ｸﾞﾛﾌﾞﾘﾝ"), "がんまぐろぶりん");
        assert_eq!(n("ﾊﾟﾗﾁﾌｽ"), "ぱらちふす");
        assert_eq!(n("か゛"), "が");
        assert_eq!(n("ウ\u{3099}ィルス"), "ゔぃるす");
        assert_eq!(n("ｳﾞｨﾙｽ"), "ゔぃるす");
        assert_eq!(n("゛あ"), "あ");
    }

    #[test]
    fn latin_digits_case_and_compatibility_forms() {
        assert_eq!(n("ＨｂＡ１ｃ"), "hba1c");
        assert_eq!(n("HbA1c"), "hba1c");
        assert_eq!(n("Ⅱ型糖尿病"), "ii型糖尿病");
        assert_eq!(n("ⅱ型糖尿病"), "ii型糖尿病");
        assert_eq!(n("第①趾"), "第1趾");
        assert_eq!(n("１１β－水酸化酵素欠損症"), "11β水酸化酵素欠損症");
        assert_eq!(n("µg/dL"), n("μg/dl"));
    }

    #[test]
    fn spaces_brackets_long_vowels_dots_are_dropped() {
        assert_eq!(n("胃炎（急性）"), "胃炎急性");
        assert_eq!(n("胃炎 (急性)"), "胃炎急性");
        assert_eq!(n("【胃炎】「急性」"), "胃炎急性");
        assert_eq!(n("コンピューター"), n("コンピュータ"));
        assert_eq!(n("ｺﾝﾋﾟｭｰﾀｰ"), n("コンピュータ－"));
        assert_eq!(n("非食品・非医薬品"), "非食品非医薬品");
        assert_eq!(n("　胃　炎　"), "胃炎");
    }

    #[test]
    fn circles_small_ke_and_waves() {
        assert_eq!(n("○○病"), "〇〇病");
        assert_eq!(n("◯"), "〇");
        assert_eq!(n("１ヶ月"), "1か月");
        assert_eq!(n("1ヵ月"), "1か月");
        assert_eq!(n("1〜2"), "1~2");
        assert_eq!(n("1～2"), "1~2");
    }

    #[test]
    fn different_names_stay_different() {
        assert_ne!(n("胃炎"), n("胃癌"));
        assert_ne!(n("かき"), n("がき"));
        assert_ne!(n("ハ"), n("パ"));
    }

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(s in "\\PC{0,40}") {
            let once = n(&s);
            prop_assert_eq!(n(&once), once);
        }

        #[test]
        fn idempotent_on_japanese_mixtures(
            s in "[ぁ-ゖァ-ヺｦ-ﾟ゙-゜ー－‐（）【】「」 　Ａ-Ｚａ-ｚ０-９A-Za-z0-9Ⅰ-Ⅻ①-⑳○◯〇・漢字]{0,30}"
        ) {
            let once = n(&s);
            prop_assert_eq!(n(&once), once);
        }
    }
}
