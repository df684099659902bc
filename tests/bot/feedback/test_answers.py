import pytest

from bot.feedback.answers import Answer, AnswerError, parse_answer, parse_types


@pytest.mark.parametrize(
    ("said", "species"),
    [("Pikachu", 25), ("pikachuu", 25), ("ピカチュウ", 25), ("皮卡丘", 25), ("#25", 25), ("25", 25),
     ("Mister Mime", 122), ("Flabébé", 669), ("flabebe", 669)],
)  # fmt: skip
def test_a_species_is_named_as_the_quiz_takes_it_or_by_number(said, species):
    assert parse_answer(said) == Answer("species", species)


def test_not_a_pokemon_and_fan_made_with_or_without_types():
    assert parse_answer("Not a Pokémon!") == Answer("not-pokemon")
    assert parse_answer("fan-made") == Answer("fan-made")
    assert parse_answer("Fakemon", "fire and Flying") == Answer("fan-made", types="Fire/Flying")


def test_types_are_read_in_any_usual_spelling_and_checked():
    assert parse_types("water / ground") == "Water/Ground"
    assert parse_types("Grass, grass") == "Grass"
    assert parse_types("") == ""
    with pytest.raises(AnswerError, match="fier: not a type"):
        parse_types("fier")
    with pytest.raises(AnswerError, match="one or two"):
        parse_types("fire water grass")


def test_unknown_and_shared_names_say_what_to_do():
    with pytest.raises(AnswerError, match="don't know"):
        parse_answer("Bulbasaurian dragon")
    with pytest.raises(AnswerError, match="don't know"):
        parse_answer("0")
    with pytest.raises(AnswerError, match=r"Which one: .*\(#29\) or .*\(#32\)"):
        parse_answer("Nidoran")
