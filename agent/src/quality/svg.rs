//! The report's charts as inline SVG: no scripts, no fonts, no external references.
//!
//! Each function returns one `<svg>` element sized by its `viewBox` (it scales with the page and
//! prints sharply). Colours carry meaning together with a legend and text labels, so the charts
//! still read in black and white. Labels are escaped; they are fixed words and numbers anyway.

use std::fmt::Write as _;

use super::html::esc;
use super::{Bucket, Coded, Daily};

/// Delivered, rejected, held.
pub const GREEN: &str = "#2e7d32";
pub const RED: &str = "#c62828";
pub const AMBER: &str = "#ef8f00";
const GRID: &str = "#c8c8c8";
const INK: &str = "#222";

fn open(out: &mut String, w: u32, h: u32, label: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{l}"><title>{l}</title>"#,
        l = esc(label)
    );
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, size: u32, s: &str) {
    let _ = write!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}" fill="{INK}">{}</text>"#,
        esc(s)
    );
}

fn rect(out: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str) {
    let _ = write!(
        out,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}"/>"#
    );
}

/// A round axis maximum at or above `v` (1, 2, 5 × 10ⁿ).
fn nice_max(v: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= v.max(1) {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// Stacked daily bars: delivered, rejected, held.
pub fn daily_bars(days: &[Daily], legend: [&str; 3], label: &str) -> String {
    let (w, h, left, top, bottom) = (720.0, 240.0, 44.0, 28.0, 36.0);
    let plot_h = h - top - bottom;
    let max = nice_max(
        days.iter()
            .map(|d| d.delivered + d.rejected + d.held)
            .max()
            .unwrap_or(0),
    );
    let mut out = String::new();
    open(&mut out, w as u32, h as u32, label);
    for frac in [0.0, 0.5, 1.0] {
        let y = top + plot_h * (1.0 - frac);
        let _ = write!(
            out,
            r#"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{GRID}" stroke-width="1"/>"#,
            w - 8.0
        );
        text(
            &mut out,
            left - 6.0,
            y + 4.0,
            "end",
            11,
            &format!("{}", (max as f64 * frac).round()),
        );
    }
    let slot = (w - left - 8.0) / days.len().max(1) as f64;
    for (i, d) in days.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.15;
        let mut y = top + plot_h;
        for (v, colour) in [(d.delivered, GREEN), (d.rejected, RED), (d.held, AMBER)] {
            if v > 0 {
                let bh = plot_h * v as f64 / max as f64;
                y -= bh;
                rect(&mut out, x, y, slot * 0.7, bh, colour);
            }
        }
        if i == 0 || (i + 1) % 5 == 0 {
            let day = d.date.get(8..10).unwrap_or("").trim_start_matches('0');
            text(
                &mut out,
                x + slot * 0.35,
                top + plot_h + 14.0,
                "middle",
                11,
                day,
            );
        }
    }
    let mut lx = left;
    for (name, colour) in legend.iter().zip([GREEN, RED, AMBER]) {
        rect(&mut out, lx, 8.0, 12.0, 12.0, colour);
        text(&mut out, lx + 16.0, 18.0, "start", 12, name);
        lx += 24.0 + 14.0 * name.chars().count() as f64;
    }
    out.push_str("</svg>");
    out
}

/// Horizontal bars: coded rate per master, with the counts as text.
pub fn coded_bars(coded: &[Coded], names: &dyn Fn(&str) -> String, label: &str) -> String {
    let (w, row, left) = (720.0, 34.0, 150.0);
    let h = 16.0 + row * coded.len() as f64;
    let plot_w = w - left - 170.0;
    let mut out = String::new();
    open(&mut out, w as u32, h as u32, label);
    for (i, c) in coded.iter().enumerate() {
        let y = 8.0 + row * i as f64;
        text(
            &mut out,
            left - 8.0,
            y + 17.0,
            "end",
            13,
            &names(c.category),
        );
        rect(&mut out, left, y + 4.0, plot_w, 18.0, "#eeeeee");
        if let Some(p) = c.coded_percent {
            rect(
                &mut out,
                left,
                y + 4.0,
                plot_w * p / 100.0,
                18.0,
                light_colour(Some(p), 95.0, 80.0),
            );
        }
        let value = match c.coded_percent {
            Some(p) => format!("{p:.1}% ({}/{})", c.mapped, c.total),
            None => "—".to_owned(),
        };
        text(&mut out, left + plot_w + 8.0, y + 17.0, "start", 13, &value);
    }
    out.push_str("</svg>");
    out
}

/// Vertical bars: the delay histogram.
pub fn histogram(buckets: &[Bucket], names: &dyn Fn(&str) -> String, label: &str) -> String {
    let (w, h, left, top, bottom) = (720.0, 220.0, 44.0, 16.0, 36.0);
    let plot_h = h - top - bottom;
    let max = nice_max(buckets.iter().map(|b| b.count).max().unwrap_or(0));
    let mut out = String::new();
    open(&mut out, w as u32, h as u32, label);
    let _ = write!(
        out,
        r#"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{GRID}" stroke-width="1"/>"#,
        w - 8.0,
        y = top + plot_h
    );
    let slot = (w - left - 8.0) / buckets.len().max(1) as f64;
    for (i, b) in buckets.iter().enumerate() {
        let x = left + slot * i as f64;
        let bh = plot_h * b.count as f64 / max as f64;
        rect(
            &mut out,
            x + slot * 0.2,
            top + plot_h - bh,
            slot * 0.6,
            bh,
            "#1565c0",
        );
        text(
            &mut out,
            x + slot * 0.5,
            top + plot_h - bh - 4.0,
            "middle",
            12,
            &b.count.to_string(),
        );
        text(
            &mut out,
            x + slot * 0.5,
            top + plot_h + 16.0,
            "middle",
            12,
            &names(b.bucket),
        );
    }
    out.push_str("</svg>");
    out
}

/// Green at or above `good`, amber at or above `fair`, red below; grey without a value.
pub fn light_colour(v: Option<f64>, good: f64, fair: f64) -> &'static str {
    match v {
        Some(v) if v >= good => GREEN,
        Some(v) if v >= fair => AMBER,
        Some(_) => RED,
        None => "#9e9e9e",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(51), 100);
    }

    #[test]
    fn bars_scale_to_the_axis() {
        let days = vec![
            Daily {
                date: "2026-04-01".into(),
                delivered: 5,
                ..Daily::default()
            },
            Daily {
                date: "2026-04-02".into(),
                delivered: 1,
                rejected: 1,
                held: 1,
                ..Daily::default()
            },
        ];
        let svg = daily_bars(&days, ["a", "b", "c"], "x");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // The tallest stack fills the plot (240 - 28 - 36 = 176 px).
        assert!(svg.contains(r##"height="176.0" fill="#2e7d32""##), "{svg}");
        assert_eq!(
            svg.matches(&format!("fill=\"{RED}\"")).count(),
            2,
            "one bar and one legend swatch"
        );
    }
}
