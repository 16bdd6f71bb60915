"""SideBySide: a verifier's independent checks at the same time, read in their own order."""

from __future__ import annotations

import threading

import pytest

from corral.verifiers.base import SideBySide, VerifierError

WAIT_S = 60.0  # a bound for a broken implementation, never reached when it works


def test_steps_run_at_the_same_time_when_parallel() -> None:
    second_started = threading.Event()
    with SideBySide(parallel=True) as side:
        # The first step can only end once the second has started: one after another, it
        # would wait out WAIT_S and return False.
        first = side.start(lambda: second_started.wait(WAIT_S))
        second = side.start(second_started.set)
    assert first.result() is True
    assert second.result() is None


def test_one_after_another_in_start_order_without_a_second_core() -> None:
    events: list[str] = []

    def step(name: str) -> str:
        events.append(f"start {name}")
        events.append(f"end {name}")
        return name

    with SideBySide(parallel=False) as side:
        a, b, c = (side.start(lambda n=n: step(n)) for n in "abc")  # type: ignore[misc]
        assert events == ["start a", "end a", "start b", "end b", "start c", "end c"]
    assert [a.result(), b.result(), c.result()] == ["a", "b", "c"]


@pytest.mark.parametrize("parallel", [True, False])
def test_a_failed_step_raises_where_its_result_is_read_and_the_others_still_report(
    parallel: bool,
) -> None:
    def fails() -> str:
        raise VerifierError("gofmt: `gofmt` is not installed")

    with SideBySide(parallel=parallel) as side:
        failed = side.start(fails)
        other = side.start(lambda: "tests ran")
        with pytest.raises(VerifierError, match="gofmt"):
            failed.result()
        assert other.result() == "tests ran"


def test_leaving_the_block_waits_for_every_step_even_on_an_error() -> None:
    release = threading.Event()
    finished: list[str] = []

    def slow() -> None:
        release.wait(WAIT_S)
        finished.append("slow")

    with pytest.raises(VerifierError), SideBySide(parallel=True) as side:
        side.start(slow)
        threading.Timer(0.05, release.set).start()
        raise VerifierError("the check stopped early")
    # Nothing the verifier started may still run when the tree guard takes its snapshot.
    assert finished == ["slow"]
