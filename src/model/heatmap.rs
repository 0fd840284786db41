//! Heatmap pictures (PNG) of attention matrices: colour bar, axis labels (positions or
//! token strings), title; grids of channels. Text uses the public-domain 8×8 bitmap font
//! of the `font8x8` crate, so nothing depends on system fonts.

use std::path::Path;

use crate::error::{Error, Result};

/// An RGB image.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major RGB pixels.
    pub pixels: Vec<[u8; 3]>,
}

const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [20, 20, 20];
const GREY: [u8; 3] = [90, 90, 90];
const MASKED: [u8; 3] = [232, 232, 232];

impl Image {
    /// A white image.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            pixels: vec![WHITE; width * height],
        }
    }

    /// Fill a rectangle (clipped).
    pub fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, c: [u8; 3]) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                self.pixels[yy * self.width + xx] = c;
            }
        }
    }

    fn glyph_rows(ch: char) -> [u8; 8] {
        let i = ch as usize;
        if i < 128 {
            font8x8::legacy::BASIC_LEGACY[i]
        } else {
            font8x8::legacy::BASIC_LEGACY[b'?' as usize]
        }
    }

    /// Draw `s` left to right with its top-left corner at `(x, y)`, each font pixel
    /// `scale × scale`.
    pub fn text(&mut self, x: usize, y: usize, s: &str, scale: usize, c: [u8; 3]) {
        for (k, ch) in s.chars().enumerate() {
            let g = Self::glyph_rows(ch);
            for (gy, row) in g.iter().enumerate() {
                for gx in 0..8 {
                    if row >> gx & 1 == 1 {
                        self.fill(x + (k * 8 + gx) * scale, y + gy * scale, scale, scale, c);
                    }
                }
            }
        }
    }

    /// Draw `s` rotated 90° anticlockwise (reading bottom to top), its bounding box's
    /// bottom-left corner at `(x, y_bottom)`.
    pub fn text_up(&mut self, x: usize, y_bottom: usize, s: &str, scale: usize, c: [u8; 3]) {
        for (k, ch) in s.chars().enumerate() {
            let g = Self::glyph_rows(ch);
            for (gy, row) in g.iter().enumerate() {
                for gx in 0..8 {
                    if row >> gx & 1 == 1 {
                        // glyph (gx, gy) → rotated: column = gy, row up from bottom = k*8+gx
                        let px = x + gy * scale;
                        let up = (k * 8 + gx + 1) * scale;
                        if up <= y_bottom {
                            self.fill(px, y_bottom - up, scale, scale, c);
                        }
                    }
                }
            }
        }
    }

    /// Copy another image in at `(x, y)`.
    pub fn blit(&mut self, other: &Image, x: usize, y: usize) {
        for yy in 0..other.height {
            for xx in 0..other.width {
                if x + xx < self.width && y + yy < self.height {
                    self.pixels[(y + yy) * self.width + x + xx] =
                        other.pixels[yy * other.width + xx];
                }
            }
        }
    }

    /// Images one under another, centred.
    pub fn stack(images: &[Image]) -> Image {
        let w = images.iter().map(|i| i.width).max().unwrap_or(1);
        let h = images.iter().map(|i| i.height).sum::<usize>().max(1);
        let mut out = Image::new(w, h);
        let mut y = 0;
        for im in images {
            out.blit(im, (w - im.width) / 2, y);
            y += im.height;
        }
        out
    }

    /// Encode as PNG bytes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the encoder fails.
    pub fn png_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let err = |e: png::EncodingError| Error::InvalidArgument {
                name: "png".into(),
                reason: e.to_string(),
            };
            let mut w = enc.write_header().map_err(err)?;
            let flat: Vec<u8> = self.pixels.iter().flat_map(|p| p.iter().copied()).collect();
            w.write_image_data(&flat).map_err(err)?;
        }
        Ok(out)
    }

    /// Write a PNG file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path.
    pub fn write_png(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.png_bytes()?).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

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
    /// Blue–white–red on $[-m, m]$, $m = \max|v|$.
    Diverging,
}

const VIRIDIS: [[u8; 3]; 9] = [
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
const RDBU: [[u8; 3]; 7] = [
    [33, 102, 172],
    [103, 169, 207],
    [209, 229, 240],
    [247, 247, 247],
    [253, 219, 199],
    [239, 138, 98],
    [178, 24, 43],
];

fn ramp(stops: &[[u8; 3]], t: f64) -> [u8; 3] {
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

/// "Nice" tick values in `[lo, hi]`: multiples of a step $m\cdot 10^k$, $m \in \{1, 2,
/// 2.5, 5\}$, at most `max_ticks` of them (at least 2 when `lo < hi`), each with a label
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

/// Glyph width in pixels at text scale `s` (8×8 font).
const fn gw(s: usize) -> usize {
    8 * s
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

    fn label(labels: &[String], i: usize) -> String {
        let s = labels.get(i).cloned().unwrap_or_else(|| i.to_string());
        s.chars().take(24).collect()
    }

    /// The value range drawn and whether the colours diverge about 0.
    fn range(&self) -> (f64, f64, bool) {
        let finite = self.data.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
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
        if diverging {
            let m = lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE);
            (-m, m, true)
        } else if hi > lo {
            (lo, hi, false)
        } else {
            (lo - 0.5, hi + 0.5, false)
        }
    }

    /// Render: title on top, the matrix, tick labels (thinned so they never overlap),
    /// axis titles, and a colour bar with round-valued ticks on the right.
    pub fn render(&self) -> Image {
        let n = self.rows.max(self.cols).max(1);
        let cell: usize = (560 / n).clamp(2, 40);
        let ts: usize = if cell >= 14 { 2 } else { 1 }; // tick label scale
        let glyph = gw(ts);
        let step = (glyph + 2).div_ceil(cell).max(1);
        let thin = |count: usize| -> Vec<usize> {
            // every `step`-th position, a multiple of 5 or 10 once thinning starts
            let st = match step {
                1 | 2 => step,
                3..=5 => 5,
                s => s.div_ceil(10) * 10,
            };
            (0..count).step_by(st).collect()
        };
        let (row_ticks, col_ticks) = (thin(self.rows), thin(self.cols));
        let rl = row_ticks
            .iter()
            .map(|&i| Self::label(&self.row_labels, i).chars().count())
            .max()
            .unwrap_or(1);
        let cl = col_ticks
            .iter()
            .map(|&i| Self::label(&self.col_labels, i).chars().count())
            .max()
            .unwrap_or(1);
        let (lo, hi, div) = self.range();
        let (mw, mh) = (self.cols * cell, self.rows * cell);
        let cb_h = mh.max(64);
        let mut ticks = nice_ticks(lo, hi, (cb_h / 28).clamp(2, 6));
        // a short bar may get few round ticks: label its top with the maximum itself
        let px = |v: f64| (hi - v) / (hi - lo) * (cb_h - 1) as f64;
        if !div && ticks.last().is_some_and(|t| px(t.0) >= 20.0) {
            ticks.push((hi, fmt_num(hi)));
        }
        let tl = ticks.iter().map(|t| t.1.chars().count()).max().unwrap_or(1);
        let has_y = !self.y_label.is_empty();
        let title_h = 16 + 22;
        let left = 12 + if has_y { 16 + 10 } else { 0 } + rl * glyph + 8;
        let bottom = 6 + cl * glyph + 10 + 16 + 12;
        let cb_x = left + mw + 24;
        let bar_title = if self.bar_label.is_empty() {
            0
        } else {
            16 + 12
        };
        let right = 24 + 20 + 4 + 6 + tl * 16 + 12 + bar_title;
        let title_w = self.title.chars().count() * 16 + 32;
        let width = (left + mw + right).max(title_w);
        let height = title_h + mh.max(cb_h) + bottom;
        let mut im = Image::new(width, height);
        // title
        let tw = self.title.chars().count() * 16;
        im.text(width.saturating_sub(tw) / 2, 12, &self.title, 2, BLACK);
        // matrix
        let top = title_h;
        for i in 0..self.rows {
            for j in 0..self.cols {
                let v = self.data[i * self.cols + j];
                let c = if self.causal && j > i {
                    MASKED
                } else if div {
                    ramp(&RDBU, (v - lo) / (hi - lo))
                } else {
                    ramp(&VIRIDIS, (v - lo) / (hi - lo))
                };
                im.fill(left + j * cell, top + i * cell, cell, cell, c);
            }
        }
        // frame
        im.fill(left - 1, top - 1, mw + 2, 1, GREY);
        im.fill(left - 1, top + mh, mw + 2, 1, GREY);
        im.fill(left - 1, top - 1, 1, mh + 2, GREY);
        im.fill(left + mw, top - 1, 1, mh + 2, GREY);
        if let Some(r) = self.highlight_row.filter(|&r| r < self.rows) {
            let (x0, y0) = (left.saturating_sub(2), top + r * cell);
            let (w, h) = (mw + 4, cell);
            for k in 0..2 {
                im.fill(x0, (y0 + k).saturating_sub(2), w, 1, BLACK);
                im.fill(x0, y0 + h + k, w, 1, BLACK);
                im.fill(x0 + k, y0.saturating_sub(2), 1, h + 4, BLACK);
                im.fill(x0 + w - 1 - k, y0.saturating_sub(2), 1, h + 4, BLACK);
            }
        }
        // row ticks
        for &i in &row_ticks {
            let s = Self::label(&self.row_labels, i);
            let w = s.chars().count() * glyph;
            let y = top + i * cell + cell / 2;
            im.text(left - 8 - w, y.saturating_sub(glyph / 2), &s, ts, BLACK);
            im.fill(left - 5, y, 4, 1, GREY);
        }
        // column ticks (rotated)
        for &j in &col_ticks {
            let s = Self::label(&self.col_labels, j);
            let x = left + j * cell + cell / 2;
            let w = s.chars().count() * glyph;
            im.text_up(x.saturating_sub(glyph / 2), top + mh + 6 + w, &s, ts, BLACK);
            im.fill(x, top + mh + 1, 1, 4, GREY);
        }
        // axis titles
        let xl = self.x_label.chars().count() * 16;
        im.text(
            (left + mw / 2).saturating_sub(xl / 2),
            top + mh + 6 + cl * glyph + 10,
            &self.x_label,
            2,
            BLACK,
        );
        if has_y {
            let yl = self.y_label.chars().count() * 16;
            im.text_up(12, top + mh / 2 + yl / 2, &self.y_label, 2, BLACK);
        }
        // colour bar
        for y in 0..cb_h {
            let t = 1.0 - y as f64 / (cb_h - 1).max(1) as f64;
            let c = if div {
                ramp(&RDBU, t)
            } else {
                ramp(&VIRIDIS, t)
            };
            im.fill(cb_x, top + y, 20, 1, c);
        }
        im.fill(cb_x - 1, top - 1, 22, 1, GREY);
        im.fill(cb_x - 1, top + cb_h, 22, 1, GREY);
        im.fill(cb_x - 1, top - 1, 1, cb_h + 2, GREY);
        im.fill(cb_x + 20, top - 1, 1, cb_h + 2, GREY);
        for (v, label) in &ticks {
            let f = ((hi - v) / (hi - lo)).clamp(0.0, 1.0);
            let y = top + (f * (cb_h - 1) as f64).round() as usize;
            im.fill(cb_x + 21, y, 4, 1, GREY);
            im.text(cb_x + 31, y.saturating_sub(8), label, 2, BLACK);
        }
        if !self.bar_label.is_empty() {
            let bl = self.bar_label.chars().count() * 16;
            im.text_up(
                cb_x + 31 + tl * 16 + 12,
                top + cb_h / 2 + bl / 2,
                &self.bar_label,
                2,
                BLACK,
            );
        }
        im
    }
}

/// A grid of small heatmaps (e.g. the channels of one layer), each scaled to its own
/// largest |value| (diverging colours) and captioned with it, with tick labels on the
/// outer panels (the first panel's labels and axis titles) and a shared colour bar in
/// units of each panel's maximum.
pub fn grid(panels: &[Heatmap], ncols: usize, title: &str) -> Image {
    let ncols = ncols.clamp(1, panels.len().max(1));
    let nrows = panels.len().div_ceil(ncols).max(1);
    let n = panels
        .iter()
        .map(|p| p.rows.max(p.cols))
        .max()
        .unwrap_or(1)
        .max(1);
    let target = match panels.len() {
        0..=4 => 300,
        5..=9 => 220,
        _ => 180,
    };
    let cell = (target / n).clamp(1, 40);
    let side = n * cell;
    let first = panels.first();
    let labels = |f: fn(&Heatmap) -> &Vec<String>| first.map(f).cloned().unwrap_or_default();
    let (row_labels, col_labels) = (labels(|p| &p.row_labels), labels(|p| &p.col_labels));
    let step = 10usize.div_ceil(cell).max(1);
    let step = match step {
        1 | 2 => step,
        3..=5 => 5,
        s => s.div_ceil(10) * 10,
    };
    let ticks: Vec<usize> = (0..n).step_by(step).collect();
    let ll = ticks
        .iter()
        .map(|&i| Heatmap::label(&row_labels, i).chars().count())
        .max()
        .unwrap_or(1);
    let cll = ticks
        .iter()
        .map(|&i| Heatmap::label(&col_labels, i).chars().count())
        .max()
        .unwrap_or(1);
    let (x_label, y_label) = first
        .map_or(("key position j".into(), "query position i".into()), |p| {
            (p.x_label.clone(), p.y_label.clone())
        });
    let pad = 14;
    let cap = 2 * 10 + 4; // two caption lines: title, max |value|
    let pw = side + pad;
    let ph = cap + side + pad;
    let title_h = 44;
    let left = 12 + 16 + 10 + ll * 8 + 8;
    let below = 6 + cll * 8 + 8 + 16 + 12;
    let cb_x = left + ncols * pw + 16;
    let right = 16 + 20 + 4 + 6 + 4 * 16 + 12 + 16 + 12;
    let width = (cb_x + right).max(title.chars().count() * 16 + 32);
    let height = title_h + nrows * ph + below;
    let mut im = Image::new(width, height);
    let tw = title.chars().count() * 16;
    im.text(width.saturating_sub(tw) / 2, 12, title, 2, BLACK);
    for (k, p) in panels.iter().enumerate() {
        let (r, c) = (k / ncols, k % ncols);
        let x0 = left + c * pw;
        let y0 = title_h + r * ph;
        let m = p
            .data
            .iter()
            .fold(0.0f64, |a, v| a.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        let fit = |s: String| -> String { s.chars().take((side / 8).max(1)).collect() };
        im.text(x0, y0, &fit(p.title.clone()), 1, BLACK);
        im.text(
            x0,
            y0 + 10,
            &fit(format!("max |v| {}", fmt_num(m))),
            1,
            GREY,
        );
        let top = y0 + cap;
        for i in 0..p.rows {
            for j in 0..p.cols {
                let v = p.data[i * p.cols + j];
                let col = if p.causal && j > i {
                    MASKED
                } else {
                    ramp(&RDBU, (v / m + 1.0) / 2.0)
                };
                im.fill(x0 + j * cell, top + i * cell, cell, cell, col);
            }
        }
        let (pw_, ph_) = (p.cols * cell, p.rows * cell);
        im.fill(x0 - 1, top - 1, pw_ + 2, 1, GREY);
        im.fill(x0 - 1, top + ph_, pw_ + 2, 1, GREY);
        im.fill(x0 - 1, top - 1, 1, ph_ + 2, GREY);
        im.fill(x0 + pw_, top - 1, 1, ph_ + 2, GREY);
        // row tick labels on the first column
        if c == 0 {
            for &i in ticks.iter().filter(|&&i| i < p.rows) {
                let s = Heatmap::label(&row_labels, i);
                let y = top + i * cell + cell / 2;
                im.text(
                    x0 - 6 - s.chars().count() * 8,
                    y.saturating_sub(4),
                    &s,
                    1,
                    BLACK,
                );
                im.fill(x0 - 4, y, 3, 1, GREY);
            }
        }
        // column tick labels under the lowest panel of each column
        if k + ncols >= panels.len() {
            for &j in ticks.iter().filter(|&&j| j < p.cols) {
                let s = Heatmap::label(&col_labels, j);
                let x = x0 + j * cell + cell / 2;
                let w = s.chars().count() * 8;
                im.text_up(x.saturating_sub(4), top + ph_ + 5 + w, &s, 1, BLACK);
                im.fill(x, top + ph_ + 1, 1, 3, GREY);
            }
        }
    }
    // axis titles
    let grid_w = ncols * pw - pad;
    let grid_h = nrows * ph - pad;
    let xl = x_label.chars().count() * 16;
    im.text(
        (left + grid_w / 2).saturating_sub(xl / 2),
        title_h + grid_h + 6 + cll * 8 + 8,
        &x_label,
        2,
        BLACK,
    );
    let yl = y_label.chars().count() * 16;
    im.text_up(12, title_h + grid_h / 2 + yl / 2, &y_label, 2, BLACK);
    // shared colour bar, in units of each panel's max |value|
    let cb_top = title_h + cap;
    let cb_h = grid_h.saturating_sub(cap).max(64);
    for y in 0..cb_h {
        let t = 1.0 - y as f64 / (cb_h - 1) as f64;
        im.fill(cb_x, cb_top + y, 20, 1, ramp(&RDBU, t));
    }
    im.fill(cb_x - 1, cb_top - 1, 22, 1, GREY);
    im.fill(cb_x - 1, cb_top + cb_h, 22, 1, GREY);
    im.fill(cb_x - 1, cb_top - 1, 1, cb_h + 2, GREY);
    im.fill(cb_x + 20, cb_top - 1, 1, cb_h + 2, GREY);
    let ticks = nice_ticks(-1.0, 1.0, if cb_h >= 140 { 5 } else { 3 });
    for (v, label) in &ticks {
        let y = cb_top + ((1.0 - v) / 2.0 * (cb_h - 1) as f64).round() as usize;
        im.fill(cb_x + 21, y, 4, 1, GREY);
        im.text(cb_x + 31, y.saturating_sub(8), label, 2, BLACK);
    }
    let bl = "value / max |v| of the panel";
    im.text_up(
        cb_x + 31 + 4 * 16 + 12,
        cb_top + cb_h / 2 + bl.len() * 8 / 2,
        bl,
        1,
        BLACK,
    );
    im
}
