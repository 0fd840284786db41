//! Heatmaps of attention matrices as [`Figure`]s (SVG or PNG, [`crate::model::figure`]):
//! the matrix, tick labels (positions, or token strings when given), axis titles, a
//! colour bar with round-valued ticks and a title; grids of channels ([`grid`]).
//!
//! Axes: the rows are the query positions `$i$`, the columns the key positions `$j$` of
//! `$\tilde\alpha_{i,j}$` (T1); ticks are labelled with positions `$0..L-1$`, or with the
//! token strings when the caller gives them, and the axis titles stay "query position i"
//! and "key position j" either way.

use crate::model::figure::{width_of, Anchor, Figure, Rgb, Shape, Text};

pub use crate::model::heatmap_grid::grid;

/// How values map to colours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColorScale {
    /// Diverging blue–white–red, symmetric about 0 when the data has both signs;
    /// viridis from min to max otherwise.
    Auto,
    /// Viridis from the data's min to its max.
    Sequential,
    /// Viridis from 0 to the data's max (non-negative quantities such as relevance).
    FromZero,
    /// Blue–white–red on `$[-m, m]$`, `$m = \max|v|$`.
    Diverging,
}

pub(crate) const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
];
pub(crate) const RDBU: [[u8; 3]; 7] = [
    [33, 102, 172],
    [103, 169, 207],
    [209, 229, 240],
    [247, 247, 247],
    [253, 219, 199],
    [239, 138, 98],
    [178, 24, 43],
];

pub(crate) fn ramp(stops: &[[u8; 3]], t: f64) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (stops.len() - 1) as f64;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f64;
    let mut c = [0u8; 3];
    for k in 0..3 {
        c[k] = (stops[i][k] as f64 * (1.0 - f) + stops[i + 1][k] as f64 * f).round() as u8;
    }
    c
}

/// A compact number for tick labels.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if (1e-2..1e4).contains(&v.abs()) {
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{v:.2e}")
    }
}

/// "Nice" tick values in `[lo, hi]`: multiples of a step `$m\cdot 10^k$`, `$m \in \{1, 2,
/// 2.5, 5\}$`, at most `max_ticks` of them (at least 2 when `lo < hi`), each with a label
/// that shows just the digits the step needs (`-2e-4`, `0.25`, `1`).
pub fn nice_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<(f64, String)> {
    let max_ticks = max_ticks.max(2);
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![(lo, fmt_num(lo))];
    }
    let span = hi - lo;
    let mag = 10f64.powf((span / (max_ticks - 1) as f64).log10().floor());
    let mut step = 10.0 * mag;
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        let st = m * mag;
        let first = (lo / st - 1e-9).ceil();
        let last = (hi / st + 1e-9).floor();
        if last - first + 1.0 <= max_ticks as f64 {
            step = st;
            break;
        }
    }
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    let mut ticks: Vec<(f64, String)> = (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            (v, tick_label(v, step))
        })
        .collect();
    if ticks.len() < 2 {
        ticks = vec![(lo, fmt_num(lo)), (hi, fmt_num(hi))];
    }
    ticks
}

/// The shortest label of `v` that is exact to a millionth of `step`.
fn tick_label(v: f64, step: f64) -> String {
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    let sci = !(1e-2..1e4).contains(&v.abs()) || step < 1e-3;
    for d in 0..8 {
        let s = if sci {
            let s = format!("{v:.d$e}");
            s.replace("e0", "").replace("e-0", "e-")
        } else {
            format!("{v:.d$}")
        };
        if s.parse::<f64>().is_ok_and(|p| (p - v).abs() <= step * 1e-6) {
            return s;
        }
    }
    fmt_num(v)
}

/// A heatmap of a `rows × cols` matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row-major values.
    pub data: Vec<f64>,
    /// Title (e.g. "layer 3, channel 17: hidden attention").
    pub title: String,
    /// Labels of the rows (token strings or positions); empty = positions.
    pub row_labels: Vec<String>,
    /// Labels of the columns; empty = positions.
    pub col_labels: Vec<String>,
    /// Horizontal axis title.
    pub x_label: String,
    /// Vertical axis title.
    pub y_label: String,
    /// Title of the colour bar (drawn along it); empty for none.
    pub bar_label: String,
    /// Colour mapping.
    pub scale: ColorScale,
    /// Grey out the strict upper triangle (causal matrices).
    pub causal: bool,
    /// Outline one row (the query an explanation is about).
    pub highlight_row: Option<usize>,
}

pub(crate) const INK: Rgb = [20, 20, 20];
pub(crate) const GREY: Rgb = [100, 100, 100];
pub(crate) const MASKED: Rgb = [232, 232, 232];
/// Font sizes (pixels): title, axis titles, tick labels.
pub(crate) const TITLE: f64 = 18.0;
pub(crate) const AXIS: f64 = 15.0;
pub(crate) const TICK: f64 = 13.0;
/// Where the cap-height middle of a line lies below its top, as a fraction of the size.
pub(crate) const MID: f64 = 0.32;

/// A filled rectangle.
pub(crate) fn fill(x: i32, y: i32, w: i32, h: i32, color: Rgb) -> Shape {
    Shape::Fill { x, y, w, h, color }
}

/// A one-pixel grey frame just outside `[x, x + w) × [y, y + h)`.
pub(crate) fn frame(x: i32, y: i32, w: i32, h: i32, color: Rgb, t: i32) -> Vec<Shape> {
    vec![
        fill(x - t, y - t, w + 2 * t, t, color),
        fill(x - t, y + h, w + 2 * t, t, color),
        fill(x - t, y, t, h, color),
        fill(x + w, y, t, h, color),
    ]
}

/// Every `step`-th index below `count`, the step rounded to 5 or a multiple of 10 once
/// it exceeds 2, where `step` is the least that keeps labels of height `size` apart on
/// cells of `cell` pixels.
pub(crate) fn thinned(count: usize, cell: i32, size: f64) -> Vec<usize> {
    let step = ((size * 1.25) / cell as f64).ceil().max(1.0) as usize;
    let step = match step {
        1 | 2 => step,
        3..=5 => 5,
        s => s.div_ceil(10) * 10,
    };
    (0..count).step_by(step).collect()
}

/// Label `i` of `labels`, or the position `i` itself; at most 24 characters.
pub(crate) fn label(labels: &[String], i: usize) -> String {
    let s = labels.get(i).cloned().unwrap_or_else(|| i.to_string());
    s.chars().take(24).collect()
}

/// Row tick labels right-aligned left of `x`, centred on the rows `top + i·cell`.
pub(crate) fn row_ticks(
    out: &mut Vec<Shape>,
    ticks: &[usize],
    labels: &[String],
    x: i32,
    top: i32,
    cell: i32,
    size: f64,
) {
    for &i in ticks {
        let yc = top + i as i32 * cell + cell / 2;
        out.push(fill(x - 5, yc, 4, 1, GREY));
        let y = yc - (MID * size).round() as i32;
        out.push(Shape::Text(Text::new(
            x - 8,
            y,
            label(labels, i),
            size,
            Anchor::End,
        )));
    }
}

/// Column tick labels reading upward below `y`, centred on the columns `left + j·cell`.
pub(crate) fn col_ticks(
    out: &mut Vec<Shape>,
    ticks: &[usize],
    labels: &[String],
    left: i32,
    y: i32,
    cell: i32,
    size: f64,
) {
    for &j in ticks {
        let xc = left + j as i32 * cell + cell / 2;
        out.push(fill(xc, y + 1, 1, 4, GREY));
        let x = xc - (MID * size).round() as i32;
        out.push(Shape::Text(
            Text::new(x, y + 8, label(labels, j), size, Anchor::End).up(),
        ));
    }
}

/// The widest label among `ticks`, pixels.
pub(crate) fn widest(ticks: &[usize], labels: &[String], size: f64) -> i32 {
    ticks
        .iter()
        .map(|&i| width_of(&label(labels, i), size))
        .max()
        .unwrap_or(0)
}

/// A vertical colour bar at `(x, top)`, `h` pixels tall, from `hi` (top) to `lo`
/// (bottom), its ticks and, along it, its title.
#[allow(clippy::too_many_arguments)]
pub(crate) fn colour_bar(
    out: &mut Vec<Shape>,
    x: i32,
    top: i32,
    h: i32,
    lo: f64,
    hi: f64,
    div: bool,
    ticks: &[(f64, String)],
    title: &str,
) {
    const W: i32 = 18;
    for y in 0..h {
        let t = 1.0 - y as f64 / (h - 1).max(1) as f64;
        let c = ramp(if div { &RDBU } else { &VIRIDIS }, t);
        out.push(fill(x, top + y, W, 1, c));
    }
    out.extend(frame(x, top, W, h, GREY, 1));
    let mut tw = 0;
    for (v, s) in ticks {
        let f = if hi > lo {
            ((hi - v) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        let y = top + (f * (h - 1) as f64).round() as i32;
        out.push(fill(x + W + 1, y, 4, 1, GREY));
        let t = Text::new(
            x + W + 8,
            y - (MID * TICK).round() as i32,
            s.clone(),
            TICK,
            Anchor::Start,
        );
        tw = tw.max(width_of(s, TICK));
        out.push(Shape::Text(t));
    }
    if !title.is_empty() {
        let tx = x + W + 8 + tw + 8;
        out.push(Shape::Text(
            Text::new(tx, top + h / 2, title, AXIS, Anchor::Middle).up(),
        ));
    }
}

/// The title centred over everything drawn so far, `size` pixels, 10 pixels above it.
pub(crate) fn title_over(out: &mut Vec<Shape>, title: &str, size: f64) {
    if title.is_empty() {
        return;
    }
    let b = out
        .iter()
        .map(Shape::bounds)
        .reduce(|a, b| crate::model::figure::Bounds {
            x0: a.x0.min(b.x0),
            y0: a.y0.min(b.y0),
            x1: a.x1.max(b.x1),
            y1: a.y1.max(b.y1),
        });
    let (xc, top) = b.map_or((0, 0), |b| ((b.x0 + b.x1) / 2, b.y0));
    let y = top - 10 - (0.9 * size).ceil() as i32;
    out.push(Shape::Text(Text::new(xc, y, title, size, Anchor::Middle)));
}

impl Heatmap {
    /// A heatmap of a causal `L × L` attention matrix with position labels.
    pub fn attention(l: usize, data: Vec<f64>, title: impl Into<String>) -> Self {
        Self {
            rows: l,
            cols: l,
            data,
            title: title.into(),
            row_labels: Vec::new(),
            col_labels: Vec::new(),
            x_label: "key position j".into(),
            y_label: "query position i".into(),
            bar_label: String::new(),
            scale: ColorScale::Auto,
            causal: true,
            highlight_row: None,
        }
    }

    /// Use token strings (or any labels) for both axes.
    pub fn with_labels(mut self, labels: &[String]) -> Self {
        if labels.len() == self.cols {
            self.col_labels = labels.to_vec();
        }
        if labels.len() == self.rows {
            self.row_labels = labels.to_vec();
        }
        self
    }

    /// The value range `$[lo, hi]$` drawn, whether the colours diverge about 0, and the
    /// colour-bar ticks. Over the finite values `$v$`: diverging, `$[-m, m]$` with
    /// `$m = \max|v|$`; otherwise `$[\min v, \max v]$` (from `$\min(0, \min v)$` for
    /// [`ColorScale::FromZero`]). A constant map `$v \equiv c$` (one position, or equal
    /// values) gets `$[c - d, c + d]$`, `$d = |c|/20$`, and one tick: `$c$` itself.
    pub fn range(&self) -> (f64, f64, bool, Vec<(f64, String)>) {
        let finite = self.data.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 0.0) };
        let diverging = match self.scale {
            ColorScale::Diverging => true,
            ColorScale::Sequential | ColorScale::FromZero => false,
            ColorScale::Auto => lo < 0.0 && hi > 0.0,
        };
        let lo = if self.scale == ColorScale::FromZero {
            lo.min(0.0)
        } else {
            lo
        };
        if diverging && (lo != 0.0 || hi != 0.0) {
            let m = lo.abs().max(hi.abs());
            (-m, m, true, nice_ticks(-m, m, 5))
        } else if hi > lo {
            let mut ticks = nice_ticks(lo, hi, 5);
            // few round ticks: label the top with the maximum itself
            if ticks.last().is_some_and(|t| (hi - t.0) / (hi - lo) > 0.15) {
                ticks.push((hi, fmt_num(hi)));
            }
            (lo, hi, false, ticks)
        } else {
            let d = (hi.abs() * 0.05).max(f64::MIN_POSITIVE);
            (lo - d, hi + d, false, vec![(hi, fmt_num(hi))])
        }
    }

    /// Draw: title on top, the matrix, tick labels (thinned so they never overlap),
    /// axis titles, and a colour bar with round-valued ticks on the right; the canvas
    /// fits every item ([`Figure::fit`]).
    pub fn render(&self) -> Figure {
        let n = self.rows.max(self.cols).max(1);
        // at least 120 pixels a side, so that the axis titles fit along a short matrix
        let cell = (560 / n).clamp(2, 40).max(120usize.div_ceil(n)) as i32;
        let ts = if cell >= 10 { TICK } else { 11.0 };
        let (rt, ct) = (thinned(self.rows, cell, ts), thinned(self.cols, cell, ts));
        let (lo, hi, div, ticks) = self.range();
        let (mw, mh) = (self.cols as i32 * cell, self.rows as i32 * cell);
        let mut out = Vec::new();
        for i in 0..self.rows {
            for j in 0..self.cols {
                let v = self
                    .data
                    .get(i * self.cols + j)
                    .copied()
                    .unwrap_or(f64::NAN);
                let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                let c = if self.causal && j > i {
                    MASKED
                } else {
                    ramp(if div { &RDBU } else { &VIRIDIS }, t)
                };
                out.push(fill(j as i32 * cell, i as i32 * cell, cell, cell, c));
            }
        }
        out.extend(frame(0, 0, mw, mh, GREY, 1));
        if let Some(r) = self.highlight_row.filter(|&r| r < self.rows) {
            out.extend(frame(-1, r as i32 * cell - 1, mw + 2, cell + 2, INK, 2));
        }
        row_ticks(&mut out, &rt, &self.row_labels, 0, 0, cell, ts);
        col_ticks(&mut out, &ct, &self.col_labels, 0, mh, cell, ts);
        let below = mh + 8 + widest(&ct, &self.col_labels, ts) + 10;
        if !self.x_label.is_empty() {
            out.push(Shape::Text(Text::new(
                mw / 2,
                below,
                &self.x_label,
                AXIS,
                Anchor::Middle,
            )));
        }
        if !self.y_label.is_empty() {
            let x = -8 - widest(&rt, &self.row_labels, ts) - 10 - (0.9 * AXIS).ceil() as i32;
            out.push(Shape::Text(
                Text::new(x, mh / 2, &self.y_label, AXIS, Anchor::Middle).up(),
            ));
        }
        let cb_h = mh.max(120);
        colour_bar(
            &mut out,
            mw + 24,
            (mh - cb_h).min(0) / 2,
            cb_h,
            lo,
            hi,
            div,
            &ticks,
            &self.bar_label,
        );
        title_over(&mut out, &self.title, TITLE);
        Figure::fit(out)
    }
}
