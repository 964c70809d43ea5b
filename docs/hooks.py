"""MkDocs hooks (mkdocs.yml: ``hooks``): what the site shows from outside docs/.

- The course: demos/notebooks/*.ipynb become ``course/NN_name.ipynb`` pages, rendered by
  mkdocs-jupyter with their saved outputs; their links to each other (``02_activations.ipynb``,
  right on a code host and in Jupyter) are pointed at the rendered pages.
- The pictures: demos/images/* become ``images/*``.
- The gallery: ``gallery/*.html``, pages chainrule makes, generated here by the demos' own code
  (the neuron's and an XOR sample's walkthroughs, the training explorer on two moons).
- The API reference: mkdocstrings reads the source of ``chainrule.engine`` and ``chainrule.nn``,
  which live in engine/ and nn/; a folder of links gives them those names on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "demos" / "notebooks"
IMAGES = ROOT / "demos" / "images"
#: A link from one notebook to another, as the notebooks write it.
NOTEBOOK_LINK = re.compile(r'href="(\d\d_\w+)\.ipynb"')

_folder = tempfile.TemporaryDirectory(prefix="chainrule-docs-")


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    names = Path(_folder.name) / "names" / "chainrule"
    names.mkdir(parents=True, exist_ok=True)
    for package in ("engine", "nn"):
        (names / package).unlink(missing_ok=True)
        (names / package).symlink_to(ROOT / package, target_is_directory=True)
    if str(names.parent) not in sys.path:
        sys.path.append(str(names.parent))  # after the installed chainrule, for imports
    return config


@event_priority(100)  # before mkdocs-jupyter picks the notebooks out of the files
def on_files(files: Files, config: MkDocsConfig) -> Files:
    # mkdocs-jupyter reads a notebook from its file's source folder, so the notebooks get one:
    # a folder whose course/ is demos/notebooks/.
    source = Path(_folder.name) / "source"
    source.mkdir(exist_ok=True)
    (source / "course").unlink(missing_ok=True)
    (source / "course").symlink_to(COURSE, target_is_directory=True)
    for notebook in sorted(COURSE.glob("[0-9][0-9]_*.ipynb")):
        files.append(File(f"course/{notebook.name}", src_dir=str(source),
                          dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    for image in sorted(IMAGES.iterdir()):
        files.append(File.generated(config, f"images/{image.name}", abs_src_path=str(image)))
    gallery = Path(_folder.name) / "gallery"
    gallery.mkdir(exist_ok=True)
    for page in gallery_pages(gallery):
        name = page.relative_to(gallery).as_posix()
        files.append(File.generated(config, f"gallery/{name}", abs_src_path=str(page)))
    return files


def gallery_pages(folder: Path) -> list[Path]:
    """Write the gallery's pages into ``folder`` with the demos' code; returns every file."""
    sys.path.insert(0, str(ROOT / "demos"))
    try:
        from walkthrough import neuron_walkthrough, xor_walkthrough
        from why_it_fails import moons_explorer

        with contextlib.redirect_stdout(io.StringIO()):  # the demos narrate what they do
            neuron_walkthrough().save_html(folder / "neuron_walkthrough.html")
            xor_walkthrough().save_html(folder / "xor_walkthrough.html")
            moons_explorer(folder, points=100, epochs=60, picture=False)
    finally:
        sys.path.remove(str(ROOT / "demos"))
    return sorted(path for path in folder.rglob("*") if path.is_file())


def on_post_page(output: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    if page.file.src_uri.startswith("course/") and page.file.src_uri.endswith(".ipynb"):
        # course/01_neuron/ -> course/02_activations/ (directory URLs) or the .html page.
        target = r'href="../\1/"' if config["use_directory_urls"] else r'href="\1.html"'
        return NOTEBOOK_LINK.sub(target, output)
    return output
