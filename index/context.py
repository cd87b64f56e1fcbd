"""What a question says about where and how much, applied to the pooled scores.

An item and its 跨省通办 entry share a name and most words, so retrieval alone
can't tell them apart; the question can: "在外地社保卡丢了" means the
cross-province entry, "社保卡丢了" the local item. Likewise "孩子刚出生要办哪些"
asks for a whole 一件事一次办 bundle, not one of its items. Filtering happens
before fusion so ranks and margins are computed among what remains.

A cue counts only where it can tell the records apart. A place word the local
item's own guide already uses is that item's subject, not the citizen's
whereabouts: "户口要迁去省外" means 户口迁出（迁往省外）, "去澳门签注" means the
港澳通行证 item, whose guide names 香港 and 澳门. And "要哪些材料" asks for one
item's materials, not for everything a life event needs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from index.decision import DecisionPolicy, PooledScores
from index.tokens import read_word_list

WORDS_DIR = Path(__file__).resolve().parent / "words"
# what a bundle cue asks about when it is one item's aspect: "要哪些材料", "带哪些证件"
ASPECT_NOUNS = ("材料", "资料", "证件", "单据", "证明", "票据")
ORDINAL_ONCE = "第一次"  # "第一次办身份证" is a first application, not the cue 一次办


@dataclass(frozen=True)
class QueryContext:
    elsewhere: bool
    whole_event: bool


class ContextRules:
    def __init__(self, home: frozenset[str] = frozenset()) -> None:
        """``home``: the base's own place names (``index.locality.home_names``): 吉林 is elsewhere for a hall in
        江川, home for one in 长春."""
        self._elsewhere = tuple(w for w in read_word_list(WORDS_DIR / "elsewhere.txt")
                                if not any(w.startswith(h) or h.startswith(w) for h in home))
        self._bundle_cues = tuple(read_word_list(WORDS_DIR / "bundle_cues.txt"))
        cues = "|".join(re.escape(c) for c in sorted(self._bundle_cues, key=len, reverse=True))
        self._aspect_cue = re.compile(f"(?:{cues})(?:{'|'.join(ASPECT_NOUNS)})") if cues else None

    def elsewhere_cues(self, text: str) -> frozenset[str]:
        """The away-from-home words in ``text``; for a guide, the ones it is about itself."""
        return frozenset(word for word in self._elsewhere if word in text)

    def read(self, text: str) -> QueryContext:
        aspectless = self._aspect_cue.sub("", text) if self._aspect_cue else text
        aspectless = aspectless.replace(ORDINAL_ONCE, "")
        return QueryContext(
            elsewhere=bool(self.elsewhere_cues(text)),
            whole_event=any(word in aspectless for word in self._bundle_cues),
        )

    def apply(
        self, text: str, pooled: PooledScores, names: dict[str, tuple[str, str]], twins: dict[str, str],
        own_cues: Mapping[str, frozenset[str]] | None = None, bundle_window: float = DecisionPolicy.bundle_window,
    ) -> PooledScores:
        """Drop the twin the question does not mean; prefer bundles for whole-event questions.

        ``names`` maps a code to its record's (kind, name); ``twins`` maps a local
        item's code to its cross-province entry's code; ``own_cues`` maps a local
        item's code to the away-from-home words its own guide uses, which say
        nothing about where the citizen is. A whole-event question keeps only
        bundles when one is within ``bundle_window`` of the best dense score.
        """
        context = self.read(text)
        found = self.elsewhere_cues(text) if context.elsewhere else frozenset()
        present = set(pooled.dense) | set(pooled.sparse)
        dropped: set[str] = set()
        for item_code in present:  # the candidates, not every twin pair of the base: this runs per question
            cross_code = twins.get(item_code)
            if cross_code in present:
                elsewhere = bool(found - (own_cues or {}).get(item_code, frozenset()))
                dropped.add(item_code if elsewhere else cross_code)
        if context.whole_event:
            dense_bundles = [s for c, s in pooled.dense.items() if _kind(names, c) == "bundle" and c not in dropped]
            best = max((s for c, s in pooled.dense.items() if c not in dropped), default=0.0)
            if dense_bundles and max(dense_bundles) >= best - bundle_window:
                dropped |= {c for c in present if _kind(names, c) != "bundle"}
        if not dropped:
            return pooled
        return PooledScores(
            dense={c: s for c, s in pooled.dense.items() if c not in dropped},
            support={c: s for c, s in pooled.support.items() if c not in dropped},
            sparse={c: s for c, s in pooled.sparse.items() if c not in dropped},
            matched={c: t for c, t in pooled.matched.items() if c not in dropped},
        )


def _kind(names: dict[str, tuple[str, str]], code: str) -> str:
    return names.get(code, ("", ""))[0]
