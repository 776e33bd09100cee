//! The evidence picture measured the way a renderer lays it out: the SVG is parsed
//! by usvg (resvg's front end) with the DejaVu Sans subset in `tests/fonts` as its only
//! font, so every text node gets a real layout box (glyph advances × the font's
//! ascent + descent) and the measurement is the same on any machine. The font is
//! the first family the SVG asks for; a viewer with Arial or Helvetica instead draws
//! narrower text. What is measured: the boxes of the text nodes; not what a viewer
//! without any of those fonts would do.

use std::sync::Arc;

use resvg::usvg;

/// The DejaVu Sans subset (ASCII and · × – … →); licence in `tests/fonts/LICENSE`.
const FONT: &[u8] = include_bytes!("../../../../tests/fonts/DejaVuSans-subset.ttf");

/// A text node as laid out: its id (may be empty), text, size and box in canvas px.
#[derive(Clone, Debug)]
pub struct TextBox {
    pub id: String,
    pub text: String,
    pub font_size: f32,
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

impl TextBox {
    pub fn overlaps(&self, o: &TextBox) -> bool {
        self.left < o.right && o.left < self.right && self.top < o.bottom && o.top < self.bottom
    }
}

/// A laid-out picture: the canvas size and every text node.
pub struct Picture {
    pub tree: usvg::Tree,
    pub width: f32,
    pub height: f32,
    pub texts: Vec<TextBox>,
}

fn options() -> usvg::Options<'static> {
    let mut db = usvg::fontdb::Database::new();
    db.load_font_data(FONT.to_vec());
    db.set_sans_serif_family("DejaVu Sans");
    usvg::Options {
        fontdb: Arc::new(db),
        ..usvg::Options::default()
    }
}

fn collect(group: &usvg::Group, out: &mut Vec<TextBox>) {
    for node in group.children() {
        match node {
            usvg::Node::Group(g) => collect(g, out),
            usvg::Node::Text(t) => {
                let r = t.abs_bounding_box();
                let spans = t.chunks().iter().flat_map(|c| c.spans());
                out.push(TextBox {
                    id: t.id().to_string(),
                    text: t.chunks().iter().map(|c| c.text()).collect(),
                    font_size: spans.map(|s| s.font_size().get()).fold(f32::MAX, f32::min),
                    left: r.left(),
                    top: r.top(),
                    right: r.right(),
                    bottom: r.bottom(),
                });
            }
            _ => {}
        }
    }
}

/// Parse and lay out `svg`; every `<text>` of the source must come out laid out (a
/// text the font could not shape would vanish from the tree and escape the checks).
pub fn lay_out(svg: &str) -> Picture {
    let tree = usvg::Tree::from_str(svg, &options()).expect("usvg parses the SVG");
    let mut texts = Vec::new();
    collect(tree.root(), &mut texts);
    assert_eq!(
        texts.len(),
        svg.matches("<text ").count(),
        "every text node is laid out"
    );
    let size = tree.size();
    Picture {
        width: size.width(),
        height: size.height(),
        tree,
        texts,
    }
}

/// Lay out `svg` and check it reads: every text box inside the canvas, no two text
/// boxes overlapping (tick labels included), every text at least 11 px.
pub fn assert_readable(svg: &str) -> Picture {
    let p = lay_out(svg);
    for t in &p.texts {
        assert!(
            t.left >= 0.0 && t.top >= 0.0 && t.right <= p.width && t.bottom <= p.height,
            "text outside the {}×{} canvas: {t:?}",
            p.width,
            p.height
        );
        assert!(t.font_size >= 11.0, "text smaller than 11 px: {t:?}");
    }
    let ticks: Vec<&TextBox> = p
        .texts
        .iter()
        .filter(|t| t.id.starts_with("tick-"))
        .collect();
    assert!(ticks.len() >= 2, "at least two time ticks: {ticks:?}");
    for (i, a) in p.texts.iter().enumerate() {
        for b in &p.texts[i + 1..] {
            assert!(!a.overlaps(b), "overlapping text:\n{a:?}\n{b:?}");
        }
    }
    p
}

/// The boxes whose id starts with `prefix`.
pub fn with_id<'a>(p: &'a Picture, prefix: &str) -> Vec<&'a TextBox> {
    p.texts
        .iter()
        .filter(|t| t.id.starts_with(prefix))
        .collect()
}

/// Render to PNG bytes at 1 px per SVG unit (white background is part of the SVG).
pub fn png(p: &Picture) -> Vec<u8> {
    let size = p.tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).expect("a canvas");
    resvg::render(
        &p.tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().expect("PNG encoding")
}
