//! A flame graph as inline SVG: a pure function from a tree of labelled byte counts
//! ([`Node`]) to an `<svg>` string. The root is the top row, each node's children are
//! the row below it, left to right from the largest, each as wide as its share of the
//! root's bytes.
//!
//! Every rect carries a `<title>` (the full label and its bytes: the browser's own
//! tooltip, no script needed), a label cut to the rect's width (keeping its end, the
//! fn's own name), and a colour hashed from the label, so a function has the same colour
//! wherever it appears. A node narrower than [`MIN_WIDTH`] is left out with everything
//! below it, which bounds the SVG's size whatever the tree.

use super::escape;
use crate::report::units::{fit, human_bytes};
use std::fmt::Write;

/// Width of the graph in SVG units (the page scales it to the section's width).
const WIDTH: f64 = 1200.0;
/// Height of one row.
const ROW: f64 = 17.0;
/// Width of one character of the labels (11 px monospace).
const CHAR: f64 = 6.7;
/// Space left of a label inside its rect.
const PAD: f64 = 3.0;
/// Narrowest node drawn.
const MIN_WIDTH: f64 = 0.5;
/// Colour of the root, the whole.
const ROOT_COLOR: &str = "#d0d5dd";

/// One node of the graph: a label, its bytes, and the nodes below it, whose bytes add
/// up to at most its own.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Node {
    /// Shown on the rect (cut to fit) and in full in its tooltip.
    pub(super) label: String,
    /// Bytes: the rect's width is this share of the root's.
    pub(super) value: u64,
    /// The row below, largest first once [`Node::sort`] has run.
    pub(super) children: Vec<Node>,
}

impl Node {
    /// A node with no bytes and no children.
    pub(super) fn new(label: &str) -> Self {
        Self {
            label: label.to_owned(),
            ..Self::default()
        }
    }

    /// Adds `value` bytes to this node and along `path` below it: each label of the path
    /// names a child of the node before it, made when missing.
    pub(super) fn add<'a>(&mut self, path: impl IntoIterator<Item = &'a str>, value: u64) {
        self.value = self.value.saturating_add(value);
        let mut at = self;
        for label in path {
            let i = match at.children.iter().position(|c| c.label == label) {
                Some(i) => i,
                None => {
                    at.children.push(Node::new(label));
                    at.children.len() - 1
                }
            };
            at = &mut at.children[i];
            at.value = at.value.saturating_add(value);
        }
    }

    /// Orders every node's children largest first, then by label, as the graph draws
    /// them (so two renderings of one tree are the same page).
    pub(super) fn sort(&mut self) {
        self.children
            .sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.label.cmp(&b.label)));
        self.children.iter_mut().for_each(Node::sort);
    }
}

/// One rect to draw: its node, left edge, width and row.
struct Placed<'a> {
    node: &'a Node,
    x: f64,
    width: f64,
    depth: usize,
}

/// The graph of `root` as an `<svg>` element with id `id`, its tooltips saying
/// "… bytes {what}" (`"in use"`, `"allocated"`); `root` is drawn as given (call
/// [`Node::sort`] first). A root of no bytes gives an SVG of one line saying so.
pub(super) fn svg(root: &Node, id: &str, what: &str) -> String {
    let mut placed = Vec::new();
    if root.value > 0 {
        place(root, 0.0, WIDTH / root.value as f64, 0, &mut placed);
    }
    let rows = placed.iter().map(|p| p.depth + 1).max().unwrap_or(1);
    let height = rows as f64 * ROW;
    let mut o = String::with_capacity(256 + placed.len() * 200);
    let _ = write!(
        o,
        "<svg class=\"flame\" id=\"{}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-label=\"flame graph of the bytes {}\">",
        escape(id),
        escape(what)
    );
    if placed.is_empty() {
        let _ = write!(
            o,
            "<text x=\"{PAD}\" y=\"{}\">no bytes {}</text>",
            ROW - 5.0,
            escape(what)
        );
    }
    for p in &placed {
        rect(&mut o, p, root.value, what);
    }
    o.push_str("</svg>");
    o
}

/// Places `node` at `x` in row `depth`, then its children below it, `scale` SVG units
/// per byte, leaving out the nodes narrower than [`MIN_WIDTH`].
fn place<'a>(node: &'a Node, x: f64, scale: f64, depth: usize, out: &mut Vec<Placed<'a>>) {
    let width = node.value as f64 * scale;
    out.push(Placed {
        node,
        x,
        width,
        depth,
    });
    let mut left = x;
    for c in &node.children {
        let w = c.value as f64 * scale;
        if w >= MIN_WIDTH {
            place(c, left, scale, depth + 1, out);
        }
        left += w;
    }
}

/// One node's `<g>`: tooltip, rect, and the label when at least three characters fit.
fn rect(o: &mut String, p: &Placed, total: u64, what: &str) {
    let share = p.node.value as f64 / total as f64 * 100.0;
    let fill = if p.depth == 0 {
        ROOT_COLOR.to_owned()
    } else {
        color(&p.node.label)
    };
    let y = p.depth as f64 * ROW;
    let _ = write!(
        o,
        "<g><title>{}\n{} {} · {share:.1}%</title><rect x=\"{:.1}\" y=\"{y}\" width=\"{:.1}\" \
         height=\"{}\" fill=\"{fill}\"/>",
        escape(&p.node.label),
        human_bytes(p.node.value),
        escape(what),
        p.x,
        p.width,
        ROW - 1.0
    );
    let chars = ((p.width - 2.0 * PAD) / CHAR).floor();
    if chars >= 3.0 {
        let _ = write!(
            o,
            "<text x=\"{:.1}\" y=\"{}\">{}</text>",
            p.x + PAD,
            y + ROW - 5.0,
            escape(&fit(&p.node.label, chars as usize))
        );
    }
    o.push_str("</g>");
}

/// A warm colour (red to yellow) picked by a hash of `label`: the same label, the same
/// colour, in every graph and every run.
fn color(label: &str) -> String {
    let h = fnv1a(label.as_bytes());
    let hue = h % 56;
    let saturation = 65 + (h >> 8) % 25;
    let lightness = 56 + (h >> 16) % 12;
    format!("hsl({hue},{saturation}%,{lightness}%)")
}

/// The 64-bit FNV-1a hash: fixed, unlike std's hasher, which may change between builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root of 100 bytes: `a` (75, with `a1` below it) and `b` (25).
    fn tree() -> Node {
        let mut root = Node::new("all");
        root.add(["b"], 25);
        root.add(["a", "a1"], 60);
        root.add(["a"], 15);
        root.sort();
        root
    }

    /// The `x`, `y` and `width` of the rect whose tooltip starts with `label`.
    fn rect_of(svg: &str, label: &str) -> (f64, f64, f64) {
        let at = svg.find(&format!("<title>{label}\n")).expect(label);
        let r = &svg[at + svg[at..].find("<rect").unwrap()..];
        let attr = |name: &str| -> f64 {
            let v = &r[r.find(&format!(" {name}=\"")).unwrap() + name.len() + 3..];
            v[..v.find('"').unwrap()].parse().unwrap()
        };
        (attr("x"), attr("y"), attr("width"))
    }

    #[test]
    fn paths_merge_and_widths_are_shares_of_the_root() {
        let root = tree();
        assert_eq!(root.value, 100);
        assert_eq!(root.children[0].label, "a");
        assert_eq!(root.children[0].value, 75);
        assert_eq!(root.children[0].children[0].value, 60);
        let svg = svg(&root, "f", "in use");
        assert!(svg.starts_with("<svg class=\"flame\" id=\"f\" viewBox=\"0 0 1200 51\""));
        assert_eq!(rect_of(&svg, "all"), (0.0, 0.0, 1200.0));
        assert_eq!(rect_of(&svg, "a"), (0.0, 17.0, 900.0));
        assert_eq!(rect_of(&svg, "b"), (900.0, 17.0, 300.0));
        assert_eq!(rect_of(&svg, "a1"), (0.0, 34.0, 720.0));
        assert!(svg.contains("<title>a1\n60 B in use · 60.0%</title>"));
        assert_eq!(svg.matches("<rect").count(), 4);
    }

    #[test]
    fn labels_are_escaped_and_cut_to_their_rect() {
        let mut root = Node::new("all");
        let long = format!("app::{}::put", "m".repeat(400));
        root.add([long.as_str()], 90);
        root.add(["<script>x"], 10);
        root.sort();
        let svg = svg(&root, "f", "allocated");
        assert!(!svg.contains("<script"));
        assert!(svg.contains("<title>&lt;script&gt;x\n10 B allocated · 10.0%</title>"));
        // 120 units: room for 17 characters, the whole label.
        assert!(svg.contains(">&lt;script&gt;x</text>"));
        let shown = |label_end: &str| {
            let at = svg.find(label_end).unwrap();
            let start = svg[..at].rfind('>').unwrap() + 1;
            svg[start..at + label_end.len()].chars().count()
        };
        // 1080 units: 160 characters of the long name, behind a `…`.
        assert_eq!(shown("::put</text>") - "</text>".len(), 160);
        assert!(svg.contains(&format!("<title>{long}\n")));
    }

    #[test]
    fn narrow_nodes_are_left_out_and_colours_are_fixed() {
        let mut root = Node::new("all");
        root.add(["big", "below"], 1_000_000);
        root.add(["tiny", "below tiny"], 1);
        root.sort();
        let svg = svg(&root, "f", "in use");
        assert!(svg.contains("<title>big\n"));
        assert!(!svg.contains("tiny"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert_eq!(color("app::put"), color("app::put"));
        assert_ne!(color("app::put"), color("app::get"));
        assert!(svg.contains(&format!("fill=\"{}\"", color("big"))));
        assert!(svg.contains(&format!("fill=\"{ROOT_COLOR}\"")));
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn no_bytes_draw_one_line() {
        let svg = svg(&Node::new("all"), "f", "in use");
        assert_eq!(svg.matches("<rect").count(), 0);
        assert!(svg.contains(">no bytes in use</text>"));
    }
}
