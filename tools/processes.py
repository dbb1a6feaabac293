"""Stopping the child processes the local tools and benchmarks start: asked first, killed if they linger."""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen[bytes], timeout_seconds: float) -> None:
    """SIGTERM, then SIGKILL if ``process`` has not exited ``timeout_seconds`` later; returns once it has
    exited (at once if it already had)."""
    process.terminate()
    try:
        process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
