"""Reading a running server's /metrics."""

import httpx
from prometheus_client.parser import text_string_to_metric_families


def metric(base_url: str, name: str) -> float | None:
    """A sample's value (no labels) as GET /metrics shows it, None when the sample is absent."""
    answer = httpx.get(f"{base_url}/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    values = [s.value for f in text_string_to_metric_families(answer.text) for s in f.samples if s.name == name]
    assert len(values) <= 1, (name, answer.text)
    return values[0] if values else None


def counter(base_url: str, name: str) -> float:
    """A counter's value (no labels), which must be there."""
    value = metric(base_url, name)
    assert value is not None, f"{name} is not in /metrics"
    return value
