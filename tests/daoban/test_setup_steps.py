from daoban.setup_steps import ensure_seeded


def test_seed_goes_only_into_an_empty_base(settings, store, records):
    ensure_seeded(settings, store)
    seeded = store.count()
    assert seeded >= 12

    store.import_records([records[0].model_copy(update={"code": "T-EDITOR-1"})], actor="editor")
    ensure_seeded(settings, store)
    assert store.count() == seeded + 1
