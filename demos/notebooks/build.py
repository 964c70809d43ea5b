"""Run the course's notebooks top to bottom in a real Jupyter kernel and save them with their
outputs, so that they read well on a code host.

The kernel is this Python (the project's venv), described by a kernelspec written to a
temporary folder: nothing is installed into, or read from, your home's Jupyter or IPython
folders. Saved notebooks still name the ordinary ``python3`` kernel, so they open anywhere.

Run: python demos/notebooks/build.py [NOTEBOOK ...]   (or `make notebooks`; default: all)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
#: The course, in order.
NOTEBOOKS = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
KERNEL_NAME = "chainrule-course"
#: Per cell; the slowest cell (the training explorer) takes about three seconds.
CELL_TIMEOUT = 300


@contextmanager
def kernel_folder() -> Iterator[Path]:
    """A private Jupyter data folder with a kernelspec for this very Python."""
    with tempfile.TemporaryDirectory(prefix="chainrule-kernel-") as folder:
        spec = Path(folder) / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (chainrule)",
            "language": "python",
        }))
        yield Path(folder)


def execute(path: Path, folder: Path) -> nbformat.NotebookNode:
    """``path`` executed in a fresh kernel (raises ``CellExecutionError`` on the first error)."""
    notebook = nbformat.read(path, as_version=4)
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")], ensure_native_kernel=False)
    manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
    environment = {
        **os.environ,
        # The kernel's own profile and connection files stay in the private folder.
        "IPYTHONDIR": str(folder / "ipython"),
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        # Figures inline, whatever backend the caller chose for itself (tests use Agg).
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONHASHSEED": "0",
    }
    client = NotebookClient(
        notebook, km=manager, timeout=CELL_TIMEOUT, record_timing=False,
        coalesce_streams=True,  # a text progress bar keeps only its last state
        # No widget state in the saved notebook: a renderer would fetch the widget libraries
        # from another host to show it (the site is offline); a widget's cell keeps its own
        # static output beside the widget (the walkthrough's page).
        store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=environment)
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return notebook


def main(arguments: list[str]) -> None:
    paths = [Path(a).resolve() for a in arguments] or NOTEBOOKS
    with kernel_folder() as folder:
        for path in paths:
            print(f"running {path.relative_to(HERE.parent.parent)}", flush=True)
            nbformat.write(execute(path, folder), path)


if __name__ == "__main__":
    main(sys.argv[1:])
