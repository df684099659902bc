"""Training options declared once: the command line and the recipes come from TrainConfig."""

import argparse
from dataclasses import fields
from pathlib import Path

import pytest

from model import checkpoint
from model.options import add_arguments, values
from model.predict import DEFAULT_WEIGHTS
from model.train import TrainConfig

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.toml"))


def parse(*argv: str) -> TrainConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser, TrainConfig)
    return TrainConfig(**values(parser.parse_args(argv), TrainConfig))


def test_every_option_has_a_one_line_help_and_a_flag_or_says_why_not():
    parser = argparse.ArgumentParser()
    add_arguments(parser, TrainConfig)
    flags = {a.dest: a for a in parser._actions}
    for f in fields(TrainConfig):
        assert "\n" not in f.metadata["help"] and len(f.metadata["help"]) < 80, f.name
        assert (f.name in flags) != (f.metadata.get("flag", "") is None), f.name


def test_flags_reach_the_config_with_their_types():
    cfg = parse("--split", "all", "--out", "x.pt", "--noise-cell", "8", "8", "--no-pretrained",
                "--epochs", "3", "--lr", "1e-3", "--time-budget", "5")  # fmt: skip
    assert (cfg.split, cfg.out, cfg.noise_cell) == ("all", Path("x.pt"), (8.0, 8.0))
    assert (cfg.pretrained, cfg.epochs, cfg.lr, cfg.time_budget) == (False, 3, 1e-3, 5.0)
    assert parse() == TrainConfig()  # no flag: the defaults


def test_a_recipe_file_sets_options_and_flags_win(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('split = "all"\nepochs = 6\nnoise_cell = [8, 8]\ninit = "a.pt"\n')
    cfg = parse("--config", str(recipe), "--epochs", "2")
    assert (cfg.split, cfg.epochs, cfg.noise_cell, cfg.init) == ("all", 2, (8.0, 8.0), Path("a.pt"))
    recipe.write_text("mixup = 0.2\n")
    with pytest.raises(ValueError, match="unknown options mixup"):
        parse("--config", str(recipe))


@pytest.mark.parametrize("recipe", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_recipe_is_a_valid_config(recipe):
    cfg = parse("--config", str(recipe))
    assert cfg.out is not None


def test_the_last_shipped_recipe_is_how_the_shipped_weights_were_trained():
    trained = checkpoint.load_info(DEFAULT_WEIGHTS)["meta"]["config"]
    recipe = parse("--config", str(CONFIGS[0].with_name("shipped-3-species.toml")))
    names = ("split", "arch", "input_size", "epochs", "patience", "balance", "lr", "backbone_lr",
             "species_weight", "post_share", "noise_cell", "batch_size")  # fmt: skip
    for name in names:
        want = tuple(trained[name]) if name == "noise_cell" else trained[name]
        assert getattr(recipe, name) == want, name


@pytest.mark.parametrize("split", ["family-holdout", "species-holdout"])
def test_the_type_holdout_recipes_are_the_defaults(split):
    """``train --split family-holdout --out PATH`` trains what REPORT reports."""
    recipe = parse("--config", str(CONFIGS[0].with_name(f"{split}.toml")))
    assert recipe == TrainConfig(split=split, out=recipe.out)


def test_old_holdout_checkpoints_were_trained_on_species_1_to_649():
    assert checkpoint.species_limit({"split": "family-holdout", "max_species": None}) == 649
    assert checkpoint.species_limit({"split": "all", "max_species": None}) is None
    assert checkpoint.species_limit({"split": "family-holdout", "max_species": 1025}) == 1025
