"""A round's whole life on a controllable clock."""

from bot.quiz.game import Outcome, Round, letters_hint
from model import pokedex

PIKACHU = pokedex.load()[25]


def test_a_round_from_start_to_win():
    r = Round(PIKACHU, started=100.0, duration=60, network_typing=("Electric",))
    assert r.guess(1, "Raichu", 105) is Outcome.WRONG
    assert r.hint(106) == "neuralmon thinks it looks Electric"
    assert r.hint(110) is None  # cooling down
    assert r.hint(117) == "It first appeared in generation 1"
    assert r.points == 10 - 2 * 2
    assert r.guess(2, "pikachu", 120.5) is Outcome.CORRECT
    assert (r.winner, r.won_after, r.open) == (2, 20.5, False)
    assert r.guess(3, "Pikachu", 121) is Outcome.LATE  # the second correct guess is too late
    assert r.hint(200) is None


def test_two_correct_guesses_together_give_one_winner():
    r = Round(PIKACHU, started=0)
    outcomes = [r.guess(user, "Pikachu", 5.0) for user in (7, 8)]
    assert outcomes == [Outcome.CORRECT, Outcome.LATE]
    assert r.winner == 7


def test_time_runs_out():
    r = Round(PIKACHU, started=0, duration=30)
    assert not r.expire(29.9)
    assert r.expire(30) and not r.open and r.winner is None
    assert not r.expire(31)  # only the first call ends it
    late = Round(PIKACHU, started=0, duration=30)
    assert late.guess(1, "Pikachu", 31) is Outcome.LATE and late.expired


def test_hints_run_out_and_hard_rounds_give_types_as_a_hint():
    r = Round(PIKACHU, started=0, hard=True, hint_cooldown=0)
    hints = [r.hint(t) for t in range(6)]
    assert hints == [
        "Its type is Electric",
        "It first appeared in generation 1",
        "Its name starts with P",
        "Its name: P _ k _ c _ u",
        None,
        None,
    ]
    assert r.points == 15 - 4 * 2


def test_points_never_drop_below_one():
    r = Round(PIKACHU, started=0, hint_cooldown=0, network_typing=("Electric",))
    for t in range(10):
        r.hint(t)
    assert r.points >= 1


def test_letters_hint_keeps_punctuation():
    assert letters_hint("Mr. Mime") == "M _ .   M _ m _"
