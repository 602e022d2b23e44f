"""The pause before a restart: doubled while what restarts keeps dying early, the first again after a healthy run."""

from order_intake.entrypoints.supervisor import RestartPauses


def test_pauses_double_up_to_the_cap_while_runs_are_short_and_start_over_after_a_healthy_run() -> None:
    """1, 2, 4, ... 30 s for runs of a second; a run of a minute brings the next pause back to 1 s."""
    pauses = RestartPauses()
    assert [pauses.after(1.0) for _ in range(7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert pauses.after(60.0) == 1.0
    assert pauses.after(0.5) == 2.0
