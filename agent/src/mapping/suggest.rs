//! Suggestions: for each local code with no mapping, the master entries whose names look most
//! like its local name, so hospital staff pick instead of search.
//!
//! Similarity works on [`normalize`]d names. Each name becomes its set of character bigrams
//! (with start/end markers, so one-character names like `K` still have grams) and trigrams.
//! Score = 0.5 × Dice(bigrams) + 0.5 × Dice(trigrams), plus 0.1 × (shorter/longer length) when
//! one name contains the other, capped at 0.99; an identical normalised name scores 1.0. For
//! labs, a unit and a specimen that agree with the candidate's hints add 0.05 each, and ones that
//! disagree take 0.05 each (the name part is scaled by 0.9 so the total stays within 0..1).
//!
//! Speed: an inverted index from bigram to candidates finds, per query, only candidates sharing
//! a bigram and counts the shared ones (bigram Dice); only the best few dozen by that count are
//! scored in full. 30,000 candidates × hundreds of codes take well under a second.

use std::collections::HashMap;

use super::normalize::normalize;
use crate::map::catalog::{Candidate, MasterCatalog};
use crate::map::category::Category;

/// A local code that the pipeline could not map, with how many stored records carry it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnmappedCode {
    /// Category.
    pub category: Option<Category>,
    /// The sending system.
    pub source_system: String,
    /// The code system as received.
    pub local_system: String,
    /// The code.
    pub local_code: String,
    /// The local name.
    pub local_name: String,
    /// Result unit (labs).
    pub unit: Option<String>,
    /// Specimen (labs).
    pub specimen: Option<String>,
    /// Records affected.
    pub records: u64,
}

/// Where unmapped codes come from (the store, implemented by the integrator).
pub trait UnmappedSource {
    /// Every distinct unmapped code, with its record count.
    fn unmapped(&self) -> Vec<UnmappedCode>;
}

/// One proposed standard code.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// System URI.
    pub system: String,
    /// Code.
    pub code: String,
    /// Master name.
    pub name: String,
    /// 0..=1, higher is more alike.
    pub score: f64,
}

/// The best candidates for one unmapped code.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The code.
    pub unmapped: UnmappedCode,
    /// Best first, at most `top_k`.
    pub candidates: Vec<Scored>,
}

/// Suggests up to `top_k` candidates per code; suggestions come largest `records` first.
/// Codes without a category get no candidates.
pub fn suggest(
    unmapped: &[UnmappedCode],
    catalog: &dyn MasterCatalog,
    top_k: usize,
) -> Vec<Suggestion> {
    let mut indexes: HashMap<Category, CandidateIndex> = HashMap::new();
    let mut out: Vec<Suggestion> = unmapped
        .iter()
        .map(|u| {
            let candidates = match u.category {
                Some(c) => indexes
                    .entry(c)
                    .or_insert_with(|| {
                        CandidateIndex::new(catalog.candidates(c), c == Category::Lab)
                    })
                    .search(
                        &u.local_name,
                        u.unit.as_deref(),
                        u.specimen.as_deref(),
                        top_k,
                    ),
                None => Vec::new(),
            };
            Suggestion {
                unmapped: u.clone(),
                candidates,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.unmapped
            .records
            .cmp(&a.unmapped.records)
            .then_with(|| a.unmapped.category.cmp(&b.unmapped.category))
            .then_with(|| a.unmapped.local_code.cmp(&b.unmapped.local_code))
    });
    out
}

struct Entry {
    candidate: Candidate,
    norm: String,
    len: usize,
    bigrams: Vec<u64>,
    trigrams: Vec<u64>,
    unit: Option<String>,
    specimen: Option<String>,
}

/// Candidates of one category, indexed by bigram.
pub struct CandidateIndex {
    entries: Vec<Entry>,
    postings: HashMap<u64, Vec<u32>>,
    lab: bool,
}

const START: char = '\u{2}';
const END: char = '\u{3}';

fn grams(norm: &str) -> (Vec<u64>, Vec<u64>) {
    let mut chars: Vec<char> = Vec::with_capacity(norm.len() + 2);
    chars.push(START);
    chars.extend(norm.chars());
    chars.push(END);
    let mut bi: Vec<u64> = chars
        .windows(2)
        .map(|w| (w[0] as u64) << 21 | w[1] as u64)
        .collect();
    let mut tri: Vec<u64> = chars
        .windows(3)
        .map(|w| (w[0] as u64) << 42 | (w[1] as u64) << 21 | w[2] as u64)
        .collect();
    bi.sort_unstable();
    bi.dedup();
    tri.sort_unstable();
    tri.dedup();
    (bi, tri)
}

fn shared(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

fn dice(shared: usize, a: usize, b: usize) -> f64 {
    if a + b == 0 {
        0.0
    } else {
        2.0 * shared as f64 / (a + b) as f64
    }
}

/// +1 when both sides know the value and agree, -1 when they disagree, 0 otherwise.
fn agreement(local: Option<&str>, hint: Option<&str>) -> f64 {
    match (local.map(normalize), hint) {
        (Some(l), Some(h)) if !l.is_empty() && !h.is_empty() => {
            if l == h || l.contains(h) || h.contains(&l) {
                1.0
            } else {
                -1.0
            }
        }
        _ => 0.0,
    }
}

impl CandidateIndex {
    /// Indexes candidates; `lab` turns on the unit/specimen adjustment.
    pub fn new(candidates: Vec<Candidate>, lab: bool) -> Self {
        let mut entries = Vec::with_capacity(candidates.len());
        let mut postings: HashMap<u64, Vec<u32>> = HashMap::new();
        for candidate in candidates {
            let norm = normalize(&candidate.name);
            if norm.is_empty() || entries.len() >= u32::MAX as usize {
                continue;
            }
            let (bigrams, trigrams) = grams(&norm);
            let id = entries.len() as u32;
            for g in &bigrams {
                postings.entry(*g).or_default().push(id);
            }
            entries.push(Entry {
                len: norm.chars().count(),
                unit: candidate.unit.as_deref().map(normalize),
                specimen: candidate.specimen.as_deref().map(normalize),
                candidate,
                norm,
                bigrams,
                trigrams,
            });
        }
        CandidateIndex {
            entries,
            postings,
            lab,
        }
    }

    /// The best `top_k` candidates for a local name.
    pub fn search(
        &self,
        name: &str,
        unit: Option<&str>,
        specimen: Option<&str>,
        top_k: usize,
    ) -> Vec<Scored> {
        let norm = normalize(name);
        if norm.is_empty() || top_k == 0 {
            return Vec::new();
        }
        let (bi, tri) = grams(&norm);
        let len = norm.chars().count();
        // Shared-bigram counts for every candidate that shares at least one.
        let mut counts = vec![0u32; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        for g in &bi {
            if let Some(ids) = self.postings.get(g) {
                for &id in ids {
                    let c = &mut counts[id as usize];
                    if *c == 0 {
                        touched.push(id);
                    }
                    *c += 1;
                }
            }
        }
        let mut rough: Vec<(f64, u32)> = touched
            .into_iter()
            .map(|id| {
                let e = &self.entries[id as usize];
                let n = counts[id as usize] as usize;
                (dice(n, bi.len(), e.bigrams.len()), id)
            })
            .collect();
        let keep = (top_k * 10).max(50);
        if rough.len() > keep {
            rough.select_nth_unstable_by(keep - 1, |a, b| b.0.total_cmp(&a.0));
            rough.truncate(keep);
        }
        let mut scored: Vec<(f64, usize, &Entry)> = rough
            .into_iter()
            .map(|(d2, id)| {
                let e = &self.entries[id as usize];
                let d3 = dice(shared(&tri, &e.trigrams), tri.len(), e.trigrams.len());
                let mut s = 0.5 * d2 + 0.5 * d3;
                if e.norm == norm {
                    s = 1.0;
                } else {
                    if e.norm.contains(&norm) || norm.contains(&e.norm) {
                        s += 0.1 * len.min(e.len) as f64 / len.max(e.len) as f64;
                    }
                    s = s.min(0.99);
                }
                if self.lab {
                    s = 0.9 * s
                        + 0.05 * agreement(unit, e.unit.as_deref())
                        + 0.05 * agreement(specimen, e.specimen.as_deref());
                }
                (s.clamp(0.0, 1.0), len.abs_diff(e.len), e)
            })
            .collect();
        scored.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then_with(|| a.2.candidate.code.cmp(&b.2.candidate.code))
        });
        scored
            .into_iter()
            .take(top_k)
            .map(|(score, _, e)| Scored {
                system: e.candidate.system.clone(),
                code: e.candidate.code.clone(),
                name: e.candidate.name.clone(),
                score: (score * 1000.0).round() / 1000.0,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::catalog::MemoryCatalog;
    use crate::map::category::JLAC10;

    fn cand(code: &str, name: &str, unit: Option<&str>, specimen: Option<&str>) -> Candidate {
        Candidate {
            system: JLAC10.into(),
            code: code.into(),
            name: name.into(),
            unit: unit.map(Into::into),
            specimen: specimen.map(Into::into),
        }
    }

    #[test]
    fn exact_after_normalisation_ranks_first_then_similar_names() {
        let idx = CandidateIndex::new(
            vec![
                cand("1", "急性胃炎", None, None),
                cand("2", "慢性胃炎", None, None),
                cand("3", "胃炎", None, None),
                cand("4", "アレルギー性鼻炎", None, None),
            ],
            false,
        );
        let r = idx.search("胃炎 ", None, None, 3);
        assert_eq!(r[0].code, "3");
        assert_eq!(r[0].score, 1.0);
        assert!(r[1].score < 1.0 && r[1].score > 0.3, "{r:?}");
        assert!(r.iter().all(|s| s.code != "4"));
        let r = idx.search("ｱﾚﾙｷﾞｰ性 鼻炎", None, None, 1);
        assert_eq!(r[0].code, "4");
        assert_eq!(r[0].score, 1.0);
        assert!(idx.search("（）", None, None, 3).is_empty());
    }

    #[test]
    fn lab_unit_and_specimen_break_ties() {
        let idx = CandidateIndex::new(
            vec![
                cand("serum", "カリウム", Some("mmol/L"), Some("血清")),
                cand("urine", "カリウム", Some("mmol/L"), Some("尿")),
            ],
            true,
        );
        let r = idx.search("ｶﾘｳﾑ", Some("mmol/l"), Some("尿"), 2);
        assert_eq!(r[0].code, "urine");
        assert!(r[0].score > r[1].score);
        let r = idx.search("K(カリウム)", None, Some("血清"), 2);
        assert_eq!(r[0].code, "serum");
    }

    #[test]
    fn suggestions_are_sorted_by_records_and_respect_top_k() {
        let mut cat = MemoryCatalog::new();
        for (code, name) in [("1", "胃炎"), ("2", "胃潰瘍"), ("3", "胃癌")] {
            cat.add(Category::Disease, cand(code, name, None, None));
        }
        let u = |code: &str, name: &str, records| UnmappedCode {
            category: Some(Category::Disease),
            source_system: "HIS".into(),
            local_system: "99X".into(),
            local_code: code.into(),
            local_name: name.into(),
            records,
            ..Default::default()
        };
        let s = suggest(&[u("a", "胃潰瘍", 3), u("b", "胃がん", 10)], &cat, 2);
        assert_eq!(s[0].unmapped.local_code, "b");
        assert_eq!(s[1].candidates[0].code, "2");
        assert!(s.iter().all(|s| s.candidates.len() <= 2));
    }
}
