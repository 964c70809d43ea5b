"""The live walkthrough as a Jupyter widget (anywidget: JupyterLab, Notebook 7, VS Code, Colab).

The widget runs the page's own script (the program compiled to JavaScript, the templates'
filler, the walkthrough and its live layer), wrapped as an ES module whose ``render`` draws the
page in a frame of its own (so its styles and element ids never meet the notebook's). The leaf
values are a synced trait, ``leaves`` (by leaf name): set them from Python and the page
recomputes; edit them in the page and Python sees them. ``output``, ``values`` and
``gradients`` are the numbers at those leaves, computed by eager Python; ``error`` is the
engine's refusal when the leaves leave an operation's domain (the numbers stay the last valid
ones). anywidget is an optional extra: ``pip install 'chainrule[widget]'``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from ..errors import ChainruleError
from .html import LiveGraphError, json_for_script, page_body, page_script, page_style
from .live import eager_numbers, editable_leaves

if TYPE_CHECKING:
    from .lesson import Lesson

__all__ = ["WidgetLeafError", "WidgetNotInstalledError", "walkthrough_widget", "widget_module"]


class WidgetNotInstalledError(ChainruleError, ImportError):
    """The widget needs the anywidget package (the ``widget`` extra)."""


class WidgetLeafError(ChainruleError, ValueError):
    """``widget.leaves`` was given a name that is not a leaf, or a value that is not a
    finite number."""


#: The ES module's wrapper: the page's script runs inside ``runPage``, whose parameters stand
#: for the globals it uses, so that it finds the frame's elements, not the notebook's.
_MODULE = """\
const PAGE_STYLE = {style};
const PAGE_BODY = {body};
function runPage(document, window) {{
{script}
}}
function render({{ model, el }}) {{
  const frame = document.createElement("iframe");
  frame.title = {title};
  frame.style.cssText = "width: 100%; height: 640px; border: 1px solid #ccc; display: block";
  el.appendChild(frame);
  const page = frame.contentDocument;
  page.open();
  page.write("<!DOCTYPE html><html lang=\\"en\\"><head><meta charset=\\"utf-8\\"><style>" +
             PAGE_STYLE + "</style></head><body>" + PAGE_BODY + "</body></html>");
  page.close();
  runPage(page, frame.contentWindow);
  const live = frame.contentWindow.chainruleLive;
  const fit = () => {{
    frame.style.height = Math.min(1400, page.documentElement.scrollHeight + 2) + "px";
  }};
  const watcher = new ResizeObserver(fit);
  watcher.observe(page.body);
  fit();
  const fromModel = () => live.setLeaves(model.get("leaves"));
  model.on("change:leaves", fromModel);
  const stop = live.subscribe((leaves) => {{
    model.set("leaves", leaves);
    model.save_changes();
  }});
  fromModel();
  return () => {{
    model.off("change:leaves", fromModel);
    stop();
    watcher.disconnect();
  }};
}}
export default {{ render }};
"""


def widget_module(lesson: Lesson) -> str:
    """The widget's ES module: the page's script and markup, and ``render``."""
    return _MODULE.format(
        style=json_for_script(page_style()),
        body=json_for_script(page_body(lesson)),
        script=page_script(lesson),
        title=json_for_script(lesson.title),
    )


def walkthrough_widget(lesson: Lesson, static_html: str) -> Any:
    """The widget of ``lesson`` (see the module's description); ``static_html`` is what a
    notebook without widgets shows instead (the static page)."""
    return _widget_class()(lesson, static_html)


@cache
def _widget_class() -> type:
    try:
        import anywidget
        import traitlets
    except ImportError:
        raise WidgetNotInstalledError(
            "Walkthrough.widget() needs the anywidget package (Jupyter widgets): "
            "pip install 'chainrule[widget]'"
        ) from None

    class WalkthroughWidget(anywidget.AnyWidget):
        """The live walkthrough in a notebook: see :mod:`chainrule.engine.explain.widget`."""

        _esm = traitlets.Unicode().tag(sync=True)
        leaves = traitlets.Dict().tag(sync=True)
        error = traitlets.Unicode("")
        output = traitlets.Float()
        values = traitlets.Dict()
        gradients = traitlets.Dict()

        def __init__(self, lesson: Lesson, static_html: str) -> None:
            self._lesson = lesson
            self._static_html = static_html
            if not lesson.order:
                raise LiveGraphError("widget: the lesson has no graph: build it with walkthrough()")
            self._order = list(lesson.order)
            nodes = lesson.forward.nodes
            self._names = [node.name for node in nodes]
            self._leaf_index = {nodes[i].name: i for i in editable_leaves(self._order)}
            self._recorded = {name: nodes[i].value for name, i in self._leaf_index.items()}
            super().__init__(_esm=widget_module(lesson), leaves=dict(self._recorded))
            self._recompute(self._recorded)

        @traitlets.validate("leaves")
        def _check_leaves(self, proposal: Any) -> dict[str, float]:
            given = proposal["value"]
            checked = dict(self.leaves) if self.leaves else dict(self._recorded)
            for name, value in given.items():
                if name not in self._leaf_index:
                    known = ", ".join(self._leaf_index)
                    raise WidgetLeafError(
                        f"widget: {name!r:.60} is not a leaf of this walkthrough (its leaves: "
                        f"{known})")
                if isinstance(value, bool) or not isinstance(value, int | float) or (
                        not math.isfinite(value)):
                    raise WidgetLeafError(
                        f"widget: leaf {name} must be a finite number, got {value!r:.40}")
                checked[name] = float(value)
            return checked

        @traitlets.observe("leaves")
        def _leaves_changed(self, change: Any) -> None:
            self._recompute(change["new"])

        def _recompute(self, leaves: Mapping[str, float]) -> None:
            try:
                numbers = eager_numbers(self._order[-1], {self._leaf_index[name]: value
                                                          for name, value in leaves.items()},
                                        self._order)
            except ChainruleError as refusal:  # the last valid numbers stay
                self.error = str(refusal)
                return
            self.error = ""
            self.output = numbers.values[-1]
            self.values = {self._names[i]: v for i, v in enumerate(numbers.values)
                           if numbers.grads[i] is not None}
            self.gradients = {self._names[i]: g for i, g in enumerate(numbers.grads)
                              if g is not None}

        def reset(self) -> None:
            """Every leaf back to its recorded value."""
            self.leaves = dict(self._recorded)

        def __repr__(self) -> str:  # the notebook's text, when widgets cannot be shown
            return (f"<live walkthrough of {self._lesson.root_name}: "
                    f"{len(self._leaf_index)} leaves; .leaves, .output, .gradients>")

        def _repr_mimebundle_(self, **kwargs: Any) -> Any:
            # The static page beside the widget: what a reader without widgets sees.
            bundle = super()._repr_mimebundle_(**kwargs)
            if bundle is None:
                return None
            data, metadata = bundle
            data["text/html"] = self._static_html
            return data, metadata

    return WalkthroughWidget
