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
    /// Colour mapping.
    pub scale: ColorScale,
    /// Grey out the strict upper triangle (causal matrices).
    pub causal: bool,
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
            scale: ColorScale::Auto,
            causal: true,
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
        labels.get(i).cloned().unwrap_or_else(|| i.to_string())
    }

    /// Value range and colour function.
    fn colors(&self) -> (f64, f64, bool) {
        let finite = self.data.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let diverging = match self.scale {
            ColorScale::Diverging => true,
            ColorScale::Sequential => false,
            ColorScale::Auto => lo < 0.0 && hi > 0.0,
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
    /// axis titles, and a colour bar with its range on the right.
    pub fn render(&self) -> Image {
        let n = self.rows.max(self.cols).max(1);
        let cell: usize = (560 / n).clamp(2, 40);
        let ts: usize = if cell >= 14 { 2 } else { 1 }; // tick label scale
        let glyph = 8 * ts;
        let step_r = (glyph + 2).div_ceil(cell).max(1);
        let step_c = step_r;
        let rl = (0..self.rows)
            .step_by(step_r)
            .map(|i| Self::label(&self.row_labels, i).chars().count())
            .max()
            .unwrap_or(1);
        let cl = (0..self.cols)
            .step_by(step_c)
            .map(|i| Self::label(&self.col_labels, i).chars().count())
            .max()
            .unwrap_or(1);
        let (rl, cl) = (rl.min(16), cl.min(16));
        let title_h = 16 + 20;
        let left = 12 + 16 + 10 + rl * glyph + 6;
        let (mw, mh) = (self.cols * cell, self.rows * cell);
        let bottom = 6 + cl * glyph + 10 + 16 + 12;
        let cb_x = left + mw + 24;
        let right = 24 + 20 + 8 + 10 * 8 * 2 + 12;
        let title_w = self.title.chars().count() * 16 + 24;
        let width = (left + mw + right).max(title_w);
        let height = title_h + mh + bottom;
        let mut im = Image::new(width, height);
        // title
        let tw = self.title.chars().count() * 16;
        im.text(width.saturating_sub(tw) / 2, 10, &self.title, 2, BLACK);
        // matrix
        let (lo, hi, div) = self.colors();
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
        // row ticks
        for i in (0..self.rows).step_by(step_r) {
            let mut s = Self::label(&self.row_labels, i);
            s = s.chars().take(16).collect();
            let w = s.chars().count() * glyph;
            let y = top + i * cell + cell / 2;
            im.text(left - 6 - w, y.saturating_sub(glyph / 2), &s, ts, BLACK);
            im.fill(left - 4, y, 3, 1, GREY);
        }
        // column ticks (rotated)
        for j in (0..self.cols).step_by(step_c) {
            let s: String = Self::label(&self.col_labels, j).chars().take(16).collect();
            let x = left + j * cell + cell / 2;
            let w = s.chars().count() * glyph;
            im.text_up(x.saturating_sub(glyph / 2), top + mh + 6 + w, &s, ts, BLACK);
            im.fill(x, top + mh + 1, 1, 3, GREY);
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
        let yl = self.y_label.chars().count() * 16;
        im.text_up(12, top + mh / 2 + yl / 2, &self.y_label, 2, BLACK);
        // colour bar
        let cb_h = mh.max(64);
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
        let mut ticks = vec![(hi, 0usize), (lo, cb_h - 1)];
        if div {
            ticks.push((0.0, (cb_h - 1) / 2));
        } else {
            ticks.push(((lo + hi) / 2.0, (cb_h - 1) / 2));
        }
        for (v, y) in ticks {
            im.fill(cb_x + 20, top + y, 4, 1, GREY);
            im.text(
                cb_x + 28,
                (top + y).saturating_sub(8),
                &fmt_num(v),
                2,
                BLACK,
            );
        }
        im
    }
}

/// A grid of small heatmaps (e.g. the channels of one layer), each scaled to its own
/// largest |value| (diverging colours), with a shared colour bar in units of that maximum.
pub fn grid(panels: &[Heatmap], ncols: usize, title: &str) -> Image {
    let ncols = ncols.max(1);
    let nrows = panels.len().div_ceil(ncols).max(1);
    let n = panels
        .iter()
        .map(|p| p.rows.max(p.cols))
        .max()
        .unwrap_or(1)
        .max(1);
    let cell = (160 / n).clamp(1, 16);
    let side = n * cell;
    let pad = 12;
    let cap = 8 + 6;
    let pw = side + pad;
    let ph = side + cap + pad;
    let title_h = 40;
    let right = 140;
    let width = (ncols * pw + pad + right).max(title.chars().count() * 16 + 24);
    let height = title_h + nrows * ph + 30;
    let mut im = Image::new(width, height);
    let tw = title.chars().count() * 16;
    im.text(width.saturating_sub(tw) / 2, 10, title, 2, BLACK);
    for (k, p) in panels.iter().enumerate() {
        let (r, c) = (k / ncols, k % ncols);
        let x0 = pad + c * pw;
        let y0 = title_h + r * ph;
        let cap_s: String = p.title.chars().take((side / 8).max(1)).collect();
        im.text(x0, y0, &cap_s, 1, BLACK);
        let m = p
            .data
            .iter()
            .fold(0.0f64, |a, v| a.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        for i in 0..p.rows {
            for j in 0..p.cols {
                let v = p.data[i * p.cols + j];
                let col = if p.causal && j > i {
                    MASKED
                } else {
                    ramp(&RDBU, (v / m + 1.0) / 2.0)
                };
                im.fill(x0 + j * cell, y0 + cap + i * cell, cell, cell, col);
            }
        }
    }
    // shared colour bar
    let cb_x = ncols * pw + pad + 10;
    let cb_h = (nrows * ph).saturating_sub(pad).max(64);
    for y in 0..cb_h {
        let t = 1.0 - y as f64 / (cb_h - 1) as f64;
        im.fill(cb_x, title_h + y, 16, 1, ramp(&RDBU, t));
    }
    for (v, y) in [("+max", 0), ("0", (cb_h - 1) / 2), ("-max", cb_h - 1)] {
        im.fill(cb_x + 16, title_h + y, 4, 1, GREY);
        im.text(cb_x + 24, (title_h + y).saturating_sub(4), v, 1, BLACK);
    }
    im.text(
        pad,
        height - 22,
        "each panel scaled to its own max |value|; rows: query i, columns: key j",
        1,
        GREY,
    );
    im
}
