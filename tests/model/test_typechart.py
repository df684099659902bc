import pytest

from model.pokedex import TYPES
from model.typechart import effectiveness, matchups


def test_chart_covers_every_pair_with_known_values():
    values = {effectiveness(a, d) for a in TYPES for d in TYPES}
    assert values == {0.0, 0.5, 1.0, 2.0}
    assert sum(effectiveness(a, d) == 0 for a in TYPES for d in TYPES) == 8  # the 8 immunities


def test_single_facts():
    assert effectiveness("Water", "Fire") == 2
    assert effectiveness("Dragon", "Fairy") == 0
    assert effectiveness("Fairy", "Dragon") == 2
    assert effectiveness("Ghost", "Normal") == 0
    assert effectiveness("Steel", "Fairy") == 2


def test_charizard_matchups():
    m = matchups(("Fire", "Flying"))
    assert m.weak == {"Rock": 4.0, "Water": 2.0, "Electric": 2.0}
    assert m.immune == ("Ground",)
    assert m.resists["Grass"] == 0.25 and m.resists["Bug"] == 0.25
    assert set(m.resists) == {"Fire", "Grass", "Fighting", "Bug", "Steel", "Fairy"}


def test_immunities_of_a_dual_type_win_over_weakness():
    m = matchups(("Ghost", "Dark"))  # Sableye before Fairy: no weakness but Fairy
    assert m.weak == {"Fairy": 2.0}
    assert set(m.immune) == {"Normal", "Fighting", "Psychic"}


def test_bad_typing_is_refused():
    with pytest.raises(ValueError):
        matchups(("Fire", "Sound"))
    with pytest.raises(ValueError):
        matchups(())
