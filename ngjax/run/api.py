"""The Python API: a finished run as a text classifier.

    import ngjax
    clf = ngjax.load_run("runs/best")
    clf.predict(["The shuttle launch was delayed by a faulty valve."])   # ['sci.space']
    clf.predict_proba(texts)                                            # float32[N, 20]
    clf.top_k(texts, k=3)                                               # [[('sci.space', 0.97), ...], ...]

The run's own tokenizer, length and truncation read the texts (the corpus is not read again); the
weights are those its reports use (the best validation epoch with a validation split, else the
latest checkpoint; the weight average with ``--ema_decay``).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from ngjax.errors import NgjaxError


class Classifier:
    """A loaded run: ``predict``, ``predict_proba``, ``top_k`` over raw texts."""

    def __init__(self, run):
        self.run = run

    @property
    def target_names(self) -> List[str]:
        return list(self.run.target_names)

    @property
    def config(self):
        return self.run.cfg

    @property
    def epoch(self) -> int:
        return self.run.epoch

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities float32[N, C] over ``target_names``, one row per text."""
        from ngjax.run.predict import classify

        return classify(self.run, _texts(texts))[0]

    def predict(self, texts: Sequence[str]) -> List[str]:
        """The most probable group of each text."""
        proba = self.predict_proba(texts)
        return [self.run.target_names[j] for j in proba.argmax(-1)]

    def top_k(self, texts: Sequence[str], k: int = 3) -> List[List[Tuple[str, float]]]:
        """The ``k`` most probable groups of each text with their probabilities, most probable first."""
        if not isinstance(k, int) or k < 1:
            raise NgjaxError(f"k={k!r}: must be a positive integer")
        proba = self.predict_proba(texts)
        return [[(self.run.target_names[j], float(p[j])) for j in np.argsort(-p, kind="stable")[:k]]
                for p in proba]


def _texts(texts) -> List[str]:
    if isinstance(texts, str):
        raise NgjaxError("pass a list of texts (a single string would be read as one text per character)")
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise NgjaxError(f"texts[{bad[0]}] is {type(texts[bad[0]]).__name__}, not a string")
    return texts


def load_run(path: str) -> Classifier:
    """The finished run in folder ``path`` (made by ``python -m ngjax.main``) as a Classifier."""
    from ngjax.run.workdir import load_run as load

    return Classifier(load(path))
