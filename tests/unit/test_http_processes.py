"""How many HTTP processes `serve` starts on PostgreSQL when --workers does not say."""

import pytest

from order_intake.adapters.postgres import processes_for


@pytest.mark.parametrize(
    ("cores", "beside_worker", "processes"),
    [
        (1, True, 1),  # never none: the worker then shares the one core
        (2, True, 1),
        (4, True, 3),
        (16, True, 15),
        (1, False, 1),
        (2, False, 2),
        (16, False, 16),
    ],
)
def test_a_core_is_left_to_the_processing_worker(cores: int, *, beside_worker: bool, processes: int) -> None:
    """One HTTP process per core, less one for a processing worker beside them, never none."""
    assert processes_for(cores, beside_worker=beside_worker) == processes
