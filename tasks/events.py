"""Sending `digitrec.feedback.added` (built by digitrec.loop.events) to the Prefect server.

A plain function, so the review flow and the `digitrec label` command share it. Inside a flow
run the event goes through the run's own events worker. Outside one (the CLI) it is sent only
when PREFECT_API_URL names a server that answers: with no URL, `emit_event` would start a
temporary server (about 10 s here) that forgets the event at exit, and with a dead one Prefect
retries for seconds at exit. The CLI then waits at most FLUSH_S for delivery.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from digitrec.loop import events
from digitrec.loop.events import FeedbackEvent

HEALTH_TIMEOUT_S = 3.0
FLUSH_S = 10.0


@dataclass(frozen=True)
class Announcement:
    """The event built, and whether it went to a server (if not, why not)."""

    event: FeedbackEvent
    sent: bool
    note: str


def announce_feedback(new: int, source: str) -> Announcement:
    """Emit digitrec.feedback.added for `new` rows just stored by `source`; never raises for an
    absent or unreachable server (the rows are stored either way)."""
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.events import emit_event

    from digitrec.registry import champion

    record = champion()
    built = events.feedback_added(new, source, record.created if record else None)
    in_run = FlowRunContext.get() is not None or TaskRunContext.get() is not None
    if not in_run and (unreachable := server_problem()):
        return Announcement(built, False, unreachable)
    sent = emit_event(event=built.event, resource=built.resource, payload=built.payload)
    if not in_run:
        flush()
    return Announcement(built, sent is not None, "sent" if sent else "emit_event sent nothing")


def server_problem() -> str | None:
    """Why a process outside a flow run cannot send events now; None when the server answers."""
    import httpx
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_KEY, PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        return "not sent: PREFECT_API_URL is not set (no server to tell)"
    headers = {}
    if auth := PREFECT_API_AUTH_STRING.value():
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    elif key := PREFECT_API_KEY.value():
        headers["Authorization"] = f"Bearer {key}"
    try:
        response = httpx.get(f"{url}/health", headers=headers, timeout=HEALTH_TIMEOUT_S)
    except httpx.HTTPError as error:
        return f"not sent: the Prefect server at {url} did not answer ({type(error).__name__})"
    if response.status_code != 200:
        return f"not sent: the Prefect server at {url} answered {response.status_code}"
    return None


def flush() -> None:
    """Wait (at most FLUSH_S) for this process's events worker to deliver what it holds."""
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=FLUSH_S)
