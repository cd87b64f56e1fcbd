"""NLU quality: intent and entity F1 on the held-out set and in cross-validation.

Two measurements, both with Rasa's own ``rasa test nlu`` run in the Rasa venv:

* held-out: the trained model (the one ``make run`` uses, found by the fingerprint of
  the bot's files; an NLU-only model is trained into a temporary folder when there is
  none) on ``bot/tests/nlu/heldout.yml``, written apart from the training data;
* cross-validation: ``--cross-validation --folds 5`` over ``bot/data/nlu``.

Fallback predictions are undone by Rasa's evaluation, so the F1 figures are those of
the classifier's top intent; the share of held-out messages whose top confidence is
below the FallbackClassifier threshold (they would get the fallback answer) is
reported apart. Run with ``python -m bench.nlu``; results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.report import machine, table, write_section
from daoban.errors import SetupFailed
from daoban.logging_setup import configure_logging
from daoban.rasa_model import model_path, rasa_env, rasa_executable
from daoban.settings import Settings, load_settings

logger = logging.getLogger(__name__)

SECTION = "nlu"
ENTITY_REPORT = "RegexEntityExtractor_report.json"
SUMMARY_ROWS = ("accuracy", "macro avg", "weighted avg", "micro avg")


@dataclass
class Evaluation:
    """What one ``rasa test nlu`` run reported."""

    intents: dict[str, dict]  # intent -> precision, recall, f1-score, support, confused_with
    entities: dict[str, dict]  # entity -> precision, recall, f1-score, support
    intent_summary: dict[str, object] = field(default_factory=dict)  # accuracy, macro avg, ...
    entity_summary: dict[str, object] = field(default_factory=dict)
    confidences: list[float] = field(default_factory=list)  # top confidence of each message, when kept
    wall_s: float = 0.0

    @property
    def macro_f1(self) -> float:
        return float(self.intent_summary.get("macro avg", {}).get("f1-score", 0.0))

    @property
    def accuracy(self) -> float:
        return float(self.intent_summary.get("accuracy", 0.0))


def heldout_path(settings: Settings) -> Path:
    return settings.bot_dir / "tests" / "nlu" / "heldout.yml"


def fallback_threshold(settings: Settings) -> float | None:
    config = yaml.safe_load((settings.bot_dir / "config.yml").read_text(encoding="utf-8"))
    for component in config.get("pipeline", []):
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return None


def run_rasa(settings: Settings, arguments: list[str], log_file: Path, niceness: int) -> None:
    """Run one Rasa command in the Rasa venv, its output appended to ``log_file``."""
    command = [str(rasa_executable(settings)), *arguments]
    logger.info("running %s", " ".join(command[1:3]))
    log_file.parent.mkdir(parents=True, exist_ok=True)

    def lower_priority() -> None:
        os.nice(niceness)

    with open(log_file, "ab") as log:
        result = subprocess.run(
            command, cwd=settings.bot_dir, env=rasa_env(settings, settings.cache_dir / "rasa-state"),
            stdout=log, stderr=subprocess.STDOUT, check=False, preexec_fn=lower_priority if niceness else None,
        )
    if result.returncode != 0:
        raise SetupFailed(f"rasa {arguments[0]} {arguments[1]} failed (exit {result.returncode}); see {log_file}")


def find_or_train_model(settings: Settings, workdir: Path, log_file: Path, niceness: int) -> tuple[Path, str]:
    """The model of the current bot files, or an NLU-only one trained into ``workdir``."""
    trained = model_path(settings)
    if trained.is_file():
        return trained, f"`{trained.name}` (the model of the current bot files)"
    logger.info("no trained model for the current bot files: training the NLU part only (a few minutes)")
    bot = settings.bot_dir
    run_rasa(settings, ["train", "nlu", "--config", str(bot / "config.yml"), "--nlu", str(bot / "data" / "nlu"),
                        "--out", str(workdir), "--fixed-model-name", "nlu"], log_file, niceness)
    return workdir / "nlu.tar.gz", "NLU-only model trained for this run (no trained model of the current files)"


def read_reports(out: Path) -> Evaluation:
    def split(path: Path) -> tuple[dict[str, dict], dict[str, object]]:
        if not path.is_file():
            return {}, {}
        report = json.loads(path.read_text(encoding="utf-8"))
        rows = {k: v for k, v in report.items() if k not in SUMMARY_ROWS and isinstance(v, dict)}
        return rows, {k: v for k, v in report.items() if k in SUMMARY_ROWS}

    intents, intent_summary = split(out / "intent_report.json")
    entities, entity_summary = split(out / ENTITY_REPORT)
    confidences = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = out / name
        if path.is_file():
            for row in json.loads(path.read_text(encoding="utf-8")):
                confidences.append(float(row["intent_prediction"]["confidence"]))
    return Evaluation(intents, entities, intent_summary, entity_summary, confidences)


def evaluate_heldout(settings: Settings, model: Path, workdir: Path, log_file: Path, niceness: int) -> Evaluation:
    out = workdir / "heldout"
    started = time.perf_counter()
    run_rasa(settings, ["test", "nlu", "--model", str(model), "--nlu", str(heldout_path(settings)),
                        "--out", str(out), "--successes", "--no-plot"], log_file, niceness)
    evaluation = read_reports(out)
    evaluation.wall_s = time.perf_counter() - started
    return evaluation


def cross_validate(settings: Settings, folds: int, workdir: Path, log_file: Path, niceness: int) -> Evaluation:
    out = workdir / "cv"
    bot = settings.bot_dir
    started = time.perf_counter()
    run_rasa(settings, ["test", "nlu", "--config", str(bot / "config.yml"), "--nlu", str(bot / "data" / "nlu"),
                        "--cross-validation", "--folds", str(folds), "--out", str(out), "--no-plot"],
             log_file, niceness)
    evaluation = read_reports(out)
    evaluation.wall_s = time.perf_counter() - started
    return evaluation


def f1(rows: dict[str, dict], label: str) -> str:
    row = rows.get(label)
    return f"{row['f1-score']:.3f}" if row else "–"


def support(rows: dict[str, dict], label: str) -> str:
    row = rows.get(label)
    return str(int(row["support"])) if row else "–"


def total(rows: dict[str, dict]) -> int:
    return sum(int(row["support"]) for row in rows.values())


def top_confusions(evaluation: Evaluation, limit: int = 8) -> list[tuple[str, str, int]]:
    pairs = [(intent, other, int(n)) for intent, row in evaluation.intents.items()
             for other, n in (row.get("confused_with") or {}).items()]
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))[:limit]


def render(heldout: Evaluation, cv: Evaluation | None, model_note: str, threshold: float | None, folds: int) -> str:
    intents = sorted(set(heldout.intents) | set(cv.intents if cv else ()))
    cv_intents = cv.intents if cv else {}
    intent_rows = [[name, support(cv_intents, name), support(heldout.intents, name),
                    f1(heldout.intents, name), f1(cv_intents, name)] for name in intents]
    intent_rows.append(["**macro F1**", str(total(cv_intents)) if cv else "–", str(total(heldout.intents)),
                        f"**{heldout.macro_f1:.3f}**", f"**{cv.macro_f1:.3f}**" if cv else "–"])
    intent_rows.append(["accuracy", "", "", f"{heldout.accuracy:.3f}", f"{cv.accuracy:.3f}" if cv else "–"])

    entities = sorted(set(heldout.entities) | set(cv.entities if cv else ()))
    cv_entities = cv.entities if cv else {}
    entity_rows = [[name, support(heldout.entities, name), f1(heldout.entities, name),
                    support(cv_entities, name), f1(cv_entities, name)] for name in entities]

    def entity_macro(evaluation: Evaluation | None) -> str:
        if not evaluation or "macro avg" not in evaluation.entity_summary:
            return "–"
        return f"{evaluation.entity_summary['macro avg']['f1-score']:.3f}"

    entity_rows.append(["**macro F1**", "", entity_macro(heldout), "", entity_macro(cv)])

    below = sum(1 for c in heldout.confidences if threshold is not None and c < threshold)
    lines = [
        "## NLU: intents and entities",
        "",
        f"Machine: {machine()}. Produced by `python -m bench.nlu`.",
        "",
        f"**Held-out**: {model_note}, on `bot/tests/nlu/heldout.yml` "
        f"({total(heldout.intents)} messages written apart from the training data; "
        f"{heldout.wall_s:.0f} s). "
        + (f"**Cross-validation**: {folds} folds over `bot/data/nlu` ({cv.wall_s / 60:.1f} min). " if cv else
           "Cross-validation skipped (`--skip-cv`). ")
        + "F1 is that of the classifier's top intent (Rasa's evaluation undoes fallback predictions); "
        + (f"{below} of {len(heldout.confidences)} held-out messages have a top confidence below the "
           f"FallbackClassifier threshold {threshold:g} and would get the fallback answer."
           if threshold is not None and heldout.confidences else ""),
        "",
        table(["intent", "training examples", "held-out n", "held-out F1", f"CV F1 ({folds} folds)"], intent_rows),
        "",
        "Entities (RegexEntityExtractor: lookup tables and patterns in `bot/data/nlu/lookups/`), "
        "token-level F1 as Rasa computes it:",
        "",
        table(["entity", "held-out n", "held-out F1", "CV n", "CV F1"], entity_rows),
    ]
    confusions = top_confusions(heldout)
    if confusions:
        lines += ["", "Most frequent held-out confusions (true → predicted, count): "
                  + "; ".join(f"{a} → {b} ({n})" for a, b, n in confusions) + "."]
    return "\n".join(lines)


def run(settings: Settings, folds: int, skip_cv: bool, model: Path | None, niceness: int) -> tuple[str, Evaluation]:
    log_file = settings.logs_dir / "bench-nlu.log"
    if not heldout_path(settings).is_file():
        raise SetupFailed(f"no held-out set at {heldout_path(settings)}")
    threshold = fallback_threshold(settings)
    with tempfile.TemporaryDirectory(prefix="daoban-bench-nlu-") as tmp:
        workdir = Path(tmp)
        if model is not None:
            model_note = f"model `{model.name}` (given)"
        else:
            model, model_note = find_or_train_model(settings, workdir, log_file, niceness)
        heldout = evaluate_heldout(settings, model, workdir, log_file, niceness)
        logger.info("held-out: macro F1 %.3f, accuracy %.3f", heldout.macro_f1, heldout.accuracy)
        cv = None
        if not skip_cv:
            logger.info("cross-validation, %d folds: %d trainings, expect several minutes each", folds, folds)
            cv = cross_validate(settings, folds, workdir, log_file, niceness)
            logger.info("cross-validation: macro F1 %.3f, accuracy %.3f", cv.macro_f1, cv.accuracy)
    return render(heldout, cv, model_note, threshold, folds), heldout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    parser.add_argument("--skip-cv", action="store_true", help="held-out evaluation only")
    parser.add_argument("--model", type=lambda p: Path(p).resolve(), help="evaluate this model instead of the current one")
    parser.add_argument("--nice", type=int, default=10, help="niceness of the Rasa processes (default 10, 0 = off)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    configure_logging(args.log_level)
    body, _heldout = run(load_settings(), args.folds, args.skip_cv, args.model, args.nice)
    print(body)  # noqa: T201 - a benchmark's report is its output
    if not args.no_write:
        write_section(SECTION, body)


if __name__ == "__main__":
    main()
