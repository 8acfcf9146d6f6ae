"""Serve both deployments from one long-running process:
`train/retraining` on a cron schedule and `predict/predict` on demand.

    python deployments/serve.py [--cron "0 3 * * 0"] [--timezone UTC] [--limit 4] [--poll 2]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

DEFAULT_CRON = "0 3 * * 0"  # Sunday 03:00
DEFAULT_TIMEZONE = "UTC"
DEFAULT_POLL_SECONDS = 2  # Prefect's runner default is 10 s, most of a one-image predict run


def build_deployments(cron: str, timezone: str):
    """The two runner deployments (not yet registered with a server)."""
    from prefect.client.schemas.schedules import CronSchedule

    from flows.predict import predict
    from flows.training import train

    retraining = train.to_deployment(
        name="retraining",
        schedule=CronSchedule(cron=cron, timezone=timezone),
        parameters={"profile": "fast"},
        description="Scheduled retraining on the default data; promotes only a better model.",
        tags=["digitrec", "training"],
    )
    on_demand = predict.to_deployment(
        name="predict",
        description="Digits, names and confidences for image files, folders or Kaggle CSVs.",
        tags=["digitrec", "prediction"],
    )
    return retraining, on_demand


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cron",
        default=os.environ.get("DIGITREC_RETRAIN_CRON", DEFAULT_CRON),
        help="retraining schedule (env DIGITREC_RETRAIN_CRON)",
    )
    parser.add_argument(
        "--timezone",
        default=os.environ.get("DIGITREC_RETRAIN_TZ", DEFAULT_TIMEZONE),
        help="schedule time zone (env DIGITREC_RETRAIN_TZ)",
    )
    parser.add_argument("--limit", type=int, default=None, help="max concurrent flow runs")
    parser.add_argument(
        "--poll",
        type=int,
        default=int(os.environ.get("PREFECT_RUNNER_POLL_FREQUENCY", DEFAULT_POLL_SECONDS)),
        help="seconds between polls for new runs (env PREFECT_RUNNER_POLL_FREQUENCY)",
    )
    args = parser.parse_args()
    # Read by Prefect's settings when it is imported below.
    os.environ["PREFECT_RUNNER_POLL_FREQUENCY"] = str(args.poll)
    from prefect import serve

    # pause_on_shutdown=False keeps the schedule active when this process restarts.
    serve(*build_deployments(args.cron, args.timezone), pause_on_shutdown=False, limit=args.limit)


if __name__ == "__main__":
    main()
