//! The `/metrics` text (Prometheus exposition format, as `crate::ops` writes it) turned into OTLP
//! metrics, so the push carries exactly the series a scrape would: a `counter` becomes a
//! cumulative monotonic `Sum` (started when the agent started), a `gauge` a `Gauge`; labels
//! become data point attributes and `# HELP` the description.

use tsunagi_opamp::otlp::{metric, AggregationTemporality, Gauge, Metric, NumberDataPoint, Sum};
use tsunagi_opamp::proto::KeyValue;

/// Every family of `text` as an OTLP metric, in order, with points stamped `now_ns` (sums start
/// at `start_ns`). Lines that are not well-formed samples are skipped.
pub fn metrics(text: &str, start_ns: u64, now_ns: u64) -> Vec<Metric> {
    let mut out: Vec<Metric> = Vec::new();
    let mut help: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = rest
                .split_once(' ')
                .map(|(n, h)| (n.to_string(), h.to_string()));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let Some((name, kind)) = rest.split_once(' ') else {
                continue;
            };
            let description = match &help {
                Some((n, h)) if n == name => h.clone(),
                _ => String::new(),
            };
            out.push(family(name, &description, kind.trim()));
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let Some((name, attributes, value)) = sample(line) else {
                continue;
            };
            let point = NumberDataPoint {
                attributes,
                start_time_unix_nano: start_ns,
                time_unix_nano: now_ns,
                value: Some(tsunagi_opamp::otlp::number_data_point::Value::AsDouble(
                    value,
                )),
                flags: 0,
            };
            if let Some(m) = out.iter_mut().rev().find(|m| m.name == name) {
                push(m, point);
            }
        }
    }
    out
}

fn family(name: &str, description: &str, kind: &str) -> Metric {
    let data = if kind == "counter" {
        metric::Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })
    } else {
        metric::Data::Gauge(Gauge {
            data_points: Vec::new(),
        })
    };
    Metric {
        name: name.to_string(),
        description: description.to_string(),
        unit: String::new(),
        data: Some(data),
    }
}

/// Adds a point to its family; a gauge's point has no start time.
fn push(m: &mut Metric, mut point: NumberDataPoint) {
    match &mut m.data {
        Some(metric::Data::Sum(s)) => s.data_points.push(point),
        Some(metric::Data::Gauge(g)) => {
            point.start_time_unix_nano = 0;
            g.data_points.push(point)
        }
        None => {}
    }
}

/// `name{k="v",…} value` → (name, attributes, value).
fn sample(line: &str) -> Option<(String, Vec<KeyValue>, f64)> {
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let Some((name, labels)) = head.split_once('{') else {
        return Some((head.to_string(), Vec::new(), value));
    };
    let labels = labels.strip_suffix('}')?;
    Some((name.to_string(), label_pairs(labels)?, value))
}

/// `k="v",k2="v\"2"` → attributes (the exposition format's escapes undone).
fn label_pairs(text: &str) -> Option<Vec<KeyValue>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        out.push(tsunagi_opamp::kv_str(key.trim_start_matches(','), value));
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP tsunagi_inputs_total Inputs stored.\n# TYPE tsunagi_inputs_total counter\ntsunagi_inputs_total{source=\"ehr\",kind=\"a\\\"b\"} 12\ntsunagi_inputs_total{source=\"mllp\"} 3\n# TYPE tsunagi_outbox_items gauge\ntsunagi_outbox_items 7.5\nnot a sample\n";

    #[test]
    fn counters_become_cumulative_sums_and_gauges_gauges_with_their_labels() {
        let m = metrics(TEXT, 10, 20);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, "tsunagi_inputs_total");
        assert_eq!(m[0].description, "Inputs stored.");
        let Some(metric::Data::Sum(sum)) = &m[0].data else {
            panic!("a counter is a sum")
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        assert_eq!(sum.data_points.len(), 2);
        let p = &sum.data_points[0];
        assert_eq!((p.start_time_unix_nano, p.time_unix_nano), (10, 20));
        let attrs: Vec<(String, Option<String>)> = p
            .attributes
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    tsunagi_opamp::attr_text(std::slice::from_ref(kv), &kv.key),
                )
            })
            .collect();
        assert_eq!(attrs[0], ("source".into(), Some("ehr".into())));
        assert_eq!(attrs[1], ("kind".into(), Some("a\"b".into())));
        let Some(metric::Data::Gauge(g)) = &m[1].data else {
            panic!("a gauge is a gauge")
        };
        assert_eq!(
            g.data_points[0].value,
            Some(tsunagi_opamp::otlp::number_data_point::Value::AsDouble(7.5))
        );
        assert_eq!(g.data_points[0].start_time_unix_nano, 0);
    }

    #[test]
    fn the_agents_own_exposition_converts_every_family() {
        // Every `# TYPE` line of a real render is one metric, each with at least one point.
        let dir = tempfile::tempdir().unwrap();
        let ops = crate::ops::OpsState {
            data_dir: dir.path().to_path_buf(),
            readiness: crate::ops::Readiness::new(),
            counters: crate::ops::Counters::new(),
        };
        let text = crate::ops::exposition(&ops);
        let families = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
        let m = metrics(&text, 1, 2);
        assert_eq!(m.len(), families);
        assert!(families > 10, "{families}");
    }
}
