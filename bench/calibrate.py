"""Calibrating the decision thresholds on the dev split, never on test.

Each dev question is ranked once; every threshold combination of a small grid is
then applied to the same rankings. Kept: the combinations that answer wrongly at
most ``--max-wrong`` of in-scope questions and answer at most ``--max-oos`` of
out-of-scope ones; best first by answers that are right, then out-of-scope
questions rejected, then in-scope questions offered the right choice.
The grid is centred on the thresholds the engine uses now, those of its model
(``index.runtime.policy_for``): a fine-tuned model's cosines sit far below the
untuned e5's, and a fixed grid could not follow them. Print only: the chosen
values go by hand into ``index/decision.py`` (untuned e5) or
``index.finetune.SHIPPED_POLICY`` (the tuned model), with the test-split figures
from ``bench.retrieval`` beside them.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from dataclasses import replace
from pathlib import Path

from bench.report import table
from bench.retrieval import Question, build_engine, load_questions
from daoban.logging_setup import configure_logging
from index.decision import DecisionPolicy
from index.engine import Ranking, RetrievalEngine

FIELDS = ("reject_below", "lexical_floor", "answer_margin", "agreed_margin")


def grid(current: DecisionPolicy) -> dict[str, tuple[float, ...]]:
    """Values around ``current``: floors moved by up to ±0.02, margins halved to doubled."""
    def around(value: float, steps: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(sorted({round(value + step, 3) for step in steps if 0 < value + step < 1}))

    margins = (0.5, 0.75, 1.0, 1.5, 2.0)
    return {
        "reject_below": around(current.reject_below, (-0.02, -0.01, -0.005, 0.0, 0.005, 0.01, 0.02)),
        "lexical_floor": around(current.lexical_floor, (-0.02, -0.01, 0.0, 0.01, 0.02)),
        "answer_margin": tuple(sorted({round(current.answer_margin * m, 4) for m in margins})),
        "agreed_margin": tuple(sorted({round(current.agreed_margin * m, 4) for m in margins} | {0.0})),
    }


def outcome(engine: RetrievalEngine, ranked: list[tuple[Question, Ranking]], policy: DecisionPolicy) -> dict[str, float]:
    counts = dict.fromkeys(("right", "wrong", "offered", "rejected_in", "oos_answered", "oos_rejected"), 0)
    n_in = sum(1 for q, _ in ranked if q.expected) or 1
    n_oos = sum(1 for q, _ in ranked if not q.expected) or 1
    for question, ranking in ranked:
        decision, shown = engine.decide(ranking, policy)
        hit = bool({c.code for c in shown} & question.expected)
        if question.expected:
            key = {"answer": "right" if hit else "wrong", "suggest": "offered" if hit else None, "reject": "rejected_in"}[decision]
            if key:
                counts[key] += 1
        elif decision != "suggest":
            counts["oos_answered" if decision == "answer" else "oos_rejected"] += 1
    return {k: v / (n_in if k in ("right", "wrong", "offered", "rejected_in") else n_oos) for k, v in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-wrong", type=float, default=0.03)
    parser.add_argument("--max-oos", type=float, default=0.035)
    args = parser.parse_args()
    configure_logging("WARNING")
    questions = [q for q in load_questions() if q.split == "dev"]
    with tempfile.TemporaryDirectory(prefix="daoban-calibrate-") as home:
        engine, _ = build_engine(Path(home))
        ranked = [(q, engine.rank(q.text)) for q in questions]
        base = engine.policy
        values_of = grid(base)
        rows = []
        for values in itertools.product(*values_of.values()):
            policy = replace(base, **dict(zip(FIELDS, values)))
            result = outcome(engine, ranked, policy)
            if result["wrong"] <= args.max_wrong and result["oos_answered"] <= args.max_oos:
                rows.append((values, result))
        current = outcome(engine, ranked, base)
    rows.sort(key=lambda r: (-r[1]["right"], -r[1]["oos_rejected"], -r[1]["offered"]))
    headers = [*FIELDS, *current]
    body = [[*(getattr(base, k) for k in FIELDS), *(f"{v:.3f}" for v in current.values())]]
    body += [[*values, *(f"{v:.3f}" for v in result.values())] for values, result in rows[:10]]
    print(f"first row: the thresholds of {engine.model_id} now; then the best of the grid on dev")  # noqa: T201
    print(table(headers, body))  # noqa: T201


if __name__ == "__main__":
    main()
