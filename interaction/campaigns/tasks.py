"""A campaign run's background tasks (django-tasks), on the ``batch`` backend.

Each is small and idempotent: the planning of a run, and one chunk. Any
number of workers share a run (``manage.py db_worker --backend batch
--queue-name interaction``); a task run twice, or whose chunk is being
written by another worker, does nothing. See :mod:`.runs`.
"""

from __future__ import annotations

from django_tasks import TaskContext, task

from . import runs

BACKEND = "batch"
QUEUE = "interaction"


@task(backend=BACKEND, queue_name=QUEUE)
def plan_run(run_id: int) -> str:
    run = runs.plan(run_id)
    return run.status if run is not None else "missing"


@task(backend=BACKEND, queue_name=QUEUE, takes_context=True)
def run_chunk(context: TaskContext, chunk_id: int) -> str:
    worker_ids = context.task_result.worker_ids
    worker = worker_ids[-1] if worker_ids else runs.default_worker()
    return runs.process_chunk(chunk_id, worker=worker)
