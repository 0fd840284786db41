//! Figures of a faithfulness report: the rank distribution per method (a heatmap drawn
//! with [`crate::model::heatmap`], SVG or PNG) and the perturbation curves (an SVG line chart,
//! written as plain text: no fonts, no dependencies).

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::faithfulness::FaithfulnessReport;
use crate::model::figure::Figure;
use crate::model::heatmap::{ColorScale, Heatmap};

/// The rank distribution: one row per method, one column per rank `$1..n$` (a fractional
/// rank `$r$` falls in column `$\lceil r\rceil$`), the colour the fraction of sequences.
pub fn rank_distribution(report: &FaithfulnessReport) -> Figure {
    let n = report
        .methods
        .iter()
        .flat_map(|m| m.evidence.ranks.iter())
        .fold(1.0f64, |a, &r| a.max(r.ceil())) as usize;
    let rows = report.methods.len();
    let mut data = vec![0.0; rows * n];
    for (i, m) in report.methods.iter().enumerate() {
        let k = m.evidence.ranks.len().max(1) as f64;
        for &r in &m.evidence.ranks {
            let c = (r.ceil() as usize).clamp(1, n) - 1;
            data[i * n + c] += 1.0 / k;
        }
    }
    Heatmap {
        rows,
        cols: n,
        data,
        title: format!(
            "rank of the evidence position ({} sequences)",
            report.sequences
        ),
        row_labels: report.methods.iter().map(|m| m.method.clone()).collect(),
        col_labels: (1..=n).map(|r| r.to_string()).collect(),
        x_label: "rank (1 = most relevant)".into(),
        y_label: String::new(),
        bar_label: "fraction of sequences".into(),
        scale: ColorScale::FromZero,
        causal: false,
        highlight_row: None,
    }
    .render()
}

const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The perturbation curves as SVG: two panels (most relevant removed first; least
/// relevant first), the mean probability of the right answer against the removed fraction,
/// one line per method (dashed after the tenth colour), the area in the legend.
pub fn perturbation_svg(report: &FaithfulnessReport) -> String {
    let (pw, ph, ml, mt, gap) = (360.0, 260.0, 60.0, 40.0, 70.0);
    let legend_h = 16.0 * report.methods.len() as f64 + 20.0;
    let w = ml + 2.0 * pw + gap + 30.0;
    let h = mt + ph + 50.0 + legend_h;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    for (panel, title) in [
        "most relevant removed first (lower = more faithful)",
        "least relevant removed first (higher = more faithful)",
    ]
    .iter()
    .enumerate()
    {
        let x0 = ml + panel as f64 * (pw + gap);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            x0 + pw / 2.0,
            mt - 14.0,
            esc(title)
        );
        let _ = writeln!(
            s,
            r##"<rect x="{x0}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
        );
        for t in 0..=5 {
            let v = t as f64 / 5.0;
            let (x, y) = (x0 + v * pw, mt + ph - v * ph);
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{v:.1}</text>"##,
                x0 + pw,
                x0 - 6.0,
                y + 4.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{x}" y="{}" text-anchor="middle">{v:.1}</text>"#,
                mt + ph + 16.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">fraction of tokens removed</text>"#,
            x0 + pw / 2.0,
            mt + ph + 34.0
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">p(right answer)</text>"#,
            x0 - 40.0,
            mt + ph / 2.0
        );
        for (k, m) in report.methods.iter().enumerate() {
            let Some(p) = &m.perturbation else { continue };
            let c = if panel == 0 { &p.positive } else { &p.negative };
            let pts: Vec<String> = c
                .fractions
                .iter()
                .zip(&c.prob)
                .map(|(f, v)| format!("{:.1},{:.1}", x0 + f * pw, mt + ph - v.clamp(0.0, 1.0) * ph))
                .collect();
            let dash = if k >= PALETTE.len() {
                r#" stroke-dasharray="5,3""#
            } else {
                ""
            };
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"{dash}/>"#,
                pts.join(" "),
                PALETTE[k % PALETTE.len()]
            );
        }
    }
    let ly = mt + ph + 56.0;
    for (k, m) in report.methods.iter().enumerate() {
        let y = ly + 16.0 * k as f64;
        let dash = if k >= PALETTE.len() {
            r#" stroke-dasharray="5,3""#
        } else {
            ""
        };
        let aucs = m.perturbation.as_ref().map_or(String::new(), |p| {
            format!(
                "  (AUC+ {:.3}, AUC- {:.3})",
                p.positive_prob_auc, p.negative_prob_auc
            )
        });
        let _ = writeln!(
            s,
            r#"<line x1="{ml}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="2"{dash}/><text x="{}" y="{}">{}{}</text>"#,
            ml + 24.0,
            PALETTE[k % PALETTE.len()],
            ml + 30.0,
            y + 4.0,
            esc(&m.method),
            aucs
        );
    }
    s += "</svg>\n";
    s
}

/// Write [`perturbation_svg`] to `path`.
///
/// # Errors
/// [`Error::Io`] naming the path.
pub fn write_perturbation_svg(report: &FaithfulnessReport, path: &Path) -> Result<()> {
    std::fs::write(path, perturbation_svg(report)).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
