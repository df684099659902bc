import random

import numpy as np
from PIL import Image

from bot.quiz.silhouette import question_picture, reveal_picture, silhouette
from model.images import ALPHA_THRESHOLD
from tests.synthetic import sprite


def test_silhouette_is_black_exactly_where_the_sprite_was_opaque():
    art = sprite((60, 50), (5, 5, 40, 30), (200, 40, 40))
    art.putpixel((50, 45), (10, 200, 10, ALPHA_THRESHOLD))  # barely visible: counts as opaque
    art.putpixel((55, 45), (10, 200, 10, ALPHA_THRESHOLD - 1))  # a faint halo: does not
    out = np.asarray(silhouette(art))
    opaque = np.asarray(art)[..., 3] >= ALPHA_THRESHOLD
    assert (out[opaque] == [0, 0, 0, 255]).all()
    assert (out[~opaque][..., 3] == 0).all()


def test_question_and_reveal_pictures():
    art = sprite((60, 50), (5, 5, 40, 30), (200, 40, 40))
    question = np.asarray(question_picture(art))
    assert question.shape == (384, 384, 3)
    assert (question[192, 192] == 0).all()  # the middle of the subject is in shadow
    reveal = np.asarray(reveal_picture(art))
    assert tuple(reveal[192, 192]) == (200, 40, 40)  # full colour
    hard = np.asarray(question_picture(art, hard=True, rng=random.Random(3)))
    assert hard.shape == question.shape and not np.array_equal(hard, question)


def test_opaque_art_without_alpha_still_works():
    pic = question_picture(Image.new("RGB", (30, 20), "red"))
    assert pic.size == (384, 384)
