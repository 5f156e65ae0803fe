//! Figures the simulator draws for docs/simulation.md: small, dependency-free SVG line charts
//! with labelled axes, ticks, gridlines and a legend.
//!
//! Written by hand because the charts are simple (a few series of points) and must be
//! reproducible byte for byte from a seed; a charting crate would bring fonts and layout rules
//! this page does not need.

use std::fmt::Write as _;

/// One series of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its name, in the legend.
    pub name: String,
    /// Its points.
    pub points: Vec<(f64, f64)>,
    /// Draw markers (measurements) rather than a line (a prediction).
    pub markers: bool,
    /// Its colour.
    pub color: &'static str,
}

/// An axis: its label and whether it is logarithmic.
#[derive(Debug, Clone)]
pub struct Axis {
    /// The label, with its unit.
    pub label: String,
    /// Logarithmic (base 10).
    pub log: bool,
}

/// A line chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The title.
    pub title: String,
    /// What to notice, under the title.
    pub caption: String,
    /// The horizontal axis.
    pub x: Axis,
    /// The vertical axis.
    pub y: Axis,
    /// The series.
    pub series: Vec<Series>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 64.0;
const BOTTOM: f64 = 64.0;

/// Ticks for a range: 1-2-5 steps on a linear axis, powers of ten on a log axis.
fn ticks(low: f64, high: f64, log: bool) -> Vec<f64> {
    if log {
        let (a, b) = (low.log10().floor() as i32, high.log10().ceil() as i32);
        return (a..=b).map(|e| 10f64.powi(e)).collect();
    }
    let span = (high - low).max(f64::MIN_POSITIVE);
    let raw = span / 6.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).floor() * step;
    (0..=20)
        .map(|i| first + step * f64::from(i))
        .take_while(|t| *t <= high + step * 0.5)
        .collect()
}

fn label(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs();
    if !(0.01..1000.0).contains(&magnitude) {
        format!("{value:.0e}")
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

impl Chart {
    /// The chart as an SVG document.
    pub fn to_svg(&self) -> String {
        let points: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .filter(|(x, y)| (!self.x.log || *x > 0.0) && (!self.y.log || *y > 0.0))
            .collect();
        let range = |values: Vec<f64>, log: bool| {
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !low.is_finite() {
                return if log { (1.0, 10.0) } else { (0.0, 1.0) };
            }
            if log {
                (
                    10f64.powf(low.log10().floor()),
                    10f64.powf(high.log10().ceil()),
                )
            } else {
                let low = low.min(0.0);
                (low, if high > low { high } else { low + 1.0 })
            }
        };
        let (x0, x1) = range(points.iter().map(|p| p.0).collect(), self.x.log);
        let (y0, y1) = range(points.iter().map(|p| p.1).collect(), self.y.log);
        let x_ticks = ticks(x0, x1, self.x.log);
        let y_ticks = ticks(y0, y1, self.y.log);
        let (x1, y1) = (
            x_ticks.last().copied().unwrap_or(x1).max(x1),
            y_ticks.last().copied().unwrap_or(y1).max(y1),
        );
        let scale = |v: f64, lo: f64, hi: f64, log: bool| {
            if log {
                (v.log10() - lo.log10()) / (hi.log10() - lo.log10())
            } else {
                (v - lo) / (hi - lo)
            }
        };
        let px = |x: f64| LEFT + scale(x, x0, x1, self.x.log) * (WIDTH - LEFT - RIGHT);
        let py = |y: f64| HEIGHT - BOTTOM - scale(y, y0, y1, self.y.log) * (HEIGHT - TOP - BOTTOM);
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="13">"#
        );
        let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{}</text>"#,
            escape(&self.title)
        );
        let _ = writeln!(
            svg,
            r##"<text x="{LEFT}" y="44" fill="#444">{}</text>"##,
            escape(&self.caption)
        );
        for &t in x_ticks.iter().filter(|t| **t >= x0 && **t <= x1) {
            let x = px(t);
            let _ = writeln!(
                svg,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                HEIGHT - BOTTOM,
                HEIGHT - BOTTOM + 18.0,
                label(t)
            );
        }
        for &t in y_ticks.iter().filter(|t| **t >= y0 && **t <= y1) {
            let y = py(t);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                WIDTH - RIGHT,
                LEFT - 8.0,
                y + 4.0,
                label(t)
            );
        }
        let _ = writeln!(
            svg,
            r##"<rect x="{LEFT}" y="{TOP}" width="{:.1}" height="{:.1}" fill="none" stroke="#333"/>"##,
            WIDTH - LEFT - RIGHT,
            HEIGHT - TOP - BOTTOM
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
            HEIGHT - 16.0,
            escape(&self.x.label)
        );
        let _ = writeln!(
            svg,
            r#"<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">{}</text>"#,
            TOP + (HEIGHT - TOP - BOTTOM) / 2.0,
            TOP + (HEIGHT - TOP - BOTTOM) / 2.0,
            escape(&self.y.label)
        );
        for (i, series) in self.series.iter().enumerate() {
            let visible: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|(x, y)| (!self.x.log || *x > 0.0) && (!self.y.log || *y > 0.0))
                .collect();
            if series.markers {
                for (x, y) in &visible {
                    let _ = writeln!(
                        svg,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{}"/>"#,
                        px(*x),
                        py(*y),
                        series.color
                    );
                }
            } else {
                let path: Vec<String> = visible
                    .iter()
                    .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
                    .collect();
                let _ = writeln!(
                    svg,
                    r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
                    path.join(" "),
                    series.color
                );
            }
            let ly = TOP + 16.0 + 18.0 * i as f64;
            let lx = LEFT + 12.0;
            let mark = if series.markers {
                format!(
                    r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{}"/>"#,
                    lx + 8.0,
                    ly - 4.0,
                    series.color
                )
            } else {
                format!(
                    r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"/>"#,
                    ly - 4.0,
                    lx + 16.0,
                    ly - 4.0,
                    series.color
                )
            };
            let _ = writeln!(
                svg,
                r#"{mark}<text x="{:.1}" y="{ly:.1}">{}</text>"#,
                lx + 24.0,
                escape(&series.name)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The stale-rate chart: measured points and theory's line, against the block interval.
pub fn stale_chart(points: &[super::scenario::StalePoint], nodes: usize) -> Chart {
    Chart {
        title: format!("Stale blocks against block interval ({nodes} nodes)"),
        caption: "Shorter intervals leave less time to spread a block before the next is found"
            .into(),
        x: Axis {
            label: "block interval (seconds, log scale)".into(),
            log: true,
        },
        y: Axis {
            label: "stale blocks (% of blocks mined)".into(),
            log: false,
        },
        series: vec![
            Series {
                name: "simulated".into(),
                points: points
                    .iter()
                    .map(|p| (f64::from(p.block_interval), p.stale_rate * 100.0))
                    .collect(),
                markers: true,
                color: "#c0392b",
            },
            Series {
                name: "theory, from the measured delays".into(),
                points: points
                    .iter()
                    .map(|p| (f64::from(p.block_interval), p.estimate * 100.0))
                    .collect(),
                markers: false,
                color: "#2a6ebb",
            },
        ],
    }
}

/// The propagation chart: the share of nodes a block has reached, over time.
pub fn propagation_chart(cdf: &[(f64, f64)], nodes: usize) -> Chart {
    Chart {
        title: format!("How fast a block reaches {nodes} nodes"),
        caption: "Median over the best chain's blocks of the time to reach each share of nodes"
            .into(),
        x: Axis {
            label: "time since the block was mined (seconds)".into(),
            log: false,
        },
        y: Axis {
            label: "nodes reached (%)".into(),
            log: false,
        },
        series: vec![Series {
            name: "simulated".into(),
            points: cdf.to_vec(),
            markers: false,
            color: "#2a6ebb",
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_its_title_axes_ticks_and_every_series() {
        let chart = Chart {
            title: "stale rate".into(),
            caption: "shorter intervals, more stale blocks".into(),
            x: Axis {
                label: "block interval (s)".into(),
                log: true,
            },
            y: Axis {
                label: "stale blocks (%)".into(),
                log: false,
            },
            series: vec![
                Series {
                    name: "simulated".into(),
                    points: vec![(10.0, 5.0), (60.0, 1.0), (600.0, 0.1)],
                    markers: true,
                    color: "#c33",
                },
                Series {
                    name: "theory".into(),
                    points: vec![(10.0, 4.8), (600.0, 0.1)],
                    markers: false,
                    color: "#36c",
                },
            ],
        };
        let svg = chart.to_svg();
        for text in [
            "stale rate",
            "block interval (s)",
            "stale blocks (%)",
            "simulated",
            "theory",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert_eq!(
            svg.matches("<circle").count(),
            3 + 1,
            "three points and a legend mark"
        );
        assert!(
            svg.contains(">10<") && svg.contains(">1e3<"),
            "log ticks 10 .. 1000"
        );
        assert_eq!(svg.matches("<polyline").count(), 1);
    }

    #[test]
    fn linear_ticks_step_by_one_two_or_five() {
        assert_eq!(ticks(0.0, 10.0, false), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 1.0, false).len(), 6);
        assert_eq!(ticks(3.0, 250.0, true), [1.0, 10.0, 100.0, 1000.0]);
    }
}
