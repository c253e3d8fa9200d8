"""The progress of a background job (a campaign run, a simulation), shown
and refreshed alike: the detail page polls itself with ``?fragment=1``
(``interaction/campaign_runs.js``) while the job is active."""

from __future__ import annotations

import datetime

from django.template.response import TemplateResponse
from django.utils import timezone

from ..models.job import PopulationJob

#: How often the progress of an active job is refreshed (milliseconds).
REFRESH_MS = 2000


def display(job: PopulationJob) -> PopulationJob:
    """``job`` with what its views show: percentage, elapsed time, estimated end."""
    now = timezone.now()
    job.percent = round(job.progress * 100)  # type: ignore[attr-defined]
    job.elapsed_text = duration(job.elapsed(now))  # type: ignore[attr-defined]
    eta = job.eta(now)
    job.eta_at = eta  # type: ignore[attr-defined]
    job.eta_text = duration(eta - now) if eta else ""  # type: ignore[attr-defined]
    return job


def duration(delta: datetime.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{seconds:02}"


class ProgressFragmentMixin:
    """A detail view that answers ``?fragment=1`` with the job's progress
    alone (``progress_template``, the job as ``job_name``)."""

    progress_template: str
    job_name: str

    def job(self) -> PopulationJob:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        if request.GET.get("fragment"):
            return TemplateResponse(
                request,
                self.progress_template,
                {self.job_name: display(self.job()), "refresh_ms": REFRESH_MS},
            )
        return super().get(request, *args, **kwargs)  # type: ignore[misc]
