"""The text-conditioned GAN: models, the training command, resume, bad input."""

from pathlib import Path

import pytest
import torch

from course_lib.nn.text2img import TextToImageDiscriminator, TextToImageGenerator
from course_lib.text2img import TextToImageModel, main

TINY = ["--n-train", "300", "--text-steps", "3", "--width", "8", "--batch-size", "16",
        "--sample-every", "0", "--checkpoint-every", "0"]  # fmt: skip


def test_generator_places_the_object_inside_the_canvas():
    torch.manual_seed(0)
    g = TextToImageGenerator(text_dim=16, latent_dim=8, c_dim=8, width=8)
    with torch.no_grad():
        g.where[-1].weight.normal_(0, 5)  # push the window around
        out = g(torch.randn(32, 8), torch.randn(32, 16), return_all=True)
    s, cx, cy = out["placement"].unbind(1)
    assert out["images"].shape == (32, 3, 32, 32)
    assert ((s >= 0.2) & (s <= 0.9)).all()
    assert (cx.abs() <= 1 - s + 1e-6).all() and (cy.abs() <= 1 - s + 1e-6).all()
    assert out["alpha"].shape == (32, 1, 16, 16)
    plain = TextToImageGenerator(text_dim=16, latent_dim=8, c_dim=8, width=8, use_stn=False)
    assert plain(torch.randn(2, 8), torch.randn(2, 16), return_all=True)["placement"] is None
    with pytest.raises(ValueError, match=r"phi must be \[N, 16\]"):
        g(torch.randn(2, 8), torch.randn(3, 16))
    with pytest.raises(ValueError, match=r"z must be \[N, 8\]"):
        g(torch.randn(2, 5), torch.randn(2, 16))


def test_discriminator_scores_and_heads():
    d = TextToImageDiscriminator(text_dim=16, heads={"shape": 5, "colour": 6}, width=8)
    logits, heads = d(torch.randn(4, 3, 32, 32), torch.randn(4, 16))
    assert logits.shape == (4,) and heads["shape"].shape == (4, 5)
    with pytest.raises(ValueError, match=r"\[N, 3, 32, 32\]"):
        d(torch.randn(4, 3, 16, 16), torch.randn(4, 16))


def _weights(path: Path) -> torch.Tensor:
    state = torch.load(path, weights_only=True)
    return torch.cat([v.flatten().float() for v in state["generator"].values()])


def test_train_sample_and_resume_exactly(tmp_path, capsys, monkeypatch):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(["train", "--out", str(straight), "--steps", "6", *TINY]) == 0
    assert main(["train", "--out", str(split), "--steps", "3", *TINY]) == 0
    assert (split / "text_encoder.pt").exists()

    def retrain(*args, **kwargs):
        raise AssertionError("--resume must reload the run's text encoder, not retrain it")

    with monkeypatch.context() as patch:
        patch.setattr("course_lib.text2img.train_joint_embedding", retrain)
        assert main(["train", "--out", str(split), "--steps", "6", "--resume", *TINY]) == 0
    torch.testing.assert_close(_weights(straight / "model.pt"), _weights(split / "model.pt"))
    full_a = torch.load(straight / "checkpoint.pt", weights_only=True)["discriminator"]
    full_b = torch.load(split / "checkpoint.pt", weights_only=True)["discriminator"]
    for key in full_a:
        torch.testing.assert_close(full_a[key], full_b[key])

    grid = tmp_path / "grid.png"
    args = ["sample", "--checkpoint", str(straight / "model.pt"), "--n", "4", "--out", str(grid)]
    assert main([*args, "--caption", "a small red circle in the top left"]) == 0
    assert grid.stat().st_size > 0
    capsys.readouterr()

    # bad input: one clear line on stderr, exit code 1, nothing written or overwritten
    assert main([*args[:-1], str(tmp_path / "g2.png"), "--caption", "a purple circle"]) == 1
    assert "unknown word" in capsys.readouterr().err and not (tmp_path / "g2.png").exists()
    assert main([*args, "--caption", ""]) == 1
    assert "empty" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(tmp_path / "none.pt"), "--caption", "a circle",
                 "--out", str(grid)]) == 1  # fmt: skip
    assert "no " in capsys.readouterr().err.lower()
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    assert main(["sample", "--checkpoint", str(corrupt), "--caption", "a circle",
                 "--out", str(grid)]) == 1  # fmt: skip
    assert "error:" in capsys.readouterr().err
    before = (straight / "checkpoint.pt").read_bytes()
    assert main(["train", "--out", str(straight), "--steps", "8", "--resume", *TINY[:-2],
                 "--checkpoint-every", "0", "--lr-g", "0.001"]) == 1  # fmt: skip
    assert "different configuration" in capsys.readouterr().err
    assert main(["train", "--out", str(straight), "--steps", "6", *TINY]) == 1
    assert "--resume" in capsys.readouterr().err
    assert (straight / "checkpoint.pt").read_bytes() == before


def test_model_refuses_other_files(tmp_path):
    from course_lib.checkpoint import save_checkpoint

    path = save_checkpoint({"kind": "something else"}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a text-to-image model"):
        TextToImageModel(path)


def test_data_parallel_under_torchrun(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "ddp"
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"),
        *("-m", "course_lib.text2img", "train", "--out", str(out), "--steps", "3", *TINY),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    model = TextToImageModel(out / "model.pt")
    assert model.report["processes"] == 2
    assert model.generate(["a big blue square"]).shape == (1, 3, 32, 32)
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 3


def test_shipped_checkpoint_meets_the_targets():
    """The shipped model, evaluated now, meets issue 9's targets and reproduces the
    metrics recorded beside it."""
    import json

    from course_lib.text2img_eval import evaluate

    assets = Path(__file__).resolve().parents[1] / "course_lib" / "assets"
    path = assets / "text2img_shapes32.pt"
    assert path.stat().st_size <= 5 * 2**20
    record = json.loads((assets / "text2img_shapes32.json").read_text())
    m = evaluate(TextToImageModel(path, device="cpu"))
    for attribute in ("colour", "size", "position"):
        assert m[f"seen_acc_{attribute}"] >= 0.97
    assert m["seen_acc_shape"] >= 0.85 and m["seen_acc_all"] >= 0.80
    assert m["heldout_acc_all"] >= 0.70
    assert m["placement_centre_within_0.1"] >= 0.95
    assert m["placement_scale_separates_sizes"] >= 0.95
    assert m["seen_r_precision"] >= 0.70
    assert 0.8 <= m["seen_diversity_ratio"] <= 1.2
    assert m["seen_frechet_x_floor"] <= 3.0
    assert record["training"]["train_seconds"] < 15 * 60
    for key, value in record["metrics"].items():
        if key != "evaluate_seconds":
            assert abs(m[key] - value) <= 0.005 + 0.01 * abs(value), (
                key
            )  # other CPUs round differently


def test_train_on_a_caption_folder(tmp_path, tiny_caption_folder, capsys):
    tiny_caption_folder(tmp_path / "birds")
    out = tmp_path / "run"
    args = ["train", "--data", "folder", str(tmp_path / "birds"), "--out", str(out)]
    assert main([*args, "--steps", "2", *TINY[2:], "--n-train", "4"]) == 0
    model = TextToImageModel(out / "model.pt")
    assert model.config.data == "folder" and model.attributes == {
        "class": ("001.Albatross", "002.Blackbird")
    }
    assert model.generate(["this albatross has wings"]).shape == (1, 3, 32, 32)
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out / "model.pt")]) == 1
    assert "oracle of a generated data set" in capsys.readouterr().err


def test_bad_data_argument(tmp_path, capsys):
    for data in (["pictures"], ["folder"], ["shapes", "digits"]):
        assert main(["train", "--data", *data, "--out", str(tmp_path / "x")]) == 1
        assert "--data" in capsys.readouterr().err
    assert main(["train", "--data", "folder", str(tmp_path / "none"), "--out", str(tmp_path)]) == 1
    assert "CaptionFolder expects" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_caption_explorer_shows_vocabulary_errors_in_the_widget():
    from course_lib.text2img import SHIPPED_MODEL, caption_explorer

    ui = caption_explorer(TextToImageModel(SHIPPED_MODEL), n=2)
    box, message, _ = ui.children
    assert message.value == ""
    box.value = "a small purple circle"
    assert "unknown word" in message.value and "purple" in message.value
    box.value = "a large blue square in the centre"
    assert message.value == ""


def test_64x64_configuration_trains(tmp_path):
    out = tmp_path / "run64"
    with pytest.warns(UserWarning, match="mixed precision is used on CUDA only"):
        code = main(
            ["train", "--out", str(out), "--steps", "2", "--image-size", "64", "--amp", *TINY]
        )
    assert code == 0
    model = TextToImageModel(out / "model.pt")
    assert model.generate(["a large blue square in the centre"]).shape == (1, 3, 64, 64)
