//! The comparison drawn: grouped bars, one group per scenario and one bar
//! per server (the limit, ours, the peer), written as SVG files that
//! `BENCHMARKS.md` shows.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The servers' names and colours, in the order of every group's bars.
pub const SERVERS: [(&str, RGBColor); 3] = [
    (
        "the limit (raw echo; bare hyper for HTTP)",
        RGBColor(160, 160, 160),
    ),
    ("rpc-server", RGBColor(33, 113, 181)),
    ("jsonrpsee 0.26", RGBColor(230, 126, 34)),
];

/// One group of bars: a scenario, a value per server, and the text written
/// above each bar.
#[derive(Debug, Clone)]
pub struct Group {
    /// Under the group.
    pub name: String,
    /// One per server of [`SERVERS`], in its order.
    pub values: [f64; 3],
    /// Above each bar.
    pub labels: [String; 3],
}

/// What a chart shows.
#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    /// Above the chart.
    pub title: &'a str,
    /// Beside the vertical axis.
    pub axis: &'a str,
    /// The groups, left to right.
    pub groups: &'a [Group],
    /// A logarithmic axis (for values that span decades).
    pub log: bool,
}

/// Draws `chart` as an SVG file at `path`.
pub fn draw(chart: &Chart<'_>, path: &Path) -> Result<(), String> {
    let width = 140 * chart.groups.len().max(1) as u32 + 160;
    let root = SVGBackend::new(path, (width.max(520), 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|err| err.to_string())?;
    let values = chart.groups.iter().flat_map(|group| group.values);
    let top = values
        .clone()
        .fold(f64::MIN, f64::max)
        .max(f64::MIN_POSITIVE);
    let x = 0.0..chart.groups.len() as f64;
    if chart.log {
        let bottom = values.fold(f64::MAX, f64::min).min(top);
        // Whole decades around the values, room below the shortest bar and
        // above the tallest for the legend.
        let (low, high) = (
            10f64.powf((bottom.log10() - 0.5).floor()),
            10f64.powf(top.log10().ceil() + 0.3),
        );
        bars(&root, chart, x, (low..high).log_scale(), low)
    } else {
        // Room above the tallest bar for the legend.
        bars(&root, chart, x, 0.0..top * 1.5, 0.0)
    }
}

fn bars<Y>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &Chart<'_>,
    x: std::ops::Range<f64>,
    y: impl plotters::coord::ranged1d::AsRangedCoord<CoordDescType = Y, Value = f64>,
    floor: f64,
) -> Result<(), String>
where
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let failed = |err: DrawingAreaErrorKind<_>| err.to_string();
    let mut plot = ChartBuilder::on(root)
        .caption(chart.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d::<std::ops::Range<f64>, _>(x, y)
        .map_err(failed)?;
    plot.configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(chart.axis)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(failed)?;
    let label = ("sans-serif", 11).into_font().color(&BLACK);
    let under = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (server, (name, color)) in SERVERS.iter().enumerate() {
        let color = *color;
        let boxes = chart.groups.iter().enumerate().map(move |(n, group)| {
            let left = n as f64 + 0.12 + server as f64 * 0.26;
            Rectangle::new(
                [
                    (left, floor),
                    (left + 0.24, group.values[server].max(floor)),
                ],
                color.filled(),
            )
        });
        plot.draw_series(boxes)
            .map_err(failed)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        let texts = chart.groups.iter().enumerate().map(|(n, group)| {
            let middle = n as f64 + 0.24 + server as f64 * 0.26;
            EmptyElement::at((middle, group.values[server].max(floor)))
                + Text::new(
                    group.labels[server].clone(),
                    (0, -4),
                    label.clone().pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
        });
        plot.draw_series(texts).map_err(failed)?;
    }
    let names = chart.groups.iter().enumerate().map(|(n, group)| {
        EmptyElement::at((n as f64 + 0.5, floor))
            + Text::new(group.name.clone(), (0, 8), under.clone())
    });
    plot.draw_series(names).map_err(failed)?;
    plot.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(failed)?;
    root.present().map_err(|err| err.to_string())
}
