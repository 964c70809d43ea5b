"""What the browser tests measure in a page, as JavaScript for ``page.evaluate``."""

from __future__ import annotations

# The WCAG contrast ratio of every piece of visible text against what is behind it (the
# nearest ancestor with an opaque background), worst first: [[ratio, text], ...]; SVG text is
# measured by its fill.
CONTRAST = """() => {
  const lum = (rgb) => {
    const c = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const parse = (s) => { const m = s.match(/[\\d.]+/g); return m ? m.map(Number) : null; };
  const background = (node) => {
    for (let e = node; e && e.nodeType === 1; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && (c.length < 4 || c[3] > 0.9)) { return c.slice(0, 3); }
    }
    return [255, 255, 255];
  };
  const worst = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, e = node.parentElement;
    if (!node.textContent.trim() || !e || e.closest("script")) { continue; }
    const r = e.getBoundingClientRect(), style = getComputedStyle(e);
    if (r.width === 0 || style.visibility === "hidden" || style.display === "none") { continue; }
    const colour = parse(e instanceof SVGElement ? style.fill : style.color).slice(0, 3);
    const a = lum(colour), b = lum(background(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    worst.push([ratio, node.textContent.trim().slice(0, 40)]);
  }
  worst.sort((x, y) => x[0] - y[0]);
  return worst;
}"""
