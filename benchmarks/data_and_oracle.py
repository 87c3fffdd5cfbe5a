"""Benchmark: data generation speed and oracle training (issue targets).

    python benchmarks/data_and_oracle.py            # data generation only (seconds)
    python benchmarks/data_and_oracle.py --oracle   # also retrain both oracles (minutes)

Targets (2 cores): 10,000 captioned 32x32 shapes in under 2 s; each oracle
trains in under 3 minutes to >= 98% per attribute (shapes) and >= 95% digit
accuracy on held-out real digits.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from course_lib.data import CaptionedDigits, CaptionedShapes
from course_lib.oracle import OracleConfig, train_oracle


def time_it(make, repeats: int = 3) -> float:
    make()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        make()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oracle", action="store_true", help="also retrain the oracles")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, make in [
        ("10,000 shapes 32x32 (5 captions each)", lambda: CaptionedShapes(10_000)),
        ("10,000 shapes 64x64", lambda: CaptionedShapes(10_000, image_size=64)),
        ("10,000 digits 32x32", lambda: CaptionedDigits(10_000)),
    ]:
        print(f"{name:<40s} {time_it(make):6.2f} s (median of 3)")
    if args.oracle:
        for data in ("shapes", "digits"):
            _, report = train_oracle(OracleConfig(data=data), progress=False)
            print(f"oracle {data}: {json.dumps(report)}")


if __name__ == "__main__":
    main()
