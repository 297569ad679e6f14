"""Where a run computes: in this process, on a local Dask cluster, or on a running one."""
import contextlib
import logging

__all__ = ["dask_client", "check_where", "SCHEDULER_TIMEOUT_S"]

#: How long to wait for a ``--scheduler`` to answer before saying it cannot be reached.
SCHEDULER_TIMEOUT_S = 5


def check_where(workers=None, scheduler=None):
    """Refuse impossible engine settings before anything is computed."""
    if workers is not None and scheduler is not None:
        raise ValueError("give either workers (a local Dask cluster) or a scheduler address, not both")
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers must be at least 1 (got {workers}); leave it out to compute in this process")


@contextlib.contextmanager
def _quiet(level=logging.CRITICAL):
    """Silence distributed's own log lines (connection retries, shutdown chatter) for a block."""
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, old in zip(loggers, before):
            logger.setLevel(old)


@contextlib.contextmanager
def dask_client(workers=None, scheduler=None, timeout_s=SCHEDULER_TIMEOUT_S):
    """A Dask client: of the scheduler at ``scheduler`` (an address, or a Client or cluster
    object such as a dask-jobqueue ``SLURMCluster``), else of a new local cluster of
    ``workers`` single-threaded processes. An unreachable scheduler raises ``ValueError``
    after ``timeout_s`` seconds."""
    check_where(workers, scheduler)
    from dask.distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet(logging.ERROR))
        if scheduler is not None and isinstance(scheduler, Client):
            yield scheduler
            return
        if scheduler is not None and not isinstance(scheduler, str):  # a cluster object
            yield stack.enter_context(Client(scheduler))
            return
        if scheduler is not None:
            try:
                with _quiet():
                    client = Client(scheduler, timeout=timeout_s)
            except (OSError, TimeoutError, ValueError) as error:
                raise ValueError(f"cannot reach the Dask scheduler at {scheduler} within {timeout_s} s "
                                 f"({type(error).__name__}); is it running, and is the address right?") from None
            yield stack.enter_context(client)
            return
        cluster = stack.enter_context(LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                                                   dashboard_address=None))
        yield stack.enter_context(Client(cluster))
