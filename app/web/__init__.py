"""The draw-a-digit web page: a small FastAPI app that predicts in-process with the champion."""

from app.web.server import create_app

__all__ = ["create_app"]
