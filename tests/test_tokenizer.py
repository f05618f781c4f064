"""Keras Tokenizer + pad_sequences semantics, pinned on small strings."""

import numpy as np
import pytest

from ngjax.data.tokenizer import KERAS_FILTERS, Tokenizer, pad_sequences


def test_word_index_by_count_then_first_seen():
    tok = Tokenizer().fit_on_texts(["b a c", "c a b d", "a"])
    # counts: a 3, b 2, c 2, d 1; b was seen before c, so b ranks first among the ties
    assert tok.word_index == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert tok.words == ["a", "b", "c", "d"]


def test_ties_keep_first_seen_order_not_alphabetical():
    # zeta and alpha both occur twice; zeta is seen first, so it ranks first (alphabetical would not)
    tok = Tokenizer().fit_on_texts(["zeta mid alpha", "alpha zeta", "mid mid"])
    assert tok.word_index == {"mid": 1, "zeta": 2, "alpha": 3}
    tok = Tokenizer(num_words=3).fit_on_texts(["yak bee", "bee yak cat"])
    assert tok.texts_to_sequences(["bee yak cat"]) == [[2, 1]]  # yak=1, bee=2 kept; cat=3 >= num_words dropped


def test_lowercase_and_keras_filters():
    tok = Tokenizer()
    assert tok.text_to_word_sequence("Hello, World!\tNew\nline (x) don't a-b e.g.") == [
        "hello", "world", "new", "line", "x", "don't", "a", "b", "e", "g"]
    # the apostrophe is not a Keras filter character; every filter character splits
    assert "'" not in KERAS_FILTERS
    assert tok.text_to_word_sequence("".join(KERAS_FILTERS)) == []


def test_only_space_splits_other_whitespace_stays_in_words():
    # Keras splits on ' ' after mapping filters (\t and \n included) to ' '; \r is not a filter
    assert Tokenizer().text_to_word_sequence("a\rb c") == ["a\rb", "c"]


def test_empty_and_filtered_only_texts():
    tok = Tokenizer(num_words=10).fit_on_texts(["", "!!! ???", "word"])
    assert tok.word_index == {"word": 1}
    assert tok.texts_to_sequences(["", "...", "word word"]) == [[], [], [1, 1]]


def test_unicode_lowercased_and_kept():
    tok = Tokenizer().fit_on_texts(["Ünïcode Straße ÜNÏCODE"])
    assert tok.word_index == {"ünïcode": 1, "straße": 2}


def test_num_words_keeps_indices_below_it_and_drops_unknown():
    tok = Tokenizer(num_words=3).fit_on_texts(["a a a b b c"])
    assert tok.word_index == {"a": 1, "b": 2, "c": 3}
    # index < num_words is kept: a (1), b (2); c (3) and the unknown z are dropped
    assert tok.texts_to_sequences(["c b a z"]) == [[2, 1]]


def test_json_round_trip():
    tok = Tokenizer(num_words=5).fit_on_texts(["x y y z"])
    back = Tokenizer.from_json(tok.to_json())
    assert back.word_index == tok.word_index and back.num_words == 5
    assert back.texts_to_sequences(["z y x"]) == tok.texts_to_sequences(["z y x"])


@pytest.mark.parametrize("padding,truncating,expected", [
    ("pre", "pre", [[0, 0, 1, 2], [3, 4, 5, 6], [0, 0, 0, 0]]),
    ("post", "pre", [[1, 2, 0, 0], [3, 4, 5, 6], [0, 0, 0, 0]]),
    ("pre", "post", [[0, 0, 1, 2], [2, 3, 4, 5], [0, 0, 0, 0]]),
    ("post", "post", [[1, 2, 0, 0], [2, 3, 4, 5], [0, 0, 0, 0]]),
])
def test_pad_sequences_modes(padding, truncating, expected):
    out = pad_sequences([[1, 2], [2, 3, 4, 5, 6], []], 4, padding, truncating)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, expected)


def test_pad_sequences_rejects_bad_mode():
    with pytest.raises(ValueError):
        pad_sequences([[1]], 2, padding="middle")
