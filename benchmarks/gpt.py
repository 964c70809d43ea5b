"""The GPT workload: microgpt's configuration trained on real names, one name per step, by
chainrule's GPT and by an engine of microgpt's design (:mod:`microgpt`), in lockstep.

Both start from the same weights (copied by parameter name), see the same names in the same
order, and take Adam steps with the same hyperparameters and linear decay. Each step is timed
on its own (prepared outside the timed region, garbage collected before it) and the engines
alternate which goes first, step by step. Their losses must agree to ``LOSS_TOLERANCE``
(relative) at every step.
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

import microgpt
from timing import recursion_limit, time_work

from chainrule.nn import GPT, Adam, CharTokenizer, datasets

LOSS_TOLERANCE = 1e-12
#: microgpt's configuration and optimiser.
CONFIG = {"n_embd": 16, "n_head": 4, "n_layer": 1, "block_size": 16}
LR, BETAS, EPS, DECAY_STEPS, SEED = 0.01, (0.85, 0.99), 1e-8, 1000, 42


_timed = time_work


def gpt_training(steps: int) -> dict[str, Any]:
    names = datasets.names()
    tokenizer = CharTokenizer(names)
    model = GPT(tokenizer.vocab_size, **CONFIG, seed=SEED)
    optimizer = Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    reference = microgpt.MicroGPT(model, LR, BETAS, EPS, DECAY_STEPS)

    def chainrule_step(tokens: list[int], step: int) -> float:
        optimizer.lr = LR * (1 - step / DECAY_STEPS)
        loss = model.loss(tokens)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss.data

    engines = ("chainrule", "microgpt")
    seconds: dict[str, list[float]] = {e: [] for e in engines}
    collector: dict[str, list[float]] = {e: [] for e in engines}
    losses: dict[str, list[float]] = {e: [] for e in engines}
    with recursion_limit(microgpt.recursion_needed()):
        for step in range(steps):
            tokens = tokenizer.encode(names[step])
            runs = {
                "chainrule": lambda tokens=tokens, step=step: chainrule_step(tokens, step),
                "microgpt": lambda tokens=tokens: reference.train_step(tokens),
            }
            order = engines if step % 2 == 0 else engines[::-1]
            for engine in order:
                elapsed, collected, loss = _timed(runs[engine])
                seconds[engine].append(elapsed)
                collector[engine].append(collected)
                losses[engine].append(loss)
    differences = [abs(a - b) / abs(b)
                   for a, b in zip(losses["chainrule"], losses["microgpt"], strict=True)]
    report = {
        engine: {"unit": "ms", "median": statistics.median(seconds[engine]) * 1e3,
                 "samples": [s * 1e3 for s in seconds[engine]],
                 "collector_median": statistics.median(collector[engine]) * 1e3}
        for engine in engines
    }
    return {
        "engines": report,
        "microgpt/chainrule": report["microgpt"]["median"] / report["chainrule"]["median"],
        "per_step_ratio_median": statistics.median(
            m / c for m, c in zip(seconds["microgpt"], seconds["chainrule"], strict=True)),
        "steps": steps,
        "parameters": model.num_parameters,
        "losses": losses["chainrule"],
        "check": {"max_relative_loss_difference": max(differences),
                  "losses_agree": max(differences) <= LOSS_TOLERANCE},
        "python": sys.version.split()[0],
    }
