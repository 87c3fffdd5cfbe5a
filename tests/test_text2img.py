"""The text-conditioned GAN: models, the training command, resume, bad input."""

from pathlib import Path

import pytest
import torch

from course_lib.nn.text2img import TextToImageDiscriminator, TextToImageGenerator
from course_lib.text2img import Text2ImgConfig, TextToImageModel, main, train

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


def test_train_sample_and_resume_exactly(tmp_path, capsys):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(["train", "--out", str(straight), "--steps", "6", *TINY]) == 0
    assert main(["train", "--out", str(split), "--steps", "3", *TINY]) == 0
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
    assert Text2ImgConfig().data == "shapes"
    assert callable(train)
