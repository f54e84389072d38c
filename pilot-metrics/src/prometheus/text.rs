//! The Prometheus text exposition format (version 0.0.4).

use std::cmp::Ordering;
use std::fmt::Write as _;

use pilot_core::{MetricBatch, Sample};

use crate::catalog::{MetricKind, describe};

/// Renders batches as Prometheus text: one `# HELP` and `# TYPE` per metric
/// (from [`crate::catalog::METRICS`]; other names are `untyped`), names
/// prefixed with a namespace, the batch's node as the `node` label, no
/// timestamps (the scraper stamps the samples). Keeps its sort buffer
/// between batches.
#[derive(Debug, Clone)]
pub struct TextRenderer {
    namespace: String,
    order: Vec<u32>,
}

impl TextRenderer {
    /// A renderer that prefixes every metric with `namespace` and `_`
    /// (nothing when `namespace` is empty).
    pub fn new(namespace: impl Into<String>) -> Self {
        TextRenderer {
            namespace: namespace.into(),
            order: Vec::new(),
        }
    }

    /// Replaces the content of `out` with the exposition of `batch`.
    pub fn render(&mut self, batch: &MetricBatch, out: &mut String) {
        out.clear();
        let samples = &batch.samples;
        self.order.clear();
        self.order.extend(0..samples.len() as u32);
        // Stable: samples of one metric keep the batch's order.
        self.order
            .sort_by(|a, b| compare_names(&samples[*a as usize].name, &samples[*b as usize].name));
        let mut previous: Option<&str> = None;
        for &i in &self.order {
            let sample = &samples[i as usize];
            if previous.is_none_or(|p| compare_names(p, &sample.name) != Ordering::Equal) {
                self.write_header(&sample.name, out);
                previous = Some(&sample.name);
            }
            self.write_sample(sample, &batch.node, out);
        }
    }

    fn write_name(&self, name: &str, out: &mut String) {
        if !self.namespace.is_empty() {
            push_sanitized(&self.namespace, true, out);
            out.push('_');
        }
        push_sanitized(name, self.namespace.is_empty(), out);
    }

    fn write_header(&self, name: &str, out: &mut String) {
        let desc = describe(name);
        if let Some(desc) = desc {
            out.push_str("# HELP ");
            self.write_name(name, out);
            out.push(' ');
            for c in desc.help.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('\n');
        }
        out.push_str("# TYPE ");
        self.write_name(name, out);
        out.push(' ');
        out.push_str(desc.map_or("untyped", |d| MetricKind::as_str(d.kind)));
        out.push('\n');
    }

    fn write_sample(&self, sample: &Sample, node: &str, out: &mut String) {
        self.write_name(&sample.name, out);
        let with_node = !node.is_empty() && !sample.labels.contains_key("node");
        if with_node || !sample.labels.is_empty() {
            out.push('{');
            let mut first = true;
            let node_label = with_node.then_some(("node", node));
            let labels = sample.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            for (key, value) in node_label.into_iter().chain(labels) {
                if !first {
                    out.push(',');
                }
                first = false;
                push_label_name(key, out);
                out.push_str("=\"");
                for c in value.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            out.push('}');
        }
        out.push(' ');
        push_value(sample.value, out);
        out.push('\n');
    }
}

/// Renders `batch` with namespace `namespace` into a new string.
pub fn render_text(batch: &MetricBatch, namespace: &str) -> String {
    let mut out = String::new();
    TextRenderer::new(namespace).render(batch, &mut out);
    out
}

/// Metric names compare as their sanitized forms, so names that sanitize to
/// the same text form one group.
fn compare_names(a: &str, b: &str) -> Ordering {
    a.chars()
        .map(sanitize_char)
        .cmp(b.chars().map(sanitize_char))
}

fn sanitize_char(c: char) -> char {
    if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
        c
    } else {
        '_'
    }
}

fn push_sanitized(name: &str, leading: bool, out: &mut String) {
    if leading && !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':') {
        out.push('_');
    }
    out.extend(name.chars().map(sanitize_char));
}

fn push_label_name(name: &str, out: &mut String) {
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.push('_');
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
}

fn push_value(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        // Writing to a String cannot fail.
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> Sample {
        Sample {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            timestamp_ms: 1,
            value,
        }
    }

    #[test]
    fn groups_metrics_with_help_and_type() {
        let batch = MetricBatch {
            node: "web-1".into(),
            samples: vec![
                sample("network_receive_bytes_total", &[("interface", "lo")], 10.0),
                sample("load1", &[], 0.5),
                sample(
                    "network_receive_bytes_total",
                    &[("interface", "eth0")],
                    20.0,
                ),
            ],
        };
        let text = render_text(&batch, "pilot");
        let expected = "# HELP pilot_load1 Load average over one minute.\n\
# TYPE pilot_load1 gauge\n\
pilot_load1{node=\"web-1\"} 0.5\n\
# HELP pilot_network_receive_bytes_total Bytes received, by interface.\n\
# TYPE pilot_network_receive_bytes_total counter\n\
pilot_network_receive_bytes_total{node=\"web-1\",interface=\"lo\"} 10\n\
pilot_network_receive_bytes_total{node=\"web-1\",interface=\"eth0\"} 20\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn escapes_and_sanitizes() {
        let batch = MetricBatch {
            node: String::new(),
            samples: vec![
                sample(
                    "my.metric",
                    &[("mount-point", "/a \"b\"\\\n"), ("node", "x")],
                    f64::NAN,
                ),
                sample("my_metric", &[], f64::INFINITY),
                sample("9lives", &[], f64::NEG_INFINITY),
            ],
        };
        let text = render_text(&batch, "");
        assert_eq!(
            text,
            "# TYPE _9lives untyped\n_9lives -Inf\n\
# TYPE my_metric untyped\nmy_metric{mount_point=\"/a \\\"b\\\"\\\\\\n\",node=\"x\"} NaN\nmy_metric +Inf\n"
        );
    }

    #[test]
    fn renderer_replaces_previous_output() {
        let mut renderer = TextRenderer::new("pilot");
        let mut out = String::from("old");
        renderer.render(&MetricBatch::default(), &mut out);
        assert_eq!(out, "");
    }
}
