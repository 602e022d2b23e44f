"""Settings read from the environment: defaults and the values operators set."""

from pathlib import Path

import pytest

from order_intake.adapters.postgres import PostgresBackend
from order_intake.adapters.sqlite import SqliteBackend
from order_intake.config import load_settings
from order_intake.errors import ConfigError


def test_the_header_timeout_is_ten_seconds_unless_set() -> None:
    """ORDER_INTAKE_HEADER_TIMEOUT_SECONDS: 10 when unset or empty, else the number given."""
    assert load_settings({}).header_timeout_seconds == 10.0
    assert load_settings({"ORDER_INTAKE_HEADER_TIMEOUT_SECONDS": ""}).header_timeout_seconds == 10.0
    assert load_settings({"ORDER_INTAKE_HEADER_TIMEOUT_SECONDS": "2.5"}).header_timeout_seconds == 2.5


def test_the_sender_is_reviews_at_localhost_unless_order_intake_mail_from_names_one() -> None:
    """ORDER_INTAKE_MAIL_FROM: the default `from` of every policy; a display name may come with it."""
    assert load_settings({}).mail_from == "reviews@localhost"
    assert load_settings({"ORDER_INTAKE_MAIL_FROM": " "}).mail_from == "reviews@localhost"
    named = "Acme Reviews <reviews@acme.example>"
    assert load_settings({"ORDER_INTAKE_MAIL_FROM": named}).mail_from == named


def test_a_sender_without_an_address_is_a_configuration_error() -> None:
    """A value without `@` cannot be a sender: the setting is refused, naming itself."""
    with pytest.raises(ConfigError, match="ORDER_INTAKE_MAIL_FROM"):
        load_settings({"ORDER_INTAKE_MAIL_FROM": "nobody"})


def test_a_processing_batch_set_is_each_backends_first_batch_and_unset_each_has_its_own(tmp_path: Path) -> None:
    """ORDER_INTAKE_PROCESSING_BATCH is the batch processors start from; unset, each backend's own.

    SQLite's rounds are the smaller and the more frequent (they hold its one write lock).
    """
    postgres, sqlite = PostgresBackend("postgresql://127.0.0.1/unused"), SqliteBackend(tmp_path / "unused.db")
    for backend in (postgres, sqlite):
        assert backend.pace(load_settings({"ORDER_INTAKE_PROCESSING_BATCH": "50"})).batch == 50
        assert backend.pace(load_settings({"ORDER_INTAKE_PROCESSING_BATCH": "0"})).batch == 1
    capped = load_settings({"ORDER_INTAKE_PROCESSING_MAX_BATCH": "40"})
    assert postgres.pace(capped).batch == sqlite.pace(capped).batch == 40  # never past the largest batch
    unset = load_settings({"ORDER_INTAKE_PROCESSING_BATCH": ""})
    assert unset.processing_batch is None
    assert sqlite.pace(unset).batch < postgres.pace(unset).batch
    assert sqlite.pace(unset).busy_seconds < postgres.pace(unset).busy_seconds
    with pytest.raises(ConfigError, match="ORDER_INTAKE_PROCESSING_BATCH"):
        load_settings({"ORDER_INTAKE_PROCESSING_BATCH": "many"})


def test_serves_worker_is_three_steps_nicer_unless_set_and_never_past_nineteen() -> None:
    """ORDER_INTAKE_SERVE_WORKER_NICE: 3 when unset or empty, 0 for none, at most 19, never negative."""
    assert load_settings({}).serve_worker_nice == 3
    assert load_settings({"ORDER_INTAKE_SERVE_WORKER_NICE": ""}).serve_worker_nice == 3
    assert load_settings({"ORDER_INTAKE_SERVE_WORKER_NICE": "0"}).serve_worker_nice == 0
    assert load_settings({"ORDER_INTAKE_SERVE_WORKER_NICE": "40"}).serve_worker_nice == 19
    with pytest.raises(ConfigError, match="ORDER_INTAKE_SERVE_WORKER_NICE"):
        load_settings({"ORDER_INTAKE_SERVE_WORKER_NICE": "-5"})


NUMBERS = (
    "ORDER_INTAKE_AUTH_CACHE_SECONDS",
    "ORDER_INTAKE_WRITER_MAX_BATCH",
    "ORDER_INTAKE_WRITER_MAX_QUEUED",
    "ORDER_INTAKE_WRITER_INFLIGHT",
    "ORDER_INTAKE_POOL_SIZE",
    "ORDER_INTAKE_BODY_TIMEOUT_SECONDS",
    "ORDER_INTAKE_HEADER_TIMEOUT_SECONDS",
    "ORDER_INTAKE_SERVE_WORKER_NICE",
    "ORDER_INTAKE_PROCESSING_BATCH",
    "ORDER_INTAKE_PROCESSING_MAX_BATCH",
    "ORDER_INTAKE_PROCESSING_CONCURRENCY",
    "ORDER_INTAKE_MAIL_LEASE_SECONDS",
    "ORDER_INTAKE_MAIL_BATCH",
)


@pytest.mark.parametrize("name", NUMBERS)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "1e30", "-1", "abc"])
def test_a_number_that_is_not_finite_negative_or_far_too_large_is_refused_naming_the_setting(
    name: str, value: str
) -> None:
    """NaN would make every comparison false (a key cache never refreshed); infinity or 1e30 overflow later."""
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOG_LEVEL", "bogus"),
        ("REDIS_URL", "garbage"),
        ("REDIS_URL", "http://x"),
        ("BROKER_URL", "garbage"),
        ("PUBLIC_URL", "javascript:alert(1)"),
        ("PUBLIC_URL", "https://"),
    ],
)
def test_a_setting_of_the_wrong_kind_is_refused_at_start_naming_itself(name: str, value: str) -> None:
    """Refused when settings are read (every command's start), not in a worker process later."""
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


def test_words_for_off_an_empty_log_level_and_its_aliases_are_understood() -> None:
    """ORDER_INTAKE_SERVE_WORKER: false/no/off/0 turn it off, any other value leaves it on; LOG_LEVEL empty: INFO."""
    off = [load_settings({"ORDER_INTAKE_SERVE_WORKER": v}).serve_worker for v in ("false", "No", "off", "0")]
    on = [load_settings({"ORDER_INTAKE_SERVE_WORKER": v}).serve_worker for v in ("true", "YES", "on", "1", "", "y")]
    assert (off, on) == ([False] * 4, [True] * 6)
    assert [load_settings({"LOG_LEVEL": v}).log_level for v in ("", "debug", "warn", "FATAL")] == [
        "INFO",
        "DEBUG",
        "WARN",
        "FATAL",
    ]
    assert load_settings({"REDIS_URL": "redis://127.0.0.1:6379/0"}).redis_url == "redis://127.0.0.1:6379/0"
    assert load_settings({"PUBLIC_URL": "https://reviews.example/"}).public_url == "https://reviews.example"
