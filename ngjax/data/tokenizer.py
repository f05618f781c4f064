"""Keras' text preprocessing, reproduced: ``Tokenizer`` (without ``oov_token``) and ``pad_sequences``."""

from __future__ import annotations

import collections
import json
import operator
from typing import Dict, List, Optional, Sequence

import numpy as np

from ngjax.progress import progress

# Keras' Tokenizer defaults (keras.preprocessing.text.Tokenizer).
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'

class Tokenizer:
    """Keras ``Tokenizer(num_words, filters, lower=True, split=' ')`` without ``oov_token``.

    ``word_index`` ranks words by descending training count; ties keep first-seen order (a
    stable sort, as Keras does). ``texts_to_sequences`` keeps indices ``< num_words`` and drops
    the rest, and drops unknown words.
    """

    def __init__(self, num_words: Optional[int] = None, filters: str = KERAS_FILTERS,
                 lower: bool = True, split: str = " "):
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self._table = str.maketrans({c: split for c in filters})
        self.words: List[str] = []  # words[i - 1] has index i
        self.word_index: Dict[str, int] = {}

    def text_to_word_sequence(self, text: str) -> List[str]:
        if self.lower:
            text = text.lower()
        return [w for w in text.translate(self._table).split(self.split) if w]

    def fit_on_texts(self, texts: Sequence[str], desc: str = "fitting tokenizer") -> "Tokenizer":
        counts: collections.Counter = collections.Counter()
        for text in progress(texts, len(texts), desc):
            counts.update(self.text_to_word_sequence(text))
        # Counter keeps first-seen order; sorted() is stable, so ties stay in that order.
        ranked = sorted(counts.items(), key=operator.itemgetter(1), reverse=True)
        self.words = [w for w, _ in ranked]
        self.word_index = {w: i for i, w in enumerate(self.words, 1)}
        return self

    def texts_to_sequences(self, texts: Sequence[str], desc: str = "tokenising") -> List[List[int]]:
        limit = self.num_words or (len(self.words) + 1)
        index = self.word_index
        out = []
        for text in progress(texts, len(texts), desc):
            ids = (index.get(w) for w in self.text_to_word_sequence(text))
            out.append([i for i in ids if i is not None and i < limit])
        return out

    @property
    def vocab_size(self) -> int:
        """Number of distinct training words (the Keras ``len(word_index)``)."""
        return len(self.words)

    def to_json(self) -> str:
        return json.dumps({"num_words": self.num_words, "filters": self.filters,
                           "lower": self.lower, "split": self.split, "words": self.words})

    @classmethod
    def from_json(cls, text: str) -> "Tokenizer":
        d = json.loads(text)
        tok = cls(d["num_words"], d["filters"], d["lower"], d["split"])
        tok.words = list(d["words"])
        tok.word_index = {w: i for i, w in enumerate(tok.words, 1)}
        return tok


def pad_sequences(sequences: Sequence[Sequence[int]], maxlen: int, padding: str = "pre",
                  truncating: str = "pre", value: int = 0) -> np.ndarray:
    """Keras ``pad_sequences`` for int ids: int32 [len(sequences), maxlen]."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(f"padding/truncating must be 'pre' or 'post', got {padding!r}/{truncating!r}")
    out = np.full((len(sequences), maxlen), value, dtype=np.int32)
    for row, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        if padding == "pre":
            out[row, maxlen - len(kept):] = kept
        else:
            out[row, :len(kept)] = kept
    return out
