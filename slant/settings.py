"""Every ``SLANT_*`` environment variable, typed and validated in one place.

``settings()`` reads the environment as it is at the call (so a test or an operator can change a
variable between calls). A bad value raises :class:`SettingsError` naming the variable, the value
and the fix; `bentoml serve` checks them all at startup (serving/health.py) and exits with that
message. docs/api.md lists the same variables and defaults (tests/slant/test_settings.py checks); a
``shown`` default is what an empty value stands for.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "SLANT_"


class SettingsError(ValueError):
    """An environment variable with a value Slant cannot use."""


def _positive(default: int, meaning: str) -> int:
    return Field(default, ge=1, description=meaning)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, extra="ignore", frozen=True)

    # Article limits (slant.intake.types.Limits)
    max_chars: int = _positive(
        200_000, "characters per article (text, joined paragraphs, or text extracted from HTML) -> 413"
    )
    max_html_chars: int = _positive(5_000_000, "characters of raw HTML per article -> 413")
    max_paragraphs: int = _positive(500, "paragraphs per article after cleaning and splitting -> 413")
    max_paragraph_chars: int = _positive(2_000, "longer paragraphs are split at sentence boundaries (not an error)")
    max_targets: int = _positive(10, "targets per article -> 400")
    max_batch_articles: int = _positive(64, "articles per `/classify_batch` request -> 413")
    max_html_tags: int = _positive(100_000, "tags in a page, counted before parsing -> 422")
    max_html_text_chars: int = _positive(
        1_000_000, "characters of visible text in a page, counted before parsing -> 413"
    )
    # HTML parsing in child processes (serving/intake.py)
    parse_workers: int = _positive(2, "HTML parse processes per API worker")
    parse_timeout_s: float = Field(default=15.0, gt=0, description="wall-clock budget of one page's parse -> 422")
    parse_memory_mb: int = _positive(1024, "address space a parse worker may add to its size after imports -> 422")
    # Requests (serving/request_guard.py)
    max_body_bytes: int = _positive(64 * 1024 * 1024, "request body bytes, checked before the body is read -> 413")
    body_timeout_s: int = _positive(30, "seconds from the request's start for its whole body to arrive -> 408")
    # Access (serving/access.py)
    api_keys: str = Field(default="", description="comma-separated API keys (16+ characters each)")
    api_key_file: str = Field(default="", description="a file of API keys, one per line")
    require_key_for_scoring: bool = Field(
        default=False, description="`1`: `/classify` and `/classify_batch` need a key too"
    )
    cors_origins: str = Field(default="", description="comma-separated origins allowed to call from a browser")
    feedback_quota_rows: int = _positive(5_000, "feedback rows per key and per client address per window -> 429")
    feedback_quota_bytes: int = _positive(
        5_000_000, "feedback text bytes per key and per client address per window -> 429"
    )
    feedback_quota_window_s: int = _positive(3_600, "the quota window (sliding)")
    # The feedback store (slant.feedback)
    feedback_db: str = Field(
        default="", description="the feedback store", json_schema_extra={"shown": "~/.slant/feedback.sqlite3"}
    )
    feedback_url: str = Field(
        default="",
        description="the feedback store as a URL: `postgresql://...` (one store for several replicas) or "
        "`sqlite:///path`; empty: the SQLite file `SLANT_FEEDBACK_DB`",
    )
    feedback_max_rows: int = _positive(1_000_000, "rows in the feedback store, in all -> 507")
    feedback_max_mb: int = _positive(
        1_024, "size of the feedback store: its SQLite file (with its WAL), or its PostgreSQL table -> 507"
    )
    # The model and the service
    model: str = Field(default="", description="the model artifact folder to serve")
    reload_interval_s: float = Field(
        default=10.0, ge=0, description="seconds between checks of which model the store names; 0: off"
    )
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="where onnxruntime runs")
    threads: int = Field(
        default=0, ge=0, description="onnxruntime threads; 0: all cores", json_schema_extra={"shown": "all cores"}
    )
    max_batch_passes: int = _positive(256, "model passes per adaptive batch")
    pass_batcher: bool = Field(
        default=True,
        description="`0`: each request's passes go straight to BentoML's adaptive batching, without the API "
        "worker's PassBatcher in front (bench/batching.py compares the two)",
    )
    pass_merge_from: int = _positive(
        8,
        "waiting requests from which the PassBatcher merges their passes into shared model calls; fewer go "
        "one request per call (1: always merge; bench/call_policy.py compares)",
    )
    pass_calls_in_flight: int = _positive(
        2,
        "model calls the PassBatcher keeps in flight at once, their passes together at most "
        "SLANT_MAX_BATCH_PASSES (1: one at a time; bench/call_policy.py compares)",
    )
    max_latency_ms: int = _positive(60_000, "how long a pass may wait in the batch queue before a 503")
    request_timeout_s: int = _positive(120, "request timeout")
    api_workers: int = _positive(1, "HTTP worker processes")
    model_workers: str = Field(
        default="1",
        description="model worker processes per machine: a number, or `per-gpu` (one per visible GPU, each on its own)",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="level of Slant's own log lines"
    )
    # Training and data (the CLI)
    data_dir: str = Field(
        default="", description="the raw data sets (`slant data build`)", json_schema_extra={"shown": "../shared/data"}
    )
    cache: str = Field(
        default="",
        description="downloaded base encoders (`slant base fetch`)",
        json_schema_extra={"shown": "~/.cache/slant"},
    )

    @field_validator("model_workers", mode="before")
    @classmethod
    def _workers(cls, value: object) -> object:
        text = str(value).strip().lower().replace("_", "-")
        if text == "per-gpu":
            return text
        if text.isascii() and text.isdigit() and int(text) >= 1:
            return str(int(text))
        raise ValueError("expected a whole number of model workers (1, 2, ...) or `per-gpu` (one per visible GPU)")

    @field_validator("feedback_url")
    @classmethod
    def _store_url(cls, value: str, info: ValidationInfo) -> str:
        from slant.feedback.location import check_setting  # standard library only

        check_setting(value, str(info.data.get("feedback_db", "")))
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def settings() -> Settings:
    """The settings as the environment gives them now."""
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        name = env_name(str(first["loc"][0]))
        default = Settings.model_fields[str(first["loc"][0])].default
        value = first["input"]
        if isinstance(value, str) and "://" in value:  # a URL: never show its password
            from slant.feedback.location import redact

            value = redact(value)
        raise SettingsError(
            f"environment variable {name}={value!r} is not valid: {first['msg'][:1].lower() + first['msg'][1:]}; "
            f"fix it or unset it to use the default ({default!r})"
        ) from None
