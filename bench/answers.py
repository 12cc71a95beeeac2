"""Benchmark the answers box: index build time and per-question latency on one core.

Run from the repository root:  python bench/answers.py [--repeats N]

Builds the index from the guides and word lists (content/education, content/answers)
and times it; then asks every labelled question of tests/answers/ (all three languages)
``--repeats`` times through ``portal.answers.ask.ask`` and prints p50/p95/max per
question, against issue 18's targets: index build <= 2 s, p95 <= 20 ms.

The process is pinned to one core where the OS allows, and BLAS threads are limited to
one, so the figure is what a single gunicorn worker sees. The machine is shared, so CPU
time of this process is printed beside wall time, and the verdicts compare CPU time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.answers.ask import ask  # noqa: E402 - after sys.path
from portal.answers.index import build  # noqa: E402 - after sys.path
from tests.answers import LOCALES, load_questions  # noqa: E402 - after sys.path

BUILD_TARGET_S = 2.0
P95_TARGET_MS = 20.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    ask("warm up the segmenter and converter", "zh_Hans", index=build())  # load-time costs, not build
    wall, cpu = time.perf_counter(), time.process_time()
    index = build()
    build_wall, build_cpu = time.perf_counter() - wall, time.process_time() - cpu
    passages = sum(len(g.passages) for g in index.groups.values())
    print(f"index build: {build_wall:.3f} s wall, {build_cpu:.3f} s CPU ({passages} passages)")

    questions = [(q.question, locale) for locale in LOCALES for q in load_questions(locale)]
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(args.repeats):
        for question, locale in questions:
            wall, cpu = time.perf_counter(), time.process_time()
            ask(question, locale, index=index)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
    print(f"{len(questions)} questions x {args.repeats}:")
    for label, values in (("wall", walls), ("CPU ", cpus)):
        print(
            f"  {label} p50 {statistics.median(values):.2f} ms  p95 {percentile(values, 0.95):.2f} ms  "
            f"max {max(values):.2f} ms"
        )
    ok_build = build_cpu <= BUILD_TARGET_S
    ok_p95 = percentile(cpus, 0.95) <= P95_TARGET_MS
    print(f"build <= {BUILD_TARGET_S} s: {'PASS' if ok_build else 'FAIL'}")
    print(f"p95 <= {P95_TARGET_MS} ms: {'PASS' if ok_p95 else 'FAIL'}")
    return 0 if ok_build and ok_p95 else 1


if __name__ == "__main__":
    raise SystemExit(main())
