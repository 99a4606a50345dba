from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@contextmanager
def _local_client(processes: bool):
    """A client of a 2-worker LocalCluster, one thread per worker, no dashboard."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def client(request):
    """A 2-worker LocalCluster's client, per module: threads in this process, or worker
    processes where the module sets ``CLIENT_PROCESSES = True``."""
    with _local_client(getattr(request.module, "CLIENT_PROCESSES", False)) as c:
        yield c


@pytest.fixture
def thread_client():
    """A 2-worker LocalCluster of threads in this process, for one test."""
    with _local_client(False) as c:
        yield c
