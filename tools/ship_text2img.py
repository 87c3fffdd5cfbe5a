"""Evaluate a trained text-to-image model and ship it in ``course_lib/assets/``.

    python -m course_lib.text2img train --data shapes --out runs/shapes32 --seed 0
    python tools/ship_text2img.py runs/shapes32/model.pt

writes ``course_lib/assets/text2img_shapes32.pt`` (the model file, unchanged)
and ``text2img_shapes32.json`` beside it: the configuration, the training
report (time, device) and every metric of ``python -m course_lib.text2img
evaluate``, so the shipped numbers are the ones this command measured.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict
from pathlib import Path

from course_lib.text2img import TextToImageModel
from course_lib.text2img_eval import evaluate

ASSETS = Path(__file__).resolve().parents[1] / "course_lib" / "assets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the model.pt a training run wrote")
    args = parser.parse_args()
    model = TextToImageModel(args.model, device="cpu")
    name = f"text2img_{model.config.data}{model.config.image_size}"
    metrics = evaluate(model)
    target = ASSETS / f"{name}.pt"
    shutil.copyfile(args.model, target)
    record = {
        "command": "python -m course_lib.text2img train --data "
        f"{model.config.data} --out runs/NAME --seed {model.config.seed}",
        "config": asdict(model.config),
        "training": model.report,
        "metrics": metrics,
        "size_bytes": target.stat().st_size,
    }
    (ASSETS / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
