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
