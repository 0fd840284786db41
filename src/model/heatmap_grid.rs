//! A grid of small heatmaps (the channels or heads of one layer, or one panel per layer)
//! as one [`Figure`].

use crate::model::figure::{width_of, Anchor, Figure, Shape, Text};
use crate::model::heatmap::{
    col_ticks, colour_bar, fill, fmt_num, frame, nice_ticks, ramp, row_ticks, thinned, title_over,
    widest, Heatmap, AXIS, GREY, MASKED, RDBU, TICK, TITLE,
};

/// A grid of small heatmaps, `ncols` to a row, each scaled to its own largest |value|
/// `$m$` (diverging colours on `$[-m, m]$`) and captioned with it, with tick labels on the
/// outer panels (the first panel's labels and axis titles) and a shared colour bar in
/// units of each panel's `$m$`.
pub fn grid(panels: &[Heatmap], ncols: usize, title: &str) -> Figure {
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
    let cell = (target / n).clamp(1, 40) as i32;
    let side = n as i32 * cell;
    let first = panels.first();
    let labels = |f: fn(&Heatmap) -> &Vec<String>| first.map(f).cloned().unwrap_or_default();
    let (row_labels, col_labels) = (labels(|p| &p.row_labels), labels(|p| &p.col_labels));
    let ts = if cell >= 10 { TICK } else { 11.0 };
    let ticks = thinned(n, cell, ts);
    let (caption, small) = (12.0, 11.0);
    let cap = (caption * 1.1f64 + small * 1.1).ceil() as i32 + 6;
    let (gap_x, gap_y) = (18, 14);
    let (pw, ph) = (side + gap_x, cap + side + gap_y);
    let mut out = Vec::new();
    for (k, p) in panels.iter().enumerate() {
        let (r, c) = ((k / ncols) as i32, (k % ncols) as i32);
        let (x0, y0) = (c * pw, r * ph);
        let m = p.data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let fit = |s: &str, size: f64| -> String {
            let mut s: String = s.to_string();
            while s.chars().count() > 1 && width_of(&s, size) > side {
                s.pop();
            }
            s
        };
        out.push(Shape::Text(Text::new(
            x0,
            y0,
            fit(&p.title, caption),
            caption,
            Anchor::Start,
        )));
        let max = fit(&format!("max |v| {}", fmt_num(m)), small);
        let y1 = y0 + (caption * 1.1).ceil() as i32;
        out.push(Shape::Text(
            Text::new(x0, y1, max, small, Anchor::Start).color(GREY),
        ));
        let top = y0 + cap;
        for i in 0..p.rows {
            for j in 0..p.cols {
                let v = p.data.get(i * p.cols + j).copied().unwrap_or(f64::NAN);
                let col = if p.causal && j > i {
                    MASKED
                } else if m > 0.0 {
                    ramp(&RDBU, (v / m + 1.0) / 2.0)
                } else {
                    ramp(&RDBU, 0.5)
                };
                out.push(fill(
                    x0 + j as i32 * cell,
                    top + i as i32 * cell,
                    cell,
                    cell,
                    col,
                ));
            }
        }
        let (w, h) = (p.cols as i32 * cell, p.rows as i32 * cell);
        out.extend(frame(x0, top, w, h, GREY, 1));
        if c == 0 {
            let t: Vec<usize> = ticks.iter().copied().filter(|&i| i < p.rows).collect();
            row_ticks(&mut out, &t, &row_labels, x0, top, cell, ts);
        }
        if k + ncols >= panels.len() {
            let t: Vec<usize> = ticks.iter().copied().filter(|&j| j < p.cols).collect();
            col_ticks(&mut out, &t, &col_labels, x0, top + h, cell, ts);
        }
    }
    let (x_label, y_label) = first.map_or(
        ("key position j".to_string(), "query position i".to_string()),
        |p| (p.x_label.clone(), p.y_label.clone()),
    );
    let grid_w = ncols as i32 * pw - gap_x;
    let grid_h = nrows as i32 * ph - gap_y;
    let below = grid_h + 8 + widest(&ticks, &col_labels, ts) + 10;
    if !x_label.is_empty() {
        out.push(Shape::Text(Text::new(
            grid_w / 2,
            below,
            x_label,
            AXIS,
            Anchor::Middle,
        )));
    }
    if !y_label.is_empty() {
        let x = -8 - widest(&ticks, &row_labels, ts) - 10 - (0.9 * AXIS).ceil() as i32;
        out.push(Shape::Text(
            Text::new(x, grid_h / 2, y_label, AXIS, Anchor::Middle).up(),
        ));
    }
    let cb_h = (grid_h - cap).max(120);
    let bar_ticks = nice_ticks(-1.0, 1.0, if cb_h >= 140 { 5 } else { 3 });
    colour_bar(
        &mut out,
        grid_w + 24,
        cap,
        cb_h,
        -1.0,
        1.0,
        true,
        &bar_ticks,
        "value / max |v| of its panel",
    );
    title_over(&mut out, title, TITLE);
    Figure::fit(out)
}
