"""The documentation site builds with ``mkdocs build --strict`` (as ``make docs`` does), offline,
and holds together: every internal link and picture resolves, no page loads anything from
another host, the API reference covers every public name, the course is rendered with its saved
outputs, and the gallery holds the pages chainrule makes. (Slow: tests/conftest.py.)"""

from __future__ import annotations

import html.parser
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from chainrule import engine, nn
from chainrule.engine.primitives import FAMILIES

ROOT = Path(__file__).resolve().parent.parent
COURSE = sorted((ROOT / "demos" / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="pip install 'chainrule[docs]' (make docs installs it)")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    return out


class _Page(html.parser.HTMLParser):
    """A page's ids, its links (href of a, area) and what it loads (src, stylesheets...)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if "id" in found:
            self.ids.add(found["id"])
        if tag in ("a", "area") and "href" in found:
            self.links.append(found["href"])
        elif tag == "link" and "href" in found:
            (self.links if found.get("rel") in ("canonical", "alternate") else self.loads).append(
                found["href"])
        for name in ("src", "data", "poster"):
            if name in found:
                self.loads.append(found[name])
        if "srcset" in found:
            self.loads += [part.split()[0] for part in found["srcset"].split(",") if part.strip()]


def _pages(site: Path) -> dict[Path, _Page]:
    pages = {}
    for path in sorted(site.rglob("*.html")):
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8"))
        pages[path] = parser
    return pages


def _target(site: Path, page: Path, url: str) -> tuple[Path, str] | None:
    """The file an internal URL names, and its fragment; None for another host or scheme."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path:
        return page, parts.fragment
    target = (site / unquote(parts.path).lstrip("/") if parts.path.startswith("/")
              else page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


def test_every_internal_link_and_picture_resolves(site: Path) -> None:
    pages = _pages(site)
    assert len(pages) > 20
    broken = []
    for page, parsed in pages.items():
        for url in parsed.links + parsed.loads:
            if url.startswith(("data:", "mailto:", "javascript:")):
                continue
            found = _target(site, page, url)
            if found is None:
                continue
            target, fragment = found
            if not target.is_file() or site.resolve() not in target.parents:
                broken.append(f"{page.relative_to(site)}: {url}")
            elif (fragment and target in pages
                  and unquote(fragment) not in pages[target].ids):
                broken.append(f"{page.relative_to(site)}: {url} (no such anchor)")
    assert broken == []


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    outside = []
    for page, parsed in _pages(site).items():
        outside += [f"{page.relative_to(site)}: {url}" for url in parsed.loads
                    if urlsplit(url).scheme in ("http", "https") or url.startswith("//")]
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        outside += [f"{sheet.relative_to(site)}: {url}"
                    for url in re.findall(r"(?:url\(|@import\s+)['\"]?((?:https?:)?//[^'\")\s]+)",
                                          text)]
    assert outside == []


def _documented(site: Path, page: str) -> set[str]:
    text = (site / "api" / page / "index.html").read_text(encoding="utf-8")
    return set(re.findall(r'id="(chainrule\.[\w.]+)"', text))


def test_the_api_reference_covers_every_public_name(site: Path) -> None:
    generated = {p.function for p in engine.PRIMITIVES.values() if p.function} | {
        family.function for family in FAMILIES.values()}
    documented = _documented(site, "engine") | _documented(site, "nn")
    names = {name.rsplit(".", 1)[-1] for name in documented}
    assert set(engine.__all__) - generated - names == set()
    assert set(nn.__all__) - names == set()
    # The docstrings' doctest examples are shown as highlighted Python sessions (as Markdown,
    # their >>> would read as nested quotations).
    for page in ("engine", "nn"):
        text = (site / "api" / page / "index.html").read_text(encoding="utf-8")
        assert re.search(r'<div class="highlight"><pre>.*?&gt;&gt;&gt;', text, flags=re.S)
        assert "<blockquote>" not in text


def test_the_course_is_rendered_with_its_saved_outputs(site: Path) -> None:
    assert len(COURSE) == 7
    for notebook in COURSE:
        page = site / "course" / notebook.stem / "index.html"
        text = page.read_text(encoding="utf-8")
        assert "jp-OutputArea" in text or "output_area" in text, notebook.name
        # Links between notebooks lead to the rendered pages, not to .ipynb files.
        assert not re.search(r'href="\d\d_\w+\.ipynb"', text), notebook.name
    first = (site / "course" / "01_neuron" / "index.html").read_text(encoding="utf-8")
    assert 'href="../02_activations/"' in first
    assert re.search(r"weighted sum +=  ?1\.09\n", first)  # an output saved in the notebook


def test_the_gallery_holds_pages_chainrule_made(site: Path) -> None:
    gallery = site / "gallery"
    for name in ("neuron_walkthrough.html", "xor_walkthrough.html", "moons_explorer.html"):
        text = (gallery / name).read_text(encoding="utf-8")
        assert "Content-Security-Policy" in text, name
    index = (gallery / "index.html").read_text(encoding="utf-8")
    assert '<iframe src="neuron_walkthrough.html"' in index
    assert '<iframe src="moons_explorer.html"' in index
