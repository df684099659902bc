"""A table of real, tricky names: what must be accepted and what must not."""

import pytest

from bot.quiz.matching import answer_matches

ACCEPTED = [
    ("Pikachu", 25), ("pikachu", 25), ("  PIKACHU!! ", 25), ("ピカチュウ", 25),
    ("ぴかちゅう", 25), ("皮卡丘", 25), ("Pikachuu", 25), ("Pikahcu", 25),
    ("Mr. Mime", 122), ("mr mime", 122), ("MrMime", 122), ("mister mime", 122),
    ("Mime Jr.", 439), ("mime jr", 439), ("Farfetch’d", 83), ("Farfetch'd", 83),
    ("farfetchd", 83), ("Sirfetch'd", 865), ("Nidoran♀", 29), ("nidoran f", 29),
    ("Nidoran female", 29), ("nidoran♂", 32), ("Nidoran M", 32), ("Type: Null", 772),
    ("type null", 772), ("typenull", 772), ("Porygon-Z", 474), ("porygon z", 474),
    ("Flabébé", 669), ("flabebe", 669), ("FLABÉBÉ", 669), ("Ho-Oh", 250), ("hooh", 250),
    ("Jangmo-o", 782), ("Kommo-o", 784), ("Fushigidane", 1), ("フシギダネ", 1),
    ("Charizard", 6), ("Charzard", 6), ("Chraizard", 6), ("ﾋﾟｶﾁｭｳ", 25),
    ("Pika\u200bchu", 25), ("Nidoran\u2640", 29), ("ポリゴンＺ", 474), ("Sprigatito", 906),
]  # fmt: skip

REJECTED = [
    ("Raichu", 25), ("Pichu", 25), ("", 25), ("!!!", 25), ("Pikachu", 26),
    ("Porygon2", 474),  # another species, one character away
    ("Porygon", 474), ("Nidoran", 29), ("nidoran m", 29), ("Nidoran♂", 29),
    ("Mew", 150), ("Mewtwo", 151), ("Mw", 151), ("Mew2", 150),
    ("Mime", 122), ("Mr. Rime", 122), ("Mr Rime", 122),
    ("Charizrd X", 6), ("Chrzrd", 6), ("Charmeleon", 6),
    ("Flygon", 329), ("Hitmonchan", 106), ("Hitmonlee", 107),
    ("ピカチユウ", 25),  # small and big kana differ: not a typo we forgive
    ("Kakuna", 13), ("Vulpix", 38),
]  # fmt: skip


@pytest.mark.parametrize(("guess", "number"), ACCEPTED)
def test_accepted(guess, number):
    assert answer_matches(guess, number)


@pytest.mark.parametrize(("guess", "number"), REJECTED)
def test_rejected(guess, number):
    assert not answer_matches(guess, number)


def test_every_species_is_matched_by_each_of_its_names():
    from model import pokedex

    for species in pokedex.load():
        for name in species.names:
            assert answer_matches(name, species.num), (name, species.num)
