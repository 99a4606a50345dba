"""chunk_threads and map_chunks: threads for a few large calls, chunks go to the free thread."""

import threading

import pytest

from rgdata import _threads
from rgdata._threads import chunk_threads, map_chunks


def test_map_chunks_returns_the_results_in_chunk_order():
    for n_threads in (1, 2, 3, 8):
        assert map_chunks(lambda k: k * k, 7, n_threads) == [k * k for k in range(7)]
    assert map_chunks(lambda k: k, 0, 2) == []


def test_chunks_go_to_whichever_thread_is_free():
    # chunk 0 holds its thread until every other chunk is done: only a second thread
    # that takes the chunks one after the other (not a fixed half of them) can do that
    rest_done = threading.Event()
    done = []
    lock = threading.Lock()

    def chunk(k):
        if k == 0:
            assert rest_done.wait(timeout=10), "the other chunks were not taken by another thread"
            return threading.get_ident()
        with lock:
            done.append(k)
            if len(done) == 9:
                rest_done.set()
        return threading.get_ident()

    idents = map_chunks(chunk, 10, 2)
    assert sorted(done) == list(range(1, 10))
    assert len(set(idents)) == 2
    assert set(idents[1:]) == {idents[1]} != {idents[0]}


def test_map_chunks_raises_the_first_error():
    def chunk(k):
        if k == 3:
            raise ValueError("chunk 3")
        return k

    for n_threads in (1, 2):
        with pytest.raises(ValueError, match="chunk 3"):
            map_chunks(chunk, 6, n_threads)


@pytest.mark.parametrize(
    "cores, numba_threads, want",
    [(2, 2, 2), (4, 2, 2), (1, 2, 1), (2, 1, 1), (8, 3, 3)],
)
def test_chunk_threads_is_numbas_count_within_the_cores(monkeypatch, cores, numba_threads, want):
    monkeypatch.setattr(_threads, "available_cores", lambda: cores)
    monkeypatch.setattr(_threads.numba, "get_num_threads", lambda: numba_threads)
    assert chunk_threads() == want
    assert chunk_threads(1) == 1
    assert chunk_threads(0) == 1


def test_no_threads_within_threads(monkeypatch):
    monkeypatch.setattr(_threads, "available_cores", lambda: 2)
    monkeypatch.setattr(_threads.numba, "get_num_threads", lambda: 2)
    assert chunk_threads() == 2
    assert map_chunks(lambda k: chunk_threads(), 6, 2) == [1] * 6  # every chunk, both threads
    assert chunk_threads() == 2  # restored on the calling thread
    assert map_chunks(lambda k: chunk_threads(), 3, 1) == [2] * 3  # a serial loop may thread


def test_a_failing_chunk_restores_the_calling_thread(monkeypatch):
    monkeypatch.setattr(_threads, "available_cores", lambda: 2)
    monkeypatch.setattr(_threads.numba, "get_num_threads", lambda: 2)

    def chunk(k):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        map_chunks(chunk, 4, 2)
    assert chunk_threads() == 2
