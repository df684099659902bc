import shutil

import pytest

from model import pokedex, pokedex_update
from model.pokedex import name_key
from model.pokedex_update import build_rows


def test_table_holds_every_species_once():
    dex = pokedex.load()
    assert len(dex) == 1025
    assert [s.num for s in dex] == list(range(1, 1026))


def test_exactly_the_eighteen_types_occur():
    types = {t for s in pokedex.load() for t in s.types}
    assert types == set(pokedex.TYPES)
    assert len(pokedex.TYPES) == 18


def test_known_facts():
    dex = pokedex.load()
    pikachu = dex[25]
    assert (pikachu.name, pikachu.types, pikachu.family) == ("Pikachu", ("Electric",), 172)
    assert dex[172].name == "Pichu"
    assert dex[35].types == ("Fairy",)  # Clefairy: Normal before Gen VI, Fairy now
    assert dex[6].types == ("Fire", "Flying")
    assert dex[6].generation == 1 and dex[1025].generation == 9


def test_eevee_family_holds_all_eight_evolutions():
    family = {s.name for s in pokedex.load().family(133)}
    assert family == {
        "Eevee", "Vaporeon", "Jolteon", "Flareon", "Espeon",
        "Umbreon", "Leafeon", "Glaceon", "Sylveon",
    }  # fmt: skip


def test_lookup_by_any_name():
    dex = pokedex.load()
    assert dex.by_name("pikachu").num == 25
    assert dex.by_name("ピカチュウ").num == 25
    assert dex.by_name("Pikachu").name_zh == "皮卡丘"
    assert dex.by_name("Fushigidane").num == 1
    assert dex.by_name("Nidoran♀").num == 29
    assert dex.by_name("not a pokemon") is None
    assert dex.by_name("mr mime").num == dex.by_name("Mr. Mime").num == 122  # as people type it


def test_family_roots_are_their_own_root():
    dex = pokedex.load()
    for s in dex:
        assert dex[s.family].family == s.family, s.name


def test_family_holdout_split_sizes_match_the_guide():
    gen1_to_5 = [s for s in pokedex.load() if s.num <= 649]
    assert sum(s.family % 5 == 0 for s in gen1_to_5) == 133
    assert sum(s.family % 5 == 1 for s in gen1_to_5) == 129


def test_update_rows_merge_names_and_spell_like_the_games():
    species = [
        {"num": 29, "name": "Nidoran-F", "types": ["Poison"], "gen": 1, "family": 29},
        {"num": 906, "name": "Sprigatito", "types": ["Grass"], "gen": 9, "family": 906},
        {"num": 6, "name": "Charizard", "types": ["Fire", "Flying"], "gen": 1, "family": 4},
    ]
    names = {
        "029": {"name": {"jpn": "ニドラン♀", "jpn_ro": "Nidoran♀", "chs": "尼多兰"}},
        "006": {"name": {"jpn": "リザードン", "jpn_ro": "Lizardon", "chs": "喷火龙"}},
    }
    rows = build_rows(species, names)
    assert rows[0]["name"] == "Nidoran♀" and rows[0]["name_zh"] == "尼多兰"
    assert rows[0]["type2"] == ""
    assert rows[1]["name_ja"] == "" and rows[1]["name_ja_romaji"] == ""  # newer than the names
    assert (rows[2]["type1"], rows[2]["type2"], rows[2]["family"]) == ("Fire", "Flying", 4)
    assert list(rows[0]) == list(pokedex.FIELDS)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_regenerated_table_equals_the_committed_one(tmp_path):
    out = tmp_path / "pokedex.csv"
    pokedex_update.main(["--out", str(out)])
    assert out.read_text("utf-8") == pokedex.CSV_PATH.read_text("utf-8")


def test_name_key_folds_what_players_type_differently():
    assert name_key("Farfetch’d") == name_key("farfetch'd") == "farfetchd"
    assert name_key("Flabébé") == "flabebe"
    assert name_key("ぴかちゅう") == name_key("ピカチュウ")
    assert name_key("ガ") == "ガ"  # the voicing mark is part of the kana, not an accent
