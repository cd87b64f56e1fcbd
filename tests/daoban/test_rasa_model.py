import shutil

from daoban.rasa_model import fingerprint, rasa_env


def _copy_bot(tmp_path):
    from daoban.settings import REPO_ROOT

    target = tmp_path / "bot"
    shutil.copytree(REPO_ROOT / "bot", target, ignore=shutil.ignore_patterns(".rasa", "tests"))
    return target


def test_fingerprint_is_stable_and_follows_training_inputs(tmp_path):
    bot = _copy_bot(tmp_path)
    first = fingerprint(bot)
    assert fingerprint(bot) == first
    (bot / "credentials.yml").write_text("rest:\n# not a training input\n")
    assert fingerprint(bot) == first
    nlu = bot / "data" / "nlu" / "chitchat.yml"
    nlu.write_text(nlu.read_text(encoding="utf-8") + "      - 您好呀\n", encoding="utf-8")
    assert fingerprint(bot) != first


def test_rasa_state_stays_inside_the_given_folder(settings, tmp_path):
    env = rasa_env(settings, tmp_path / "rasa")
    for key in ("HOME", "TMPDIR", "MPLCONFIGDIR", "RASA_CACHE_DIRECTORY"):
        assert env[key].startswith(str(tmp_path / "rasa"))
    assert env["RASA_TELEMETRY_ENABLED"] == "false"
