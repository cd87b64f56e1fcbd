from knowledge.json_schema import SCHEMA_FILE, render


def test_published_schema_matches_the_code():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(), (
        "docs/knowledge-record.schema.json is stale: run `python -m knowledge.json_schema`"
    )


def test_schema_names_the_three_record_kinds():
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    for kind in ('"item"', '"bundle"', '"cross_province"'):
        assert kind in text
