"""The meaning of stop requests, shared by the local supervisor and the Ray backend."""

from flowc.runtime.stopping import stop_step


def test_the_first_request_drains_and_the_second_kills():
    assert stop_step(0, False, None, False) == (None, None)
    assert stop_step(1, False, None, False) == ("drain", "interrupted")
    assert stop_step(1, True, "interrupted", False) == (None, "interrupted")
    assert stop_step(2, True, "interrupted", False) == ("kill", "interrupted")


def test_a_failure_keeps_its_reason_and_a_timeout_becomes_an_interruption_when_asked():
    assert stop_step(2, True, "failed", True) == ("kill", "failed")
    assert stop_step(1, True, "timeout", False) == (None, "interrupted")
    assert stop_step(1, True, "timeout", True) == (None, "timeout")


def test_a_run_already_killed_is_not_killed_again():
    assert stop_step(2, True, "interrupted", False, killed=True) == (None, "interrupted")
