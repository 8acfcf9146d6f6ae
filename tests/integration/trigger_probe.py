"""A flow that only returns its parameter: served in place of `train` where a test needs a
triggered run to execute without training anything."""

from __future__ import annotations

from prefect import flow


@flow(name="probe")
def probe(profile: str = "none") -> str:
    """Echo the profile a trigger passed."""
    return profile
