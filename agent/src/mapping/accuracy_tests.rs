//! Suggestion accuracy on names whose right code is known: local names are spelling variants
//! ([`super::variants`]) of master names, and the test measures how often the right code is the
//! top suggestion.
//!
//! The default suite uses a synthetic candidate list. With the public masters beside the
//! checkout (`TSUNAGI_SHARED_DIR`, default `../../shared` from the crate), it also runs on the
//! レセ電 disease names (27k) and J-FAGY JPTERM; without them it prints why it skipped.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::normalize::normalize;
use super::suggest::CandidateIndex;
use super::variants::variant;
use crate::map::catalog::Candidate;
use crate::map::category::{Category, DISEASE_RECEIPT, JFAGY_FOOD};

struct Figures {
    cases: usize,
    top1: usize,
    /// Top candidate has another code but the same normalised name (indistinguishable).
    same_name: usize,
    build_ms: u128,
    search_ms: u128,
}

/// How local names are derived from master names.
#[derive(Clone, Copy)]
enum Noise {
    /// Spelling variants only (width, kana, spaces, brackets, long vowels).
    Spelling,
    /// Spelling variants, and one character (not the first) dropped from names of 4 or more.
    SpellingAndTypo,
}

fn derive(name: &str, noise: Noise, rng: &mut StdRng) -> String {
    let v = variant(name, rng);
    match noise {
        Noise::Spelling => v,
        Noise::SpellingAndTypo => {
            let chars: Vec<char> = v.chars().collect();
            if chars.len() < 4 {
                return v;
            }
            let drop = rng.random_range(1..chars.len());
            chars
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop)
                .map(|(_, c)| c)
                .collect()
        }
    }
}

fn measure(candidates: Vec<Candidate>, sample: usize, seed: u64, noise: Noise) -> Figures {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut picks: Vec<Candidate> = candidates.clone();
    picks.shuffle(&mut rng);
    picks.truncate(sample);
    let queries: Vec<(String, Candidate)> = picks
        .into_iter()
        .map(|c| (derive(&c.name, noise, &mut rng), c))
        .collect();
    let start = Instant::now();
    let index = CandidateIndex::new(candidates, false);
    let mut f = Figures {
        cases: queries.len(),
        top1: 0,
        same_name: 0,
        build_ms: start.elapsed().as_millis(),
        search_ms: 0,
    };
    let start = Instant::now();
    for (q, want) in &queries {
        let got = index.search(q, None, None, 5);
        match got.first() {
            Some(top) if top.code == want.code => f.top1 += 1,
            Some(top) if normalize(&top.name) == normalize(&want.name) => f.same_name += 1,
            _ => {}
        }
    }
    f.search_ms = start.elapsed().as_millis();
    f
}

fn report(label: &str, candidates: usize, f: &Figures) -> f64 {
    let pct = 100.0 * f.top1 as f64 / f.cases.max(1) as f64;
    println!(
        "{label}: {} candidates, {} cases: right code first in {} ({pct:.1}%), another code with the \
         same normalised name first in {}; index {} ms, search {} ms ({} build)",
        candidates,
        f.cases,
        f.top1,
        f.same_name,
        f.build_ms,
        f.search_ms,
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    pct
}

#[test]
fn synthetic_names_find_their_code() {
    // Names built from parts, so many share long substrings (as real master names do).
    let heads = [
        "急性",
        "慢性",
        "アレルギー性",
        "ウイルス性",
        "（左）",
        "再発性",
        "",
        "ｽﾃﾛｲﾄﾞ",
    ];
    let bodies = [
        "胃炎",
        "気管支炎",
        "肺炎",
        "ヘルペス",
        "コレステロール血症",
        "インフルエンザ",
        "カリウム",
        "グロブリン",
        "プロテイン",
        "クレアチニン",
        "ビタミンＢ１２欠乏症",
        "２型糖尿病",
    ];
    let tails = [
        "",
        "の疑い",
        "（重症）",
        "・合併症あり",
        "後遺症",
        "［術後］",
    ];
    let mut candidates = Vec::new();
    for h in heads {
        for b in bodies {
            for t in tails {
                candidates.push(Candidate {
                    system: DISEASE_RECEIPT.into(),
                    code: format!("{:07}", candidates.len()),
                    name: format!("{h}{b}{t}"),
                    ..Default::default()
                });
            }
        }
    }
    let n = candidates.len();
    let f = measure(candidates.clone(), 300, 7, Noise::Spelling);
    let pct = report("synthetic", n, &f);
    assert!(pct >= 90.0, "{pct}");
    let f = measure(candidates, 300, 7, Noise::SpellingAndTypo);
    let pct = report("synthetic, one character dropped", n, &f);
    assert!(pct >= 50.0, "{pct}");
}

fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    dir.join("masters").is_dir().then_some(dir)
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap();
    let (records, _) = crate::excel_csv::read(&bytes).unwrap();
    records.into_iter().skip(1).map(|r| r.fields).collect()
}

#[test]
fn public_masters_find_their_code() {
    let Some(dir) = shared_dir() else {
        println!("skipped: public masters not found (set TSUNAGI_SHARED_DIR) / 公開マスターがないため省略");
        return;
    };
    let disease: Vec<Candidate> = read_csv(&dir.join("masters/disease/receipt-disease-names.csv"))
        .into_iter()
        .filter(|r| r.len() >= 2)
        .map(|r| Candidate {
            system: DISEASE_RECEIPT.into(),
            code: r[0].clone(),
            name: r[1].clone(),
            ..Default::default()
        })
        .collect();
    let n = disease.len();
    let f = measure(disease.clone(), 1000, 42, Noise::Spelling);
    let pct_d = report("receipt disease names", n, &f);
    let f = measure(disease, 1000, 42, Noise::SpellingAndTypo);
    report("receipt disease names, one character dropped", n, &f);

    let jfagy: Vec<Candidate> =
        read_csv(&dir.join("masters/jfagy/JFAGY_J9FN_20250401_R01.utf8.csv"))
            .into_iter()
            .filter(|r| r.len() >= 3 && r[1].starts_with('J'))
            .map(|r| Candidate {
                system: JFAGY_FOOD.into(),
                code: r[1].clone(),
                name: r[2].clone(),
                ..Default::default()
            })
            .collect();
    let n = jfagy.len();
    let f = measure(jfagy.clone(), 1000, 42, Noise::Spelling);
    let pct_j = report("J-FAGY JPTERM", n, &f);
    let f = measure(jfagy, 1000, 42, Noise::SpellingAndTypo);
    report("J-FAGY JPTERM, one character dropped", n, &f);
    let _ = Category::Allergen;
    assert!(pct_d >= 90.0 && pct_j >= 90.0, "{pct_d} {pct_j}");
}
