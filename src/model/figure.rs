//! Figures as display lists (rectangles and text placed in pixels), drawn through the
//! `plotters` crate as SVG or PNG. Text is set in DejaVu Sans, bundled with the crate
//! (`assets/fonts`, Bitstream Vera licence), so no system font is read and the PNG looks
//! the same everywhere; the SVG names the same family, with `sans-serif` as fallback.
//!
//! The layout is computed here, not by the backend: every text item has a bounding box
//! ([`Text::bounds`]), and [`Figure::fit`] sizes the canvas to contain every item, so
//! nothing is clipped whatever the lengths of titles and labels.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use crate::error::{Error, Result};

/// The bundled font (DejaVu Sans 2.37).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name under which the bundled font is registered, also written into SVG
/// `font-family` attributes: a CSS list, so a viewer without DejaVu Sans falls back to a
/// sans-serif face of similar metrics.
pub const FONT_FAMILY: &str = "DejaVu Sans, Bitstream Vera Sans, Verdana, sans-serif";

fn font_registered() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(figure_error("the bundled font does not parse"))
    }
}

fn figure_error(reason: impl Into<String>) -> Error {
    Error::InvalidArgument {
        name: "figure".into(),
        reason: reason.into(),
    }
}

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Horizontal anchor of a text item (along its reading direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The position is where the text starts.
    Start,
    /// The position is the text's middle.
    Middle,
    /// The position is where the text ends.
    End,
}

/// A line of text. `(x, y)` is the anchor point on the top edge of the line (before
/// rotation); an `up` text is rotated 90° anticlockwise about it and reads bottom to top.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// Anchor x, pixels.
    pub x: i32,
    /// Top of the line at the anchor, pixels.
    pub y: i32,
    /// The text.
    pub text: String,
    /// Font size, pixels (the font's ascent plus descent).
    pub size: f64,
    /// Where along the line the anchor is.
    pub anchor: Anchor,
    /// Rotated to read bottom to top.
    pub up: bool,
    /// Colour.
    pub color: Rgb,
}

/// An axis-aligned box `[x0, x1) × [y0, y1)` in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Left.
    pub x0: i32,
    /// Top.
    pub y0: i32,
    /// Right (exclusive).
    pub x1: i32,
    /// Bottom (exclusive).
    pub y1: i32,
}

impl Bounds {
    fn union(self, o: Bounds) -> Bounds {
        Bounds {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }

    /// Whether `self` lies inside `o`.
    pub fn inside(&self, o: &Bounds) -> bool {
        self.x0 >= o.x0 && self.y0 >= o.y0 && self.x1 <= o.x1 && self.y1 <= o.y1
    }
}

/// Advance width of `s` in the bundled font at `size`, in pixels (kerned).
///
/// # Errors
/// [`Error::InvalidArgument`] if the bundled font cannot be loaded.
pub fn text_width(s: &str, size: f64) -> Result<i32> {
    font_registered()?;
    let font: FontDesc = (FONT_FAMILY, size).into_font();
    let (w, _) = font
        .box_size(s)
        .map_err(|e| figure_error(format!("measuring {s:?}: {e}")))?;
    Ok(w as i32)
}

/// [`text_width`], with the bundled font's average advance (0.55 × size per character)
/// if the font cannot be measured.
pub fn width_of(s: &str, size: f64) -> i32 {
    text_width(s, size).unwrap_or_else(|_| (0.55 * size * s.chars().count() as f64) as i32)
}

impl Text {
    /// A horizontal black line of text.
    pub fn new(x: i32, y: i32, text: impl Into<String>, size: f64, anchor: Anchor) -> Self {
        Self {
            x,
            y,
            text: text.into(),
            size,
            anchor,
            up: false,
            color: [20, 20, 20],
        }
    }

    /// Rotated to read bottom to top.
    pub fn up(mut self) -> Self {
        self.up = true;
        self
    }

    /// With colour `c`.
    pub fn color(mut self, c: Rgb) -> Self {
        self.color = c;
        self
    }

    /// The box the drawn glyphs stay inside, in both backends: along the line the
    /// measured advance width and two pixels either end, across it from 0.1 × size above the top to 0.9 × size
    /// below it (accents above, descenders below).
    pub fn bounds(&self) -> Bounds {
        let w = width_of(&self.text, self.size);
        let (a0, a1) = match self.anchor {
            Anchor::Start => (0, w),
            Anchor::Middle => (-w / 2, w - w / 2),
            Anchor::End => (-w, 0),
        };
        // anti-aliasing and side bearings: two pixels either end
        let (a0, a1) = (a0 - 2, a1 + 2);
        let (c0, c1) = (
            (-0.1 * self.size).floor() as i32,
            (0.9 * self.size).ceil() as i32,
        );
        if self.up {
            // along the line = up the page; "below the line" = to the right
            Bounds {
                x0: self.x + c0,
                y0: self.y - a1,
                x1: self.x + c1,
                y1: self.y - a0,
            }
        } else {
            Bounds {
                x0: self.x + a0,
                y0: self.y + c0,
                x1: self.x + a1,
                y1: self.y + c1,
            }
        }
    }
}

/// One item of a figure.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A filled rectangle `[x, x + w) × [y, y + h)`.
    Fill {
        /// Left.
        x: i32,
        /// Top.
        y: i32,
        /// Width.
        w: i32,
        /// Height.
        h: i32,
        /// Colour.
        color: Rgb,
    },
    /// A line of text.
    Text(Text),
}

impl Shape {
    /// The pixels the item may touch.
    pub fn bounds(&self) -> Bounds {
        match self {
            Shape::Fill { x, y, w, h, .. } => Bounds {
                x0: *x,
                y0: *y,
                x1: x + w,
                y1: y + h,
            },
            Shape::Text(t) => t.bounds(),
        }
    }
}

/// The file formats a figure is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics (`.svg`).
    Svg,
    /// Portable network graphics (`.png`).
    Png,
}

impl Format {
    /// The format named by the extension of `path` (`.svg` or `.png`, any case).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `option` and the path if the extension is
    /// missing or another one.
    pub fn of_path(path: &Path, option: &str) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            other => Err(Error::InvalidArgument {
                name: option.into(),
                reason: format!(
                    "{}: the extension {} names no figure format; use .svg or .png",
                    path.display(),
                    other.map_or("(none)".to_string(), |e| format!("`.{e}`"))
                ),
            }),
        }
    }
}

/// A figure: a white canvas of `width × height` pixels and the items drawn on it, in
/// order.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The items, drawn in order.
    pub shapes: Vec<Shape>,
}

/// Margin [`Figure::fit`] leaves around the items, pixels.
pub const MARGIN: i32 = 10;

impl Figure {
    /// The smallest canvas holding every item with a [`MARGIN`] on each side: the
    /// items are moved so that their union starts at `(MARGIN, MARGIN)`.
    pub fn fit(mut shapes: Vec<Shape>) -> Self {
        let all = shapes
            .iter()
            .map(Shape::bounds)
            .reduce(Bounds::union)
            .unwrap_or(Bounds {
                x0: 0,
                y0: 0,
                x1: 1,
                y1: 1,
            });
        let (dx, dy) = (MARGIN - all.x0, MARGIN - all.y0);
        for s in &mut shapes {
            match s {
                Shape::Fill { x, y, .. } => {
                    *x += dx;
                    *y += dy;
                }
                Shape::Text(t) => {
                    t.x += dx;
                    t.y += dy;
                }
            }
        }
        Self {
            width: (all.x1 - all.x0 + 2 * MARGIN) as usize,
            height: (all.y1 - all.y0 + 2 * MARGIN) as usize,
            shapes,
        }
    }

    /// The canvas as a box.
    pub fn canvas(&self) -> Bounds {
        Bounds {
            x0: 0,
            y0: 0,
            x1: self.width as i32,
            y1: self.height as i32,
        }
    }

    /// Figures one under another, each centred horizontally.
    pub fn stack(figures: &[Figure]) -> Figure {
        let w = figures.iter().map(|f| f.width).max().unwrap_or(1) as i32;
        let mut shapes = Vec::new();
        let mut top = 0;
        for f in figures {
            let dx = (w - f.width as i32) / 2;
            for s in &f.shapes {
                let mut s = s.clone();
                match &mut s {
                    Shape::Fill { x, y, .. } => {
                        *x += dx;
                        *y += top;
                    }
                    Shape::Text(t) => {
                        t.x += dx;
                        t.y += top;
                    }
                }
                shapes.push(s);
            }
            top += f.height as i32;
        }
        Figure {
            width: w as usize,
            height: top.max(1) as usize,
            shapes,
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, bitmap: bool) -> Result<()> {
        font_registered()?;
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| figure_error(e.to_string());
        area.fill(&WHITE).map_err(err)?;
        for s in &self.shapes {
            match s {
                Shape::Fill { x, y, w, h, color } => {
                    let c = RGBColor(color[0], color[1], color[2]);
                    // both backends fill [x0, x1) × [y0, y1)
                    area.draw(&Rectangle::new([(*x, *y), (x + w, y + h)], c.filled()))
                        .map_err(err)?;
                }
                Shape::Text(t) => {
                    let h = match t.anchor {
                        Anchor::Start => HPos::Left,
                        Anchor::Middle => HPos::Center,
                        Anchor::End => HPos::Right,
                    };
                    let rgb = RGBColor(t.color[0], t.color[1], t.color[2]);
                    let mut font = (FONT_FAMILY, t.size).into_font().color(&rgb);
                    if t.up {
                        font = font.transform(FontTransform::Rotate270);
                    }
                    let style = font.pos(Pos::new(h, VPos::Top));
                    // plotters' rasteriser puts the baseline 0.5 × size below the anchor,
                    // an SVG viewer 0.61 × size: move the raster text to the SVG's place
                    let shift = if bitmap {
                        (0.11 * t.size).round() as i32
                    } else {
                        0
                    };
                    let pos = if t.up {
                        (t.x + shift, t.y)
                    } else {
                        (t.x, t.y + shift)
                    };
                    area.draw_text(&t.text, &style, pos).map_err(err)?;
                }
            }
        }
        area.present().map_err(err)
    }

    /// The figure as an SVG document.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if drawing fails.
    pub fn svg(&self) -> Result<String> {
        let mut out = String::new();
        {
            let backend =
                SVGBackend::with_string(&mut out, (self.width as u32, self.height as u32));
            self.draw(&backend.into_drawing_area(), false)?;
        }
        Ok(out)
    }

    /// The figure rasterised: row-major RGB, 3 bytes a pixel.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if drawing fails.
    pub fn rgb(&self) -> Result<Vec<u8>> {
        let mut buf = vec![255u8; self.width * self.height * 3];
        {
            let backend =
                BitMapBackend::with_buffer(&mut buf, (self.width as u32, self.height as u32));
            self.draw(&backend.into_drawing_area(), true)?;
        }
        Ok(buf)
    }

    /// The figure as PNG bytes (8-bit RGB).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if drawing or encoding fails.
    pub fn png_bytes(&self) -> Result<Vec<u8>> {
        let rgb = self.rgb()?;
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let err = |e: png::EncodingError| figure_error(format!("PNG encoder: {e}"));
            let mut w = enc.write_header().map_err(err)?;
            w.write_image_data(&rgb).map_err(err)?;
        }
        Ok(out)
    }

    /// Write the figure to `path` in the format its extension names ([`Format::of_path`];
    /// `option` names the command-line option in the error).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown extension, [`Error::Io`] naming the path.
    pub fn write(&self, path: &Path, option: &str) -> Result<()> {
        let bytes = match Format::of_path(path, option)? {
            Format::Svg => self.svg()?.into_bytes(),
            Format::Png => self.png_bytes()?,
        };
        std::fs::write(path, bytes).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
