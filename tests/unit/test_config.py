"""Settings read from the environment: defaults and the values operators set."""

import pytest

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
