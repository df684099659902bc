from bot.render import bar, prediction_embed, prediction_text
from model.pokedex import TYPES
from model.predict import Prediction, SpeciesScore, TypeScore

CHARIZARD_LIKE = Prediction(
    types=tuple(
        TypeScore(t, p)
        for t, p in [("Fire", 0.81), ("Flying", 0.62), ("Dragon", 0.2)]
        + [(t, 0.01) for t in TYPES if t not in ("Fire", "Flying", "Dragon")]
    ),
    typing=("Fire", "Flying"),
    species=(
        SpeciesScore(6, "Charizard", 0.9),
        SpeciesScore(5, "Charmeleon", 0.05),
        SpeciesScore(4, "Charmander", 0.02),
        SpeciesScore(149, "Dragonite", 0.01),
        SpeciesScore(146, "Moltres", 0.01),
    ),
    species_confident=True,
    frames=1,
)


def test_bar_is_proportional():
    assert bar(0.5, 10) == "█████░░░░░"
    assert bar(0.0, 4) == "░░░░" and bar(1.0, 4) == "████"


def test_exact_embed_for_a_known_prediction():
    embed = prediction_embed(CHARIZARD_LIKE, "dragon.png").to_dict()
    assert embed["title"] == "Fire/Flying type"
    assert embed["description"] == "`dragon.png`"
    assert embed["color"] == 0xEE8130
    assert embed["fields"] == [
        {"name": "Types", "inline": False, "value": "`██████████░░` Fire 81%\n"
         "`███████░░░░░` Flying 62%\n`██░░░░░░░░░░` Dragon 20%"},
        {"name": "Species", "inline": False, "value": "#6 Charizard (Fire/Flying), 90% sure"},
        {"name": "Weak to", "inline": False, "value": "Water 2×, Electric 2×, Rock 4×"},
        {"name": "Resists", "inline": False,
         "value": "Fire ½×, Grass ¼×, Fighting ½×, Bug ¼×, Steel ½×, Fairy ½×"},
        {"name": "Immune to", "inline": False, "value": "Ground"},
    ]  # fmt: skip


def test_a_known_species_shows_its_true_types():
    from dataclasses import replace

    wrong_reading = replace(CHARIZARD_LIKE, typing=("Fire", "Dragon"))
    assert prediction_embed(wrong_reading, "x.png").title == "Fire/Flying type"
    unsure = replace(wrong_reading, species_confident=False)
    embed = prediction_embed(unsure, "x.png")
    assert embed.title == "Fire/Dragon type"
    assert "Species" not in [f.name for f in embed.fields]


def test_plain_text_fallback_says_the_same():
    text = prediction_text(CHARIZARD_LIKE, "dragon.png")
    assert text.splitlines()[0] == "`dragon.png`: Fire/Flying type"
    assert "Species: #6 Charizard (Fire/Flying), 90% sure" in text
    assert "Immune to: Ground" in text
