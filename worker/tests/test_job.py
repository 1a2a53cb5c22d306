"""The job's state machine (job.py): every move it allows, every move it refuses, and what a cancel does in each state."""

import asyncio

import pytest

from whisper_worker.job import IllegalMove, Job, State


async def until_cancelled(job: Job) -> str:
    """A task that works like a decode's: it ends by itself at its next check of the flag."""
    while not job.cancelled.is_set():
        await asyncio.sleep(0)
    return "ended at its check"


def test_a_new_job_waits():
    assert Job("j").state is State.WAITING


def test_cancel_while_waiting_cancels_the_task():
    async def main():
        job = Job("j")
        job.task = asyncio.create_task(asyncio.Event().wait())
        await asyncio.sleep(0)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job.task
        return job

    job = asyncio.run(main())
    assert job.task.cancelled() and job.cancelled.is_set() and job.state is State.WAITING


def test_cancel_while_waiting_with_no_task_yet_sets_the_flag():
    job = Job("j")
    job.cancel()
    assert job.cancelled.is_set() and job.state is State.WAITING


def test_cancel_while_running_only_sets_the_flag_and_the_task_ends_at_its_next_check():
    async def main():
        job = Job("j")
        job.task = asyncio.create_task(until_cancelled(job))
        job.start_running()
        await asyncio.sleep(0)
        job.cancel()
        return job, await job.task

    job, outcome = asyncio.run(main())
    assert outcome == "ended at its check" and not job.task.cancelled()
    assert job.cancelled.is_set() and job.state is State.RUNNING


def test_a_job_that_is_done_ignores_cancel():
    async def main():
        job = Job("j")
        job.task = asyncio.create_task(asyncio.Event().wait())
        job.finish()
        job.cancel()
        await asyncio.sleep(0)
        state = job.task.done(), job.cancelled.is_set(), job.state
        job.task.cancel()
        return state

    assert asyncio.run(main()) == (False, False, State.DONE)


def test_decoding_runs_for_one_decode_then_waits_again_even_when_the_decode_fails():
    job = Job("j")
    with job.decoding():
        assert job.state is State.RUNNING
    assert job.state is State.WAITING
    with pytest.raises(ValueError), job.decoding():
        raise ValueError("the decode failed")
    assert job.state is State.WAITING


def test_after_a_decode_a_cancel_cancels_the_task_again():
    async def main():
        job = Job("j")
        job.task = asyncio.create_task(asyncio.Event().wait())
        with job.decoding():
            job.cancel()  # during the decode: the flag only
            await asyncio.sleep(0)
            during = job.task.done()
        job.cancel()
        await asyncio.sleep(0)
        return during, job.task.cancelled()

    assert asyncio.run(main()) == (False, True)


def test_the_legal_moves():
    stream = Job("stream")  # a live stream: waiting and running in turn, once a decode
    for _ in range(2):
        stream.start_running()
        assert stream.state is State.RUNNING
        stream.stop_running()
        assert stream.state is State.WAITING
    stream.finish()
    transcription = Job("transcription")  # runs once, and is done from running
    transcription.start_running()
    transcription.finish()
    refused = Job("refused")  # done before it ever ran
    refused.finish()
    assert stream.state is transcription.state is refused.state is State.DONE


# The five moves of the 3 x 3 that the machine has no arrow for (the other four are above); DONE -> DONE twice over.
@pytest.mark.parametrize(("path", "move"), [
    ((), "stop_running"),
    (("start_running",), "start_running"),
    (("finish",), "start_running"),
    (("finish",), "stop_running"),
    (("finish",), "finish"),
    (("start_running", "finish"), "finish"),
])
def test_the_illegal_moves_are_refused_and_change_nothing(path, move):
    job = Job("j")
    for step in path:
        getattr(job, step)()
    before = job.state
    with pytest.raises(IllegalMove, match=f"job 'j' cannot go from {before.value}"):
        getattr(job, move)()
    assert job.state is before


def test_a_decode_cannot_start_inside_another_nor_after_the_end():
    job = Job("j")
    with job.decoding(), pytest.raises(IllegalMove), job.decoding():
        pass
    assert job.state is State.WAITING
    job.finish()
    with pytest.raises(IllegalMove), job.decoding():
        pass
    assert job.state is State.DONE

