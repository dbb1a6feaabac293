"""``make bench``: run every benchmark and print its figures."""

from __future__ import annotations

from bench import pose_decode

BENCHMARKS = [pose_decode]


def main() -> None:
    for benchmark in BENCHMARKS:
        print(benchmark.run(), flush=True)


if __name__ == "__main__":
    main()
