"""Losses walked through without dead branches, with the shortcut dL/dz = y - t where it holds,
and with PyTorch's numbers."""

from __future__ import annotations

from typing import Any

import pytest

from chainrule.engine import Value, walkthrough
from chainrule.nn import MLP, bce_with_logits, binary_cross_entropy, cross_entropy

from support.arithmetic import check_text, page_data, page_strings


def page_texts(w: Any) -> list[str]:
    """What the page shows with its recorded numbers."""
    return [text for _, text in page_strings(page_data(w.html()))]


def _neuron() -> tuple[Value, list[Value]]:
    w, x, b = Value(0.5, label="w"), Value(2.0, label="x"), Value(0.1, label="b")
    return (w * x + b).sigmoid(), [w, x, b]


@pytest.mark.parametrize("target", [1.0, 0.0, 0.25])
def test_bce_has_no_dead_branch_and_nn_s_numbers(target: float) -> None:
    y, _ = _neuron()
    w = walkthrough(y, target=target, loss="bce", picture=False)
    # No operation multiplies by a zero target or adds a zero term.
    for node in w.forward.nodes:
        if node.kind == "constant":
            assert node.value != 0.0, w.text()
    operations = [n.op for n in w.forward.nodes if n.kind == "operation"]
    if target in (0.0, 1.0):
        assert "mul" not in operations[3:], operations  # only the neuron's own w * x
    # The same loss, bit for bit, as chainrule.nn builds it, and as PyTorch computes it.
    expected = binary_cross_entropy(y, target)
    assert w.loss_before == expected.data
    torch = pytest.importorskip("torch")
    reference = torch.nn.functional.binary_cross_entropy(
        torch.tensor(y.data, dtype=torch.float64), torch.tensor(target, dtype=torch.float64))
    assert w.loss_before == pytest.approx(reference.item(), rel=1e-15, abs=1e-16)


@pytest.mark.parametrize("target", [1.0, 0.0])
def test_sigmoid_and_bce_show_dl_dz_equals_y_minus_t(target: float) -> None:
    y, _ = _neuron()
    w = walkthrough(y, target=target, loss="bce", picture=False)
    text = " ".join(w.text().split())
    expected = f"sigmoid + binary cross-entropy shortcut: dL/dn2 = y - t = 0.75026 - {target:g} = "
    assert expected in text
    assert check_text(w.text(width=10_000)).equalities > 0
    (note,) = map(w.said, w.shortcuts.values())
    assert note in w.markdown().replace("\\", "") and note in page_texts(w)


def test_no_shortcut_where_it_does_not_hold() -> None:
    y, _ = _neuron()
    assert walkthrough(y, target=1.0, loss="mse", picture=False).shortcuts == {}
    tanh = Value(0.3, label="z").tanh()
    assert walkthrough(tanh, picture=False).shortcuts == {}


def test_bce_with_logits_and_an_nn_network_get_the_shortcut() -> None:
    z = Value(0.4, label="z")
    for target, gradient in ((1.0, 0.598688 - 1), (0.0, 0.598688)):
        w = walkthrough(bce_with_logits(z, target), picture=False)
        (note,) = map(w.said, w.shortcuts.values())
        assert f"df/dz = y - t = 0.598688 - {target:g} = {gradient:.6g}" in note
        assert note.endswith(", with y = sigmoid(z)")
    model = MLP(2, [2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    loss = binary_cross_entropy(model([Value(1.0, label="x1"), Value(0.0, label="x2")]), 1.0)
    w = walkthrough(loss, picture=False)
    (node,) = w.shortcuts
    assert w.forward.nodes[node].name == "layer1.neuron0.z"


def test_softmax_cross_entropy_shows_p_minus_t_for_every_logit() -> None:
    logits = [Value(2.0, label="z0"), Value(0.5, label="z1"), Value(-1.0, label="z2")]
    w = walkthrough(cross_entropy(logits, 0), picture=False)
    notes = {w.forward.nodes[i].name: w.said(note) for i, note in w.shortcuts.items()}
    assert sorted(notes) == ["z0", "z1", "z2"]
    assert "df/dz0 = p - t = 0.785597 - 1 = -0.214403" in notes["z0"]
    assert "df/dz2 = p - t = 0.0391126 - 0 = 0.0391126" in notes["z2"]
    assert check_text(w.text(width=10_000)).equalities > 0
