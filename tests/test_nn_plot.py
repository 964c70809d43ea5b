"""chainrule.nn.plot: figures are produced (Agg backend) from the right data, bad input gets a
clear error, and without matplotlib the error names the `plot` extra."""

from __future__ import annotations

import builtins
import math
import subprocess
import sys
from pathlib import Path

import pytest

from support.nn import assert_valid_png

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from chainrule.engine import grad  # noqa: E402
from chainrule.nn import (  # noqa: E402
    MLP,
    Adam,
    ConfigurationError,
    DataError,
    History,
    binary_cross_entropy,
    datasets,
    fit,
    plot,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")


@pytest.fixture(scope="module")
def xor_model() -> MLP:
    X, y = datasets.xor()
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    fit(model, X, y, loss=binary_cross_entropy, optimizer=Adam(model.parameters(), lr=0.05),
        epochs=200, progress=False)
    return model


def test_loss_curves_draws_each_named_curve_on_a_log_axis(tmp_path: Path) -> None:
    history = History(loss=[1.0, 0.5, 0.25], val_loss=[1.1, 0.6, 0.3])
    figure = plot.loss_curves({"model": history, "baseline": [0.9, 0.9, 0.9]}, title="t")
    (axes,) = figure.axes
    lines = {line.get_label(): list(line.get_ydata()) for line in axes.get_lines()}
    assert lines == {"model": [1.0, 0.5, 0.25], "baseline": [0.9, 0.9, 0.9]}
    assert list(axes.get_lines()[0].get_xdata()) == [1, 2, 3]
    assert axes.get_yscale() == "log" and axes.get_title() == "t"
    assert_valid_png(plot.save_figure(figure, tmp_path / "loss.png"), min_bytes=2000)


def test_a_history_shows_its_validation_curve_and_zero_losses_keep_a_linear_axis() -> None:
    figure = plot.loss_curves(History(loss=[0.5, 0.1], val_loss=[0.6, 0.2]))
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["training", "validation"]
    assert plot.loss_curves([1.0, 0.0]).axes[0].get_yscale() == "linear"


def test_loss_curves_of_a_history_from_fit_with_and_without_validation() -> None:
    X, y = datasets.xor()
    curves = []
    for validation in (None, (X, y)):
        model = MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=0)
        history = fit(model, X, y, loss=binary_cross_entropy, optimizer=Adam(model, lr=0.05),
                      epochs=5, progress=False, validation=validation)
        lines = plot.loss_curves(history).axes[0].get_lines()
        curves.append({line.get_label(): list(line.get_ydata()) for line in lines})
    assert curves[0] == {"training": history.loss}  # val_loss is [None] * 5: no curve
    assert curves[1] == {"training": history.loss, "validation": history.val_loss}


@pytest.mark.parametrize("bad", [[], "loss", [1.0, math.nan], {"a": []}])
def test_loss_curves_refuses_what_is_not_a_list_of_finite_losses(bad: object) -> None:
    with pytest.raises(DataError, match="loss_curves: curve"):
        plot.loss_curves(bad)  # type: ignore[arg-type]


def test_decision_regions_shade_the_grid_and_draw_every_sample(
        xor_model: MLP, tmp_path: Path) -> None:
    X, y = datasets.xor()
    line = ([0.0, 1.0], [1.0, 0.0], "a line")
    figure = plot.decision_regions(xor_model, X, y, threshold=0.5, resolution=20, lines=[line])
    (axes,) = figure.axes
    points = sorted(tuple(p) for c in axes.collections if hasattr(c, "get_offsets")
                    and len(c.get_offsets()) and c.get_label().startswith("class")
                    for p in c.get_offsets())
    assert points == sorted(tuple(map(float, p)) for p in X)
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["class 0", "class 1", "a line"]
    assert_valid_png(plot.save_figure(figure, tmp_path / "regions.png"))


def test_decision_regions_of_a_multi_class_model() -> None:
    X, y = datasets.blobs(30, centers=3, seed=0)
    model = MLP(2, [3], activation="linear", seed=0)
    figure = plot.decision_regions(model, X, y, resolution=10)
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels == ["class 0", "class 1", "class 2"]


def test_decision_regions_refuses_mismatched_or_non_2d_data(xor_model: MLP) -> None:
    with pytest.raises(DataError, match="4 samples and y has 3"):
        plot.decision_regions(xor_model, datasets.xor()[0], [0, 1, 1])
    with pytest.raises(DataError, match="2-D"):
        plot.decision_regions(MLP(3, [1], seed=0), [[0, 0, 0]], [0])
    with pytest.raises(ConfigurationError, match="resolution"):
        plot.decision_regions(xor_model, *datasets.xor(), resolution=1)


def test_activations_plots_the_engine_values_and_grad_slopes() -> None:
    figure = plot.activations(["sigmoid", "tanh"], x_range=(-2.0, 2.0), points=5)
    values, slopes = figure.axes
    sigmoid_line, tanh_line = values.get_lines()[:2]
    assert list(sigmoid_line.get_xdata()) == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert sigmoid_line.get_ydata()[2] == 0.5
    assert tanh_line.get_ydata()[3] == math.tanh(1.0)
    slope_of = {line.get_label(): list(line.get_ydata()) for line in slopes.get_lines()
                if line.get_label() in ("sigmoid", "tanh")}
    assert slope_of["sigmoid"][2] == 0.25
    assert slope_of["tanh"] == [grad(lambda v: v.tanh())(x) for x in (-2.0, -1.0, 0.0, 1.0, 2.0)]


def test_activations_without_derivatives_has_one_panel() -> None:
    figure = plot.activations(["relu", "leaky_relu"], derivatives=False)
    assert len(figure.axes) == 1
    assert [line.get_label() for line in figure.axes[0].get_lines()][:2] == ["relu", "leaky_relu"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"names": ["swish"]}, "unknown activation 'swish'"),
    ({"names": ["linear"]}, "unknown activation 'linear'"),
    ({"points": 1}, "points must be an int >= 2"),
    ({"x_range": (1.0, 1.0)}, "x_range must be"),
])
def test_activations_refuses_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        plot.activations(**kwargs)


def test_without_matplotlib_the_error_names_the_plot_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[plot\]'"):
        plot.loss_curves([1.0, 0.5])


def test_importing_chainrule_nn_does_not_import_matplotlib() -> None:
    code = "import sys, chainrule.nn, chainrule.nn.plot; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
