"""mockserver: a contract-testing mock of the Cisco Context Service registration."""

from __future__ import annotations

__version__ = "0.1.0"

from .app import build_app, run_server
from .settings import Settings

__all__ = ["Settings", "__version__", "build_app", "run_server"]
