"""Ablations of the text-conditioned GAN: what each piece is worth (notebook 11).

    python benchmarks/text2img_ablations.py [--variants no_ca no_stn no_matching] [--steps 3500]

Each variant is the shipped model's recipe (``course_lib/assets/text2img_shapes32.json``:
same data, seed, steps and every other setting) with one piece removed:

- ``no_ca``: no conditioning augmentation: the generator reads ``mu`` (a deterministic
  function of the caption) and the KL term is dropped (weight 0; with no sampling the
  KL would only shrink ``mu``);
- ``no_stn``: no "where" path: one global path draws the whole image, so there is no
  window to paste into and no placement loss;
- ``no_matching``: no matching-aware term: the discriminator never sees a real image with
  a wrong caption (its loss is real vs fake only; the auxiliary heads stay).

Each variant trains with ``course_lib.text2img.train`` into ``runs/ablations/NAME``
(about 14 minutes each on 2 CPU cores) and is measured with exactly the metrics of
``python -m course_lib.text2img evaluate``. Results are merged into
``course_lib/assets/text2img_ablations.json`` after each variant (the full model's
row is the shipped checkpoint's recorded evaluation), which notebook 11 reads.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

from course_lib.text2img import Text2ImgConfig, TextToImageModel, train
from course_lib.text2img_eval import evaluate

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "course_lib" / "assets" / "text2img_shapes32.json"
RESULTS = ROOT / "course_lib" / "assets" / "text2img_ablations.json"

VARIANTS = {
    "no_ca": {"use_ca": False, "kl_weight": 0.0},
    "no_stn": {"use_stn": False},
    "no_matching": {"use_matching": False},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=None, help="default: the shipped model's")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "ablations")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()

    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    base = Text2ImgConfig(**shipped["config"])
    if args.steps is not None:
        base = replace(base, steps=args.steps)
    results = {}
    if args.results.exists():
        results = json.loads(args.results.read_text(encoding="utf-8"))
    results["full"] = {
        "changes": {},
        "config": shipped["config"],
        "train_seconds": shipped["training"]["train_seconds"],
        "metrics": shipped["metrics"],
        "source": "course_lib/assets/text2img_shapes32.json (the shipped model)",
    }
    for name in args.variants:
        config = replace(base, **VARIANTS[name])
        out = args.runs / name
        if out.exists():
            shutil.rmtree(out)
        start = time.perf_counter()
        train(config, out)
        seconds = time.perf_counter() - start
        metrics = evaluate(TextToImageModel(out / "model.pt", device="cpu"))
        results[name] = {
            "changes": VARIANTS[name],
            "config": asdict(config),
            "train_seconds": round(seconds, 1),
            "metrics": metrics,
            "source": f"python benchmarks/text2img_ablations.py --variants {name}",
        }
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        keys = ("seen_acc_all", "heldout_acc_all", "seen_r_precision", "seen_diversity_ratio")
        summary = ", ".join(f"{k} {metrics[k]}" for k in keys)
        print(f"{name}: trained {seconds:.0f} s; {summary}", flush=True)
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
