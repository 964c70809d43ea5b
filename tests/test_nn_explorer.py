"""The training explorer's data and files (the page itself is driven in
test_explorer_browser.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from chainrule.engine import sigmoid
from chainrule.nn import (
    MLP,
    ConfigurationError,
    DataError,
    Explorer,
    bce_with_logits,
    datasets,
    explore,
    predict,
)
from chainrule.nn import io as nn_io
from chainrule.nn.explorer.frames import evenly, parameters_of

from support.explorer import moons_run, regression_run, xor_run


def page_data(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S)
    return json.loads(block.group(1))


def test_evenly_keeps_first_and_last() -> None:
    assert evenly(5, 10) == [0, 1, 2, 3, 4]
    assert evenly(101, 5) == [0, 25, 50, 75, 100]
    picked = evenly(1000, 30)
    assert len(picked) == 30 and picked[0] == 0 and picked[-1] == 999


def test_the_heatmap_is_the_model_at_each_recorded_epoch() -> None:
    model, X, y, history = xor_run()
    before = [p.data for p in model.parameters()]
    explorer = explore(history, model, X, y, loss=bce_with_logits, max_frames=7, grid=8)
    assert [p.data for p in model.parameters()] == before  # parameters are given back
    data = explorer.data
    frames = data["frames"]
    assert [f["epoch"] for f in frames] == [0, 10, 20, 30, 40, 50, 60]
    box = data["box"]
    for frame, snapshot in zip(frames, [s for s in history.recording.snapshots
                                        if s.epoch % 10 == 0], strict=True):
        heat = base64.b64decode(frame["heat"])
        assert len(heat) == 8 * 8
        # Cell (row 0, column 7): the top-right corner, read from the model itself.
        x = box[0] + (box[1] - box[0]) * 7.5 / 8
        y_ = box[3] - (box[3] - box[2]) * 0.5 / 8
        with parameters_of(model, snapshot):
            score = predict(model, [[x, y_]])[0]
            weights = [[p.data for p in n.parameters()] for n in model.layers[0].neurons]
        assert heat[7] == round(sigmoid(score) * 255)  # bce_with_logits: threshold 0
        assert frame["weights"][0] == weights
    assert frames[0]["gradientNorms"] is None and len(frames[-1]["gradientNorms"]) == 2
    assert data["curves"]["loss"] == history.loss and data["curves"]["valLoss"] is None
    assert data["pointLabels"] == y and data["chosenSamples"] == [0, 1]


def test_unit_outputs_and_summaries() -> None:
    model, X, y, history = xor_run(epochs=5)
    data = explore(history, model, X, y, grid=4).data
    last = data["frames"][-1]
    outputs = base64.b64decode(last["activations"])
    assert len(outputs) == (3 + 1) * 4  # every unit on every sample, one byte each
    hidden = [[n(x).data for x in X] for n in model.layers[0].neurons]
    assert list(outputs[:4]) == [round((a + 1) / 2 * 255) for a in hidden[0]]  # tanh: 0.5 is 0
    assert last["units"][0][0]["mean"] == pytest.approx(sum(hidden[0]) / 4)
    assert "saturated" in last["units"][0][0]
    assert data["chosenSamples"] == []  # no loss given: no walkthroughs


def test_save_html_writes_the_page_and_its_walkthroughs(tmp_path) -> None:
    model, X, y, history = xor_run(epochs=20)
    path = history.save_html(tmp_path / "xor.html", model, X, y, loss=bce_with_logits,
                             samples=[1, 3], walkthrough_epochs=2, grid=6)
    page = path.read_text(encoding="utf-8")
    data = page_data(page)
    assert [(w["sample"], w["epoch"]) for w in data["walkthroughs"]] == [
        (1, 0), (3, 0), (1, 20), (3, 20)]
    for link in data["walkthroughs"]:
        target = tmp_path / link["href"]
        assert target.parent.name == "xor_steps" and target.exists()
        assert "step by step" in target.read_text(encoding="utf-8")
    assert not list(tmp_path.rglob("*.partial"))
    # The CSP allows only this page's own script, by hash.
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page and "default-src 'none'" in page


def test_save_html_never_follows_a_symbolic_link_at_its_temporary_name(tmp_path, monkeypatch
                                                                      ) -> None:
    model, X, y, history = xor_run(epochs=3)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    # The names a page was written through: the old fixed one, and the next random ones.
    (tmp_path / "xor.html.partial").symlink_to(victim)
    tokens = iter(["planted", "fresh"])
    monkeypatch.setattr(nn_io.secrets, "token_hex", lambda n: next(tokens))
    (tmp_path / ".xor.html.planted.tmp").symlink_to(victim)
    path = history.save_html(tmp_path / "xor.html", model, X, y, grid=4)
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert "<script>" in path.read_text(encoding="utf-8")
    assert not (tmp_path / ".xor.html.fresh.tmp").exists()


def test_inline_in_jupyter_and_without_two_inputs() -> None:
    model, X, y, history = xor_run(epochs=3)
    explorer = history.explorer(model, X, y, loss=bce_with_logits)
    assert isinstance(explorer, Explorer)
    assert explorer._repr_html_().startswith("<iframe srcdoc=\"&lt;!DOCTYPE html&gt;")
    assert page_data(explorer.html())["walkthroughs"] == []
    model, X, y, history = regression_run()
    data = explore(history, model, X, y).data
    assert data["mode"] == "none" and data["grid"] is None and "heat" not in data["frames"][0]


def test_page_size_stays_bounded() -> None:
    model, X, y, history = moons_run(points=120, epochs=40)
    explorer = explore(history, model, X, y, max_frames=30, grid=32, max_points=100)
    page = explorer.html()
    data = page_data(page)
    assert len(data["frames"]) == 30 and len(data["pointIndex"]) == 100
    assert len(page) < 300_000, len(page)
    assert data["curves"]["valLoss"] == history.val_loss


def test_bad_input_is_named() -> None:
    model, X, y, history = xor_run(epochs=2, record=False)
    with pytest.raises(DataError, match=r"record=True"):
        explore(history, model, X, y)
    model, X, y, history = xor_run(epochs=2)
    with pytest.raises(DataError, match="different model"):
        explore(history, MLP(2, [2, 1], seed=0), X, y)
    with pytest.raises(ConfigurationError, match="samples must be indices"):
        explore(history, model, X, y, loss=bce_with_logits, samples=[9])
    with pytest.raises(ConfigurationError, match="grid must be an integer"):
        explore(history, model, X, y, grid=1)
    with pytest.raises(ConfigurationError, match="history must be a History"):
        explore([0.1], model, *datasets.xor())


def test_several_classes_colour_each_cell_by_the_largest_output() -> None:
    from chainrule.nn import Adam, cross_entropy, fit

    X, y = datasets.blobs(30, centers=3, seed=0)
    model = MLP(2, [5, 3], activation="tanh", seed=0)
    history = fit(model, X, y, cross_entropy, Adam(model, lr=0.05), epochs=4, progress=False,
                  record=True)
    data = explore(history, model, X, y, grid=5).data
    assert data["mode"] == "classes" and data["labels"] == [0, 1, 2]
    box = data["box"]
    cells = [[box[0] + (box[1] - box[0]) * (i + 0.5) / 5, box[3] - (box[3] - box[2]) * (j + 0.5) / 5]
             for j in range(5) for i in range(5)]
    outputs = predict(model, cells)
    expected = [max(range(3), key=o.__getitem__) for o in outputs]
    assert list(base64.b64decode(data["frames"][-1]["heat"])) == expected
