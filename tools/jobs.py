"""``make run``'s job scheduler: core-api's enrollment expiry and adherence roll-forward, as in production.

The schedules and commands come from the Kubernetes CronJobs (``deploy/k8s/base/cronjobs.yaml``), so a
local run and production run the same jobs at the same times (UTC, the CronJobs' ``timeZone``).
Each job also runs once when the scheduler starts: a laptop is rarely up at 02:15, and both jobs are
idempotent. Jobs run one after another, each as its own process (``python -m ...``, the CronJob's
command), and a failing run is logged and retried at the next time. The retention jobs are left out: they
erase data and need telemetry credentials, which a local run does not set up.

``python -m tools.jobs`` runs until SIGTERM or Ctrl-C; ``tools.run`` starts it beside the services.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CRONJOBS = ROOT / "deploy" / "k8s" / "base" / "cronjobs.yaml"
# The CronJobs run locally, by the module their command runs.
LOCAL_JOBS = ("core_api.jobs.expire_enrollments", "core_api.jobs.adherence_rollforward")
# minute, hour, day of month, month, day of week (0 = Sunday): the values each field may take.
_FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


@dataclass(frozen=True)
class Job:
    """A CronJob's name, its command's module and its schedule, one set of allowed values per field."""

    name: str
    module: str
    schedule: str
    fields: tuple[frozenset[int], ...]

    def due(self, moment: datetime) -> bool:
        """Whether the schedule fires in the minute of ``moment`` (UTC)."""
        moment = moment.astimezone(UTC)
        values = (moment.minute, moment.hour, moment.day, moment.month, moment.isoweekday() % 7)
        return all(value in allowed for value, allowed in zip(values, self.fields, strict=True))


def parse_schedule(schedule: str) -> tuple[frozenset[int], ...]:
    """A five-field cron schedule (``*``, numbers, ``a-b`` ranges, ``/step`` and ``,`` lists) as the set
    of values each field allows; raises ``ValueError`` for anything else."""
    parts = schedule.split()
    if len(parts) != len(_FIELDS):
        raise ValueError(f"{schedule!r}: a cron schedule has five fields")
    return tuple(_parse_field(part, low, high) for part, (low, high) in zip(parts, _FIELDS, strict=True))


def _parse_field(text: str, low: int, high: int) -> frozenset[int]:
    allowed: set[int] = set()
    for item in text.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first_text, last_text = span.split("-", 1)
            first, last = int(first_text), int(last_text)
        else:
            first = last = int(span)
        if not low <= first <= last <= high or step < 1:
            raise ValueError(f"{text!r}: outside {low}-{high}")
        allowed.update(range(first, last + 1, step))
    return frozenset(allowed)


def local_jobs(path: Path = CRONJOBS) -> list[Job]:
    """The CronJobs of ``path`` whose command is ``python -m <one of LOCAL_JOBS>``, in the file's order."""
    jobs = []
    for document in yaml.safe_load_all(path.read_text()):
        if not document or document.get("kind") != "CronJob":
            continue
        template = document["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for container in template["containers"]:
            command = container.get("command", [])
            if command[:2] == ["python", "-m"] and command[2] in LOCAL_JOBS:
                schedule = document["spec"]["schedule"]
                jobs.append(Job(document["metadata"]["name"], command[2], schedule, parse_schedule(schedule)))
    return jobs


def _run(job: Job, stop: threading.Event) -> None:
    print(f"jobs: {job.name} ({job.module}) starting", flush=True)
    process = subprocess.Popen([sys.executable, "-m", job.module])
    while process.poll() is None:
        if stop.wait(0.2):
            process.terminate()
            process.wait()
            return
    status = "done" if process.returncode == 0 else f"failed with status {process.returncode}; retried at its next time"
    print(f"jobs: {job.name} {status}", flush=True)


def serve(jobs: list[Job], stop: threading.Event) -> None:
    """Run every job once, then each whenever its schedule comes round, until ``stop`` is set."""
    for job in jobs:
        if not stop.is_set():
            _run(job, stop)
    checked = datetime.now(UTC).replace(second=0, microsecond=0)
    while not stop.is_set():
        if stop.wait(max((checked + timedelta(minutes=1) - datetime.now(UTC)).total_seconds(), 0)):
            break
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        # Every minute since the last check, so a laptop that slept through a job's time runs it on waking
        # (once, however many times it was due).
        minutes = [checked + timedelta(minutes=k) for k in range(1, int((now - checked) / timedelta(minutes=1)) + 1)]
        checked = max(checked, now)
        for job in jobs:
            if any(job.due(minute) for minute in minutes) and not stop.is_set():
                _run(job, stop)


def main() -> None:
    jobs = local_jobs()
    missing = set(LOCAL_JOBS) - {job.module for job in jobs}
    if missing:
        raise SystemExit(f"{CRONJOBS} has no CronJob running {', '.join(sorted(missing))}")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for job in jobs:
        print(f"jobs: {job.name} runs at '{job.schedule}' (UTC), and now", flush=True)
    serve(jobs, stop)


if __name__ == "__main__":
    main()
