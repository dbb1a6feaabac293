"""Stopping the child processes the local tools and benchmarks start: asked first, killed if they linger."""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen[bytes], timeout_seconds: float) -> int | None:
    """SIGTERM, then SIGKILL if ``process`` has not exited ``timeout_seconds`` later; returns once it has
    exited (at once if it already had): its exit code, or ``None`` when it had to be killed."""
    process.terminate()
    try:
        return process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None
