"""Search documents: several short texts per record instead of one blob.

A citizen's question usually matches one alias or one similar question closely;
a blob would dilute that match with the rest of the guide. Each document keeps
the code of its record, so scores are pooled per record after retrieval.
District variants are not documents: they are resolved after retrieval.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.schema import Bundle, CrossProvinceEntry, Item, Record


@dataclass(frozen=True)
class SearchDoc:
    doc_id: str
    code: str
    kind: str
    field: str
    text: str


def documents_for(record: Record) -> list[SearchDoc]:
    texts: list[tuple[str, str]] = [("name", record.name)]
    texts += [("alias", a) for a in record.aliases]
    texts += [("question", q) for q in record.questions]
    if isinstance(record, Item):
        texts.append(("summary", f"{record.name}：{record.summary}"))
        texts += [("situation", f"{record.name}（{s.name}）{s.description}") for s in record.situations]
    elif isinstance(record, Bundle):
        texts.append(("summary", f"{record.name}（一件事一次办，{record.life_event}）：{record.summary}"))
    elif isinstance(record, CrossProvinceEntry):
        texts.append(("summary", f"{record.name}（跨省通办，{record.scope}）：{record.how_to_apply}"))
    seen: set[str] = set()
    docs = []
    for n, (field, text) in enumerate(texts):
        key = text.strip()
        if not key or key in seen:
            continue
        seen.add(key)
        docs.append(SearchDoc(doc_id=f"{record.code}#{n}", code=record.code, kind=record.kind, field=field, text=key))
    return docs


def kb_user_words(records: list[Record]) -> list[str]:
    """Words for the tokenizer's user dictionary: names, aliases and material names."""
    words: set[str] = set()
    for record in records:
        words.add(record.name)
        words.update(record.aliases)
        if isinstance(record, Item):
            words.update(m.name for m in record.materials)
            for situation in record.situations:
                words.update(m.name for m in situation.materials)
    return sorted(w for w in words if len(w) <= 20)
