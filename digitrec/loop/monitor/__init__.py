"""Monitoring the prediction log: input drift (image statistics against the training images,
KS tests), output drift (predicted classes against the training prior, chi-square and PSI),
confidence, rejections and reviewed accuracy over a window, production accuracy from the
review's random checks (`accuracy`), and a verdict by named thresholds.
`run_monitor` does one run; `window.save_last_run` moves the next window's start."""

from digitrec.loop.monitor.report import MonitorReport, run_monitor
from digitrec.loop.monitor.verdict import Thresholds, Verdict
from digitrec.loop.monitor.window import last_run, save_last_run

__all__ = ["MonitorReport", "Thresholds", "Verdict", "last_run", "run_monitor", "save_last_run"]
