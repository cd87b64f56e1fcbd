"""Training the Rasa model only when its inputs change.

The model is stored under the cache, named by a fingerprint of everything that
shapes it (Rasa's version, config, domain, training data), so a second
``make run`` finds it and skips the 3-4 minutes of training.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from pathlib import Path

from daoban.errors import SetupFailed
from daoban.settings import Settings

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
TRAINING_INPUTS = ("config.yml", "domain", "data", "components")


def training_files(bot_dir: Path) -> list[Path]:
    files: list[Path] = []
    for name in TRAINING_INPUTS:
        path = bot_dir / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return files


def fingerprint(bot_dir: Path) -> str:
    digest = hashlib.sha256(f"rasa=={RASA_VERSION}\n".encode())
    for path in training_files(bot_dir):
        digest.update(str(path.relative_to(bot_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def model_path(settings: Settings) -> Path:
    return settings.rasa_models_dir / f"{fingerprint(settings.bot_dir)}.tar.gz"


def rasa_env(settings: Settings, state: Path) -> dict[str, str]:
    """Rasa writes to HOME, TMPDIR, matplotlib's folder and a training cache: keep all of that inside our state."""
    for sub in ("home", "tmp", "mpl", "training-cache"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        HOME=str(state / "home"),
        TMPDIR=str(state / "tmp"),
        MPLCONFIGDIR=str(state / "mpl"),
        RASA_CACHE_DIRECTORY=str(state / "training-cache"),
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONHASHSEED="0",
        # the pipeline's own components (bot/components) are imported by module path
        PYTHONPATH=os.pathsep.join(p for p in (str(settings.bot_dir), os.environ.get("PYTHONPATH", "")) if p),
    )
    return env


def rasa_executable(settings: Settings) -> Path:
    executable = settings.rasa_venv / "bin" / "rasa"
    if not executable.is_file():
        raise SetupFailed(f"Rasa is not installed at {settings.rasa_venv}: run `make setup`")
    return executable


def ensure_trained(settings: Settings) -> Path:
    """Return the model for the current bot files, training it first if there is none."""
    target = model_path(settings)
    if target.is_file():
        logger.info("Rasa model %s is current, no training needed", target.name)
        return target
    settings.rasa_models_dir.mkdir(parents=True, exist_ok=True)
    bot = settings.bot_dir
    command = [
        str(rasa_executable(settings)), "train",
        "--config", str(bot / "config.yml"), "--domain", str(bot / "domain"), "--data", str(bot / "data"),
        "--out", str(settings.rasa_models_dir), "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]
    log_file = settings.logs_dir / "rasa-train.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    logger.info("training the Rasa model (a few minutes); log: %s", log_file)
    with open(log_file, "ab") as log:
        result = subprocess.run(command, cwd=bot, env=rasa_env(settings, settings.cache_dir / "rasa-state"),
                                stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0 or not target.is_file():
        raise SetupFailed(f"rasa train failed (exit {result.returncode}); see {log_file}")
    return target


def run_conversation_tests(settings: Settings) -> Path:
    """Run the conversation tests in ``bot/tests`` against the current model; any wrong prediction fails.

    Rasa writes its reports (failed stories, confusion) to ``logs/rasa-test``.
    """
    model = ensure_trained(settings)
    out = settings.logs_dir / "rasa-test"
    out.mkdir(parents=True, exist_ok=True)
    command = [
        str(rasa_executable(settings)), "test", "core", "--model", str(model),
        "--stories", str(settings.bot_dir / "tests"), "--out", str(out), "--fail-on-prediction-errors",
    ]
    log_file = settings.logs_dir / "rasa-test.log"
    logger.info("running the conversation tests in %s; log: %s", settings.bot_dir / "tests", log_file)
    with open(log_file, "wb") as log:
        result = subprocess.run(command, cwd=settings.bot_dir, env=rasa_env(settings, settings.cache_dir / "rasa-state"),
                                stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise SetupFailed(
            f"conversation tests failed (exit {result.returncode}): see {out / 'failed_test_stories.yml'} and {log_file}"
        )
    return out
