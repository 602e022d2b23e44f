"""Settings read from the environment: defaults and the values operators set."""

from order_intake.config import load_settings


def test_the_header_timeout_is_ten_seconds_unless_set() -> None:
    """ORDER_INTAKE_HEADER_TIMEOUT_SECONDS: 10 when unset or empty, else the number given."""
    assert load_settings({}).header_timeout_seconds == 10.0
    assert load_settings({"ORDER_INTAKE_HEADER_TIMEOUT_SECONDS": ""}).header_timeout_seconds == 10.0
    assert load_settings({"ORDER_INTAKE_HEADER_TIMEOUT_SECONDS": "2.5"}).header_timeout_seconds == 2.5
