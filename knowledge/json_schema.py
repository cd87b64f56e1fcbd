"""The published JSON Schema of the interchange format, generated from the pydantic records.

The file in docs/ is what other systems validate against; a test keeps it equal
to what the code accepts, so the two can never drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter

from knowledge.schema import Record

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "knowledge-record.schema.json"


def record_json_schema() -> dict:
    schema = TypeAdapter(Record).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Daoban knowledge record (one JSON Lines line)"
    return schema


def render() -> str:
    return json.dumps(record_json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(render(), encoding="utf-8")
