//! Heatmap figures (SVG and PNG) for short and long sequences: every item inside the
//! canvas, the SVG well-formed with its title and tick labels where the layout put them,
//! the PNG of the stated size with ink only where the layout has items, and the value
//! scale of a constant map.

use std::path::PathBuf;

use hidden_attention::model::figure::{width_of, Bounds, Figure, Format, Shape};
use hidden_attention::model::heatmap::{grid, ColorScale, Heatmap};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hattn-fig-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A causal L × L map with both signs and a smooth structure.
fn causal(l: usize) -> Vec<f64> {
    let mut m = vec![0.0; l * l];
    for i in 0..l {
        for j in 0..=i {
            m[i * l + j] = ((i as f64 * 0.7 - j as f64 * 1.3).sin() + 0.3) / (1.0 + (i - j) as f64);
        }
    }
    m
}

fn heatmap(l: usize, labels: bool) -> Heatmap {
    let mut h = Heatmap::attention(
        l,
        causal(l),
        format!("layer 1, channel 5: hidden attention (L = {l})"),
    );
    if labels {
        let words: Vec<String> = (0..l).map(|k| format!("tok{k}")).collect();
        h = h.with_labels(&words);
    }
    h.bar_label = "value of the map".into();
    h
}

/// The texts of a figure's display list.
fn texts(f: &Figure) -> Vec<String> {
    f.shapes
        .iter()
        .filter_map(|s| match s {
            Shape::Text(t) => Some(t.text.clone()),
            Shape::Fill { .. } => None,
        })
        .collect()
}

/// Every item's box lies inside the canvas.
fn check_layout(f: &Figure) {
    let c = f.canvas();
    for s in &f.shapes {
        assert!(s.bounds().inside(&c), "{s:?} outside {c:?}");
    }
}

/// The SVG parses; its size is the figure's; every text element, placed from its own
/// attributes (x, y, text-anchor, rotation, font size), lies inside the view box; the
/// expected strings are among its texts.
fn check_svg(f: &Figure, expected: &[&str]) -> String {
    let svg = f.svg().unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let vb: Vec<f64> = root
        .attribute("viewBox")
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(vb, [0.0, 0.0, f.width as f64, f.height as f64]);
    let view = Bounds {
        x0: 0,
        y0: 0,
        x1: f.width as i32,
        y1: f.height as i32,
    };
    let mut found = Vec::new();
    for t in root.descendants().filter(|n| n.has_tag_name("text")) {
        let s = t.text().unwrap_or("").trim().to_string();
        let num = |a: &str| t.attribute(a).unwrap().parse::<f64>().unwrap();
        let (x, y) = (num("x"), num("y"));
        // plotters writes font-size = size / 1.24 and hangs the line from y (dy = 0.76em)
        let size = num("font-size") * 1.24;
        let w = width_of(&s, size) as f64;
        let (a0, a1) = match t.attribute("text-anchor").unwrap() {
            "start" => (0.0, w),
            "middle" => (-w / 2.0, w / 2.0),
            "end" => (-w, 0.0),
            other => panic!("anchor {other}"),
        };
        let (c0, c1) = (-0.1 * size, 0.9 * size);
        let up = t
            .attribute("transform")
            .is_some_and(|r| r.starts_with("rotate(270"));
        let (x0, y0, x1, y1) = if up {
            (x + c0, y - a1, x + c1, y - a0)
        } else {
            (x + a0, y + c0, x + a1, y + c1)
        };
        assert!(
            x0 >= view.x0 as f64 - 0.5
                && y0 >= view.y0 as f64 - 0.5
                && x1 <= view.x1 as f64 + 0.5
                && y1 <= view.y1 as f64 + 0.5,
            "text {s:?} at ({x}, {y}) spans [{x0}, {x1}] × [{y0}, {y1}], outside {view:?}"
        );
        found.push(s);
    }
    for e in expected {
        assert!(found.iter().any(|s| s == e), "{e:?} not among {found:?}");
    }
    svg
}

/// The PNG decodes to the figure's size, has many colours, and every inked pixel
/// (any channel below 200) lies in the box of some item: no text spills out of the box
/// the layout reserved for it, so the canvas check above covers what is drawn.
fn check_png(f: &Figure) -> Vec<u8> {
    let bytes = f.png_bytes().unwrap();
    let dec = png::Decoder::new(std::io::Cursor::new(&bytes));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width as usize, info.height as usize),
        (f.width, f.height)
    );
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px = |x: usize, y: usize| &buf[(y * f.width + x) * 3..(y * f.width + x) * 3 + 3];
    let boxes: Vec<Bounds> = f.shapes.iter().map(Shape::bounds).collect();
    let mut colours = std::collections::HashSet::new();
    let mut ink = 0usize;
    for y in 0..f.height {
        for x in 0..f.width {
            let p = px(x, y);
            colours.insert([p[0], p[1], p[2]]);
            if p.iter().any(|&c| c < 200) {
                ink += 1;
                let (xi, yi) = (x as i32, y as i32);
                assert!(
                    boxes
                        .iter()
                        .any(|b| xi >= b.x0 && xi < b.x1 && yi >= b.y0 && yi < b.y1),
                    "inked pixel ({x}, {y}) {p:?} outside every item"
                );
            }
        }
    }
    assert!(colours.len() > 30, "{} colours", colours.len());
    assert!(ink > f.width * f.height / 100, "{ink} inked pixels");
    bytes
}

#[test]
fn short_and_long_maps_fit_in_svg_and_png() {
    let d = scratch("maps");
    for (l, labels) in [(4, true), (4, false), (64, false), (64, true)] {
        let h = heatmap(l, labels);
        let f = h.render();
        check_layout(&f);
        let title = h.title.clone();
        let ticks: Vec<String> = if labels {
            vec!["tok0".into(), format!("tok{}", if l == 4 { 3 } else { 62 })]
        } else if l == 4 {
            vec!["0".into(), "1".into(), "2".into(), "3".into()]
        } else {
            vec!["0".into(), "10".into(), "60".into()]
        };
        let mut expected: Vec<&str> = vec![
            &title,
            "query position i",
            "key position j",
            "value of the map",
        ];
        expected.extend(ticks.iter().map(String::as_str));
        check_svg(&f, &expected);
        check_png(&f);
        // the title is wider than a 4-position matrix: the canvas grew to hold it
        let tw = width_of(&title, 18.0) as usize;
        assert!(f.width > tw, "{} <= {tw}", f.width);
        for ext in ["svg", "png"] {
            let p = d.join(format!("L{l}-{labels}.{ext}"));
            f.write(&p, "out").unwrap();
            let b = std::fs::read(&p).unwrap();
            match ext {
                "svg" => assert!(b.starts_with(b"<svg")),
                _ => assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n"),
            }
        }
    }
}

#[test]
fn grids_and_strips_fit() {
    for l in [4, 64] {
        let panels: Vec<Heatmap> = (0..6)
            .map(|c| Heatmap::attention(l, causal(l), format!("channel {c}")))
            .collect();
        let f = grid(
            &panels,
            3,
            &format!("layer 0: hidden attention, 6 channels (L = {l})"),
        );
        check_layout(&f);
        check_svg(
            &f,
            &[
                "channel 0",
                "channel 5",
                "query position i",
                "key position j",
                "0",
            ],
        );
        check_png(&f);
    }
    // the explanation strip: one row, a title far wider than the strip
    let strip = Heatmap {
        rows: 1,
        cols: 3,
        data: vec![0.1, 0.5, 0.2],
        title: "mixer-raw-abs: relevance for the prediction at position 2, logit 17".into(),
        row_labels: vec!["2".into()],
        col_labels: vec![],
        x_label: "key position j".into(),
        y_label: String::new(),
        bar_label: String::new(),
        scale: ColorScale::FromZero,
        causal: false,
        highlight_row: None,
    };
    let f = Figure::stack(&[heatmap(4, false).render(), strip.render()]);
    check_layout(&f);
    check_svg(&f, &["key position j", "2"]);
    check_png(&f);
}

#[test]
fn a_constant_map_shows_its_value() {
    for (v, label) in [(0.73, "0.73"), (-2.5, "-2.5"), (0.0, "0")] {
        let h = Heatmap::attention(1, vec![v], "one position");
        let (lo, hi, _, ticks) = h.range();
        assert!(lo < v && v < hi || v == 0.0 && lo < 0.0 && hi > 0.0);
        assert_eq!(ticks, vec![(v, label.to_string())]);
        let f = h.render();
        check_layout(&f);
        let t = texts(&f);
        assert!(t.iter().any(|s| s == label), "{t:?}");
        assert!(!t.iter().any(|s| s == "-0.5" || s == "0.5"), "{t:?}");
        check_svg(&f, &[label, "one position"]);
        check_png(&f);
    }
    // a constant L × L map likewise
    let h = Heatmap::attention(3, vec![0.25; 9], "constant");
    assert_eq!(h.range().3, vec![(0.25, "0.25".to_string())]);
}

#[test]
fn the_extension_chooses_the_format() {
    let p = |s: &str| PathBuf::from(s);
    assert_eq!(Format::of_path(&p("a.svg"), "out").unwrap(), Format::Svg);
    assert_eq!(
        Format::of_path(&p("dir/a.PNG"), "out").unwrap(),
        Format::Png
    );
    for bad in ["a.jpg", "a", "a.svg.gz"] {
        let e = Format::of_path(&p(bad), "out").unwrap_err();
        let m = e.to_string();
        assert!(m.contains("`out`") && m.contains(bad), "{m}");
    }
    let d = scratch("ext");
    let f = heatmap(4, false).render();
    let jpg = d.join("a.jpg");
    assert!(f.write(&jpg, "out").is_err());
    assert!(!jpg.exists());
}
