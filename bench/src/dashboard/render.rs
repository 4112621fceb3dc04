//! The dashboard drawn as Grafana lays it out: every panel of the JSON at
//! its grid position, its queries evaluated by Prometheus over the run, in
//! Grafana's dark theme and colours. Grafana itself cannot be installed
//! here (it is in no package registry this project reaches), so this is
//! the picture of the same queries on the same layout, not a screenshot.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use super::prometheus::{Prometheus, Series};

const BACKGROUND: RGBColor = RGBColor(17, 18, 23);
const PANEL: RGBColor = RGBColor(24, 27, 31);
const BORDER: RGBColor = RGBColor(44, 50, 56);
const TEXT: RGBColor = RGBColor(204, 204, 220);
const DIM: RGBColor = RGBColor(142, 142, 160);
/// Grafana's classic palette, in its order.
const PALETTE: [RGBColor; 10] = [
    RGBColor(115, 191, 105),
    RGBColor(242, 204, 12),
    RGBColor(138, 184, 255),
    RGBColor(255, 120, 10),
    RGBColor(242, 73, 92),
    RGBColor(87, 148, 242),
    RGBColor(184, 119, 217),
    RGBColor(112, 219, 237),
    RGBColor(250, 222, 42),
    RGBColor(255, 152, 48),
];

const WIDTH: u32 = 1800;
const HEADER: u32 = 56;
const ROW: u32 = 34;
const GAP: i32 = 4;

/// The time the queries cover, and what stands for Grafana's variables.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Seconds since the epoch.
    pub start: f64,
    /// Seconds since the epoch.
    pub end: f64,
    /// Between two points.
    pub step: std::time::Duration,
    /// What `$__rate_interval` becomes (Grafana: at least four scrapes).
    pub rate_interval: String,
}

/// One panel with its data.
#[derive(Debug, Clone)]
pub struct Panel {
    title: String,
    stat: bool,
    /// x, y, w, h in Grafana's grid (24 columns; rows of `ROW` pixels).
    grid: [u32; 4],
    unit: String,
    /// A logarithmic axis (`custom.scaleDistribution`).
    log: bool,
    /// How opaque the area under a line is, 0 to 1 (`custom.fillOpacity`).
    fill: f64,
    lines: Vec<(String, Vec<(f64, f64)>)>,
    /// A stat's value texts and colours (`mappings`).
    mappings: Vec<(f64, String, String)>,
    /// A stat's colour steps (`thresholds`): from this value on, this colour.
    thresholds: Vec<(f64, String)>,
}

/// Evaluates every panel's queries over `frame`, the variables at "All".
pub async fn evaluate(
    dashboard: &Value,
    prometheus: &Prometheus,
    frame: &Frame,
) -> Result<Vec<Panel>, String> {
    let mut panels = Vec::new();
    for panel in dashboard["panels"].as_array().ok_or("no panels")? {
        let defaults = &panel["fieldConfig"]["defaults"];
        let grid = &panel["gridPos"];
        let cell = |name: &str| grid[name].as_u64().unwrap_or(0) as u32;
        let mut lines = Vec::new();
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().ok_or("a target without expr")?;
            let query = expr
                .replace("$__rate_interval", &frame.rate_interval)
                .replace("$instance", ".*")
                .replace("$method", ".*");
            let legend = target["legendFormat"].as_str().unwrap_or("");
            for series in prometheus
                .range(&query, frame.start, frame.end, frame.step)
                .await?
            {
                lines.push((legend_of(legend, &series), series.points));
            }
        }
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        panels.push(Panel {
            title: panel["title"].as_str().unwrap_or("").to_owned(),
            stat: panel["type"] == "stat",
            grid: [cell("x"), cell("y"), cell("w"), cell("h")],
            unit: defaults["unit"].as_str().unwrap_or("short").to_owned(),
            log: defaults["custom"]["scaleDistribution"]["type"] == "log",
            fill: defaults["custom"]["fillOpacity"].as_f64().unwrap_or(10.0) / 100.0,
            lines,
            mappings: mappings(&defaults["mappings"]),
            thresholds: defaults["thresholds"]["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|step| {
                    let from = step["value"].as_f64().unwrap_or(f64::MIN);
                    (from, step["color"].as_str().unwrap_or("green").to_owned())
                })
                .collect(),
        });
    }
    Ok(panels)
}

/// A series' name: the legend format with `{{label}}` filled in.
fn legend_of(format: &str, series: &Series) -> String {
    let mut name = format.to_owned();
    for (label, value) in &series.labels {
        name = name.replace(&format!("{{{{{label}}}}}"), value.as_str().unwrap_or(""));
    }
    name
}

fn mappings(mappings: &Value) -> Vec<(f64, String, String)> {
    let mut out = Vec::new();
    for mapping in mappings.as_array().into_iter().flatten() {
        for (value, shown) in mapping["options"].as_object().into_iter().flatten() {
            if let Ok(value) = value.parse() {
                let text = shown["text"].as_str().unwrap_or("").to_owned();
                let color = shown["color"].as_str().unwrap_or("green").to_owned();
                out.push((value, text, color));
            }
        }
    }
    out
}

/// Draws `panels` under a header of `title` and `subtitle`, as SVG at
/// `path`.
pub fn draw(
    panels: &[Panel],
    frame: &Frame,
    title: &str,
    subtitle: &str,
    path: &Path,
) -> Result<(), String> {
    let rows = panels
        .iter()
        .map(|p| p.grid[1] + p.grid[3])
        .max()
        .unwrap_or(0);
    let height = HEADER + rows * ROW + 8;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    let failed = |e: DrawingAreaErrorKind<_>| e.to_string();
    root.fill(&BACKGROUND).map_err(failed)?;
    root.draw(&Text::new(
        title.to_owned(),
        (16, 18),
        ("sans-serif", 22).into_font().color(&TEXT),
    ))
    .map_err(failed)?;
    root.draw(&Text::new(
        subtitle.to_owned(),
        (WIDTH as i32 - 16, 22),
        ("sans-serif", 13)
            .into_font()
            .color(&DIM)
            .pos(Pos::new(HPos::Right, VPos::Top)),
    ))
    .map_err(failed)?;
    let column = (WIDTH - 16) as f64 / 24.0;
    for panel in panels {
        let [x, y, w, h] = panel.grid;
        let left = 8 + (f64::from(x) * column) as i32 + GAP;
        let top = (HEADER + y * ROW) as i32 + GAP;
        let width = (f64::from(w) * column) as i32 - 2 * GAP;
        let height = (h * ROW) as i32 - 2 * GAP;
        let area = root
            .clone()
            .shrink((left, top), (width as u32, height as u32));
        area.fill(&PANEL).map_err(failed)?;
        area.draw(&Rectangle::new(
            [(0, 0), (width - 1, height - 1)],
            BORDER.stroke_width(1),
        ))
        .map_err(failed)?;
        area.draw(&Text::new(
            panel.title.clone(),
            (10, 8),
            ("sans-serif", 14).into_font().color(&TEXT),
        ))
        .map_err(failed)?;
        let body = area
            .clone()
            .shrink((0, 30), (width as u32, (height - 30) as u32));
        if panel.stat {
            stat(&body, panel, frame)?;
        } else {
            series(&body, panel, frame)?;
        }
    }
    root.present().map_err(|e| e.to_string())
}

/// A stat: the last value, large, coloured by the mappings or thresholds,
/// over a faint line of the whole run.
fn stat(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &Panel,
    frame: &Frame,
) -> Result<(), String> {
    let failed = |e: DrawingAreaErrorKind<_>| e.to_string();
    let (width, height) = area.dim_in_pixel();
    let centre = (width as i32 / 2, height as i32 / 2 - 4);
    let Some((_, points)) = panel.lines.first() else {
        return no_data(area);
    };
    let Some(last) = points.iter().rev().map(|p| p.1).find(|v| v.is_finite()) else {
        return no_data(area);
    };
    let (text, color) = match panel.mappings.iter().find(|m| m.0 == last) {
        Some((_, text, color)) => (text.clone(), named(color)),
        None => {
            let color = panel
                .thresholds
                .iter()
                .rev()
                .find(|(from, _)| last >= *from)
                .map_or(PALETTE[0], |(_, color)| named(color));
            (format_value(&panel.unit, last), color)
        }
    };
    let top = points
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut chart = ChartBuilder::on(area)
        .margin_top(height / 3)
        .build_cartesian_2d(frame.start..frame.end, 0.0..top * 1.05)
        .map_err(failed)?;
    for segment in segments(points) {
        chart
            .draw_series(
                AreaSeries::new(segment, 0.0, color.mix(0.15)).border_style(color.mix(0.5)),
            )
            .map_err(failed)?;
    }
    area.draw(&Text::new(
        text,
        centre,
        ("sans-serif", 40)
            .into_font()
            .color(&color)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(failed)?;
    Ok(())
}

/// A time series: a line (and a faint area) per series, a legend under it.
fn series(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &Panel,
    frame: &Frame,
) -> Result<(), String> {
    let failed = |e: DrawingAreaErrorKind<_>| e.to_string();
    // A logarithmic axis is drawn as a linear one of the values' logarithms
    // (zero has none: it is left out), labelled with the values.
    let lines: Vec<Vec<(f64, f64)>> = panel
        .lines
        .iter()
        .map(|(_, points)| {
            let scaled = |v: f64| if v > 0.0 { v.log10() } else { f64::NAN };
            points
                .iter()
                .map(|&(t, v)| (t, if panel.log { scaled(v) } else { v }))
                .collect()
        })
        .collect();
    let values = lines
        .iter()
        .flatten()
        .map(|p| p.1)
        .filter(|v| v.is_finite());
    let (Some(low), Some(high)) = (values.clone().reduce(f64::min), values.reduce(f64::max)) else {
        return no_data(area);
    };
    let (floor, top) = if panel.log {
        (low.floor(), high.ceil().max(low.floor() + 1.0))
    } else if high > 0.0 {
        (0.0, high * 1.15)
    } else {
        (0.0, 1.0)
    };
    let (width, height) = area.dim_in_pixel();
    let (legend, legend_rows) = legend_layout(panel, width);
    let plot = area
        .clone()
        .shrink((0, 0), (width, height - 20 * legend_rows));
    let unit = panel.unit.clone();
    let mut chart = ChartBuilder::on(&plot)
        .margin_left(6)
        .margin_right(14)
        .x_label_area_size(22)
        .y_label_area_size(72)
        .build_cartesian_2d(frame.start..frame.end, floor..top)
        .map_err(failed)?;
    let labels = ("sans-serif", 11).into_font().color(&DIM);
    let log = panel.log;
    let decades = (top - floor) as usize + 1;
    chart
        .configure_mesh()
        .x_labels(7)
        .y_labels(if log { decades } else { 5 })
        .x_label_formatter(&|time| clock(*time))
        .y_label_formatter(&|value| {
            format_value(&unit, if log { 10f64.powf(*value) } else { *value })
        })
        .label_style(labels)
        .axis_style(BORDER)
        .bold_line_style(BORDER)
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(failed)?;
    for (n, points) in lines.iter().enumerate() {
        let color = PALETTE[n % PALETTE.len()];
        for segment in segments(points) {
            chart
                .draw_series(
                    AreaSeries::new(segment, floor, color.mix(panel.fill))
                        .border_style(color.stroke_width(2)),
                )
                .map_err(failed)?;
        }
    }
    // The legend: a colour mark and a name per series, wrapped.
    let legend_top = (height - 20 * legend_rows) as i32 + 4;
    for (n, ((name, _), &(x, row))) in panel.lines.iter().zip(&legend).enumerate() {
        let y = legend_top + 20 * row as i32;
        let color = PALETTE[n % PALETTE.len()];
        area.draw(&Rectangle::new(
            [(x, y + 6), (x + 14, y + 9)],
            color.filled(),
        ))
        .map_err(failed)?;
        area.draw(&Text::new(
            name.clone(),
            (x + 20, y),
            ("sans-serif", 12).into_font().color(&TEXT),
        ))
        .map_err(failed)?;
    }
    Ok(())
}

/// Where each series' legend entry goes (x, row), wrapping at `width`;
/// and how many rows that takes.
fn legend_layout(panel: &Panel, width: u32) -> (Vec<(i32, u32)>, u32) {
    let (mut x, mut row) = (12, 0);
    let mut places = Vec::new();
    for (name, _) in &panel.lines {
        let room = 32 + 7 * name.chars().count() as i32;
        if x + room > width as i32 - 8 && x > 12 {
            (x, row) = (12, row + 1);
        }
        places.push((x, row));
        x += room;
    }
    (places, row + 1)
}

fn no_data(area: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String> {
    let (width, height) = area.dim_in_pixel();
    area.draw(&Text::new(
        "No data",
        (width as i32 / 2, height as i32 / 2),
        ("sans-serif", 16)
            .into_font()
            .color(&DIM)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(|e| e.to_string())
}

/// The runs of points with a value (Prometheus says `NaN` where a query
/// has none: a ratio of nothing to nothing, a quantile of no calls).
fn segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut segments = vec![Vec::new()];
    for &(time, value) in points {
        if value.is_finite() {
            segments
                .last_mut()
                .unwrap_or(&mut Vec::new())
                .push((time, value));
        } else if segments.last().is_some_and(|s| !s.is_empty()) {
            segments.push(Vec::new());
        }
    }
    segments.retain(|s| !s.is_empty());
    segments
}

/// `HH:MM:SS` (UTC) of a time in seconds since the epoch.
fn clock(time: f64) -> String {
    let seconds = time as u64 % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// A value in the panel's unit, as Grafana writes it.
pub fn format_value(unit: &str, value: f64) -> String {
    match unit {
        "reqps" => format!("{} req/s", short(value)),
        "cps" => format!("{}/s", short(value)),
        "percentunit" if value * 100.0 < 1.0 && value > 0.0 => format!("{:.2}%", value * 100.0),
        "percentunit" => format!("{:.1}%", value * 100.0),
        "s" if value == 0.0 => "0 s".to_owned(),
        "s" if value < 1e-3 => format!("{:.0} µs", value * 1e6),
        "s" if value < 1.0 => format!("{:.1} ms", value * 1e3),
        "s" => format!("{value:.2} s"),
        "Bps" if value >= 1e6 => format!("{:.1} MB/s", value / 1e6),
        "Bps" if value >= 1e3 => format!("{:.0} kB/s", value / 1e3),
        "Bps" => format!("{value:.0} B/s"),
        _ => short(value),
    }
}

fn short(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.0}K", value / 1e3)
    } else if value >= 1e3 {
        format!("{:.1}K", value / 1e3)
    } else if value.fract() == 0.0 || value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Grafana's named colours used by the dashboard.
fn named(color: &str) -> RGBColor {
    match color {
        "red" => RGBColor(242, 73, 92),
        "orange" => RGBColor(255, 152, 48),
        "yellow" => RGBColor(250, 222, 42),
        "blue" => RGBColor(87, 148, 242),
        _ => RGBColor(115, 191, 105),
    }
}

#[cfg(test)]
mod tests {
    use super::{format_value, segments};

    #[test]
    fn values_are_written_in_their_unit() {
        assert_eq!(format_value("s", 0.000_25), "250 µs");
        assert_eq!(format_value("s", 0.0425), "42.5 ms");
        assert_eq!(format_value("percentunit", 0.004), "0.40%");
        assert_eq!(format_value("percentunit", 0.3), "30.0%");
        assert_eq!(format_value("reqps", 2_345.0), "2.3K req/s");
        assert_eq!(format_value("Bps", 1_500_000.0), "1.5 MB/s");
        assert_eq!(format_value("short", 42.0), "42");
    }

    #[test]
    fn a_line_breaks_where_there_is_no_value() {
        let points = [(1.0, 1.0), (2.0, f64::NAN), (3.0, 3.0), (4.0, 4.0)];
        assert_eq!(
            segments(&points),
            [vec![(1.0, 1.0)], vec![(3.0, 3.0), (4.0, 4.0)]]
        );
        assert!(segments(&[(1.0, f64::NAN)]).is_empty());
    }
}
