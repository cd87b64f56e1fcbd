"""The knowledge bases the benchmarks measure on: the demo base, the Changchun export, the held-out base.

The demo base is the seed the model is fine-tuned on and whose dev split chose
the thresholds; the Changchun export is a hall's real provincial export (no
aliases, no similar questions), imported from its spreadsheets as a hall would;
the held-out 云溪市 base was written apart and is never used to tune anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daoban.settings import REPO_ROOT
from knowledge.jsonl import read_jsonl
from knowledge.schema import Record
from knowledge.spreadsheet import read_records

HELDOUT_DIR = REPO_ROOT / "bench" / "heldout"
CHANGCHUN_DIR = REPO_ROOT.parent / "shared" / "data" / "jilin-changchun"
QUESTIONS_DIR = REPO_ROOT / "bench" / "questions"


@dataclass(frozen=True)
class BaseSpec:
    name: str
    halls: Path
    questions: Path | None  # labelled questions for retrieval (the demo base's are split dev/test elsewhere)
    held_out: bool = False

    def records(self) -> list[Record]:
        if self.name == "demo":
            return read_jsonl(sorted((REPO_ROOT / "knowledge" / "demo").glob("*.jsonl")))
        if self.name == "heldout":
            return read_jsonl([HELDOUT_DIR / f for f in ("items.jsonl", "bundles.jsonl", "cross_province.jsonl")])
        return read_records([CHANGCHUN_DIR / "excel_main0530.xlsx", CHANGCHUN_DIR / "materials.xls"])

    def available(self) -> bool:
        return self.name != "changchun" or CHANGCHUN_DIR.is_dir()


BASES = {
    "demo": BaseSpec("demo", REPO_ROOT / "hall" / "demo_halls.json", None),
    "changchun": BaseSpec("changchun", REPO_ROOT / "bench" / "dialogues" / "changchun_halls.json",
                          QUESTIONS_DIR / "changchun.jsonl"),
    "heldout": BaseSpec("heldout", HELDOUT_DIR / "halls.json", HELDOUT_DIR / "questions.jsonl", held_out=True),
}
