"""A bag-of-words member for a teacher ensemble (``python -m ngjax.distill.teacher --linear_weight=W``):
TF-IDF (sublinear tf) + multinomial logistic regression on every word of the training documents,
read with the tokenizer's word splitting (no vocabulary cap, no truncation), its C chosen on the
teachers' validation part.

Why: the recurrent teachers of one configuration err alike (they read the same first 400 tokens
through the same kind of network), while a linear model of whole documents reads them another way;
an ensemble gains most from members that differ. It is a teacher only: the student that learns from
the blended targets is still one recurrent network at prediction.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from ngjax.errors import NgjaxError

DEFAULT_CS = (1.0, 3.0, 10.0, 30.0, 100.0)


@dataclasses.dataclass
class Member:
    model: object  # a fitted scikit-learn Pipeline
    c: float  # the C chosen on validation
    val_accuracy: float  # its validation accuracy at that C
    tried: tuple  # ((C, validation accuracy), ...)

    def probabilities(self, texts: Sequence[str], num_classes: int) -> np.ndarray:
        """float32[N, num_classes] for ``texts`` (a group absent from its training part gets 0)."""
        out = np.zeros((len(texts), num_classes), np.float32)
        out[:, self.model.classes_] = self.model.predict_proba(list(texts))
        return out


def c_values(cs: Sequence) -> list:
    """The C values to try, as floats; one line naming the flag when they are not all numbers > 0."""
    try:
        out = [float(c) for c in cs]
    except ValueError:
        out = []
    if not out or min(out) <= 0:
        raise NgjaxError(f"--linear_c={','.join(map(str, cs))}: give one or more numbers > 0, e.g. --linear_c=1,10,100")
    return out


def fit(train: tuple, val: tuple, split_words, cs: Sequence[float] = DEFAULT_CS, say=print) -> Member:
    """The member for (texts, labels) ``train``, C chosen among ``cs`` by accuracy on (texts, labels)
    ``val`` (ties: the first); ``split_words``: text -> words. With one C an empty ``val`` is allowed
    (nothing to choose; its validation accuracy is then NaN)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
    from sklearn.pipeline import Pipeline, make_pipeline

    cs = c_values(cs)
    (x_tr, y_tr), (x_va, y_va) = train, val
    if not len(x_va) and len(cs) > 1:
        raise NgjaxError("--linear_weight: the teachers have no validation part to choose the linear member's C on; "
                         "give one --linear_c, or use teachers trained with --val_fraction > 0")
    if len(np.unique(y_tr)) < 2:
        raise NgjaxError("--linear_weight: the training part holds fewer than 2 groups")
    features = make_pipeline(CountVectorizer(analyzer=split_words), TfidfTransformer(sublinear_tf=True))
    f_tr = features.fit_transform(list(x_tr), y_tr)
    f_va = features.transform(list(x_va)) if len(x_va) else None
    best = None
    tried = []
    for c, clf in zip(cs, _fit_each(cs, f_tr, y_tr)):
        acc = float((clf.predict(f_va) == np.asarray(y_va)).mean()) if f_va is not None else float("nan")
        tried.append((c, acc))
        say(f"linear member: C={c:g} validation accuracy {acc:.4f}", flush=True)
        if best is None or acc > best[1]:  # NaN (no validation, one C) never beats the first
            best = (c, acc, clf)
    c, acc, clf = best
    return Member(model=Pipeline(list(features.steps) + [("logisticregression", clf)]), c=c, val_accuracy=acc,
                  tried=tuple(tried))


def _fit_each(cs: Sequence[float], features, labels) -> list:
    """One logistic regression per C, fitted side by side on the CPU's cores (each fit is
    deterministic and independent of the others: the same models as one after the other)."""
    import os

    from joblib import Parallel, delayed
    from sklearn.linear_model import LogisticRegression

    def one(c):
        return LogisticRegression(C=c, max_iter=2000).fit(features, labels)

    jobs = min(len(cs), os.cpu_count() or 1)
    return [one(c) for c in cs] if jobs == 1 else Parallel(n_jobs=jobs)(delayed(one)(c) for c in cs)


def blend(ensemble: np.ndarray, member: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) * the recurrent runs' average + weight * the linear member's probabilities."""
    if ensemble.shape != member.shape:
        raise NgjaxError(f"the linear member's probabilities {member.shape} do not match the runs' {ensemble.shape}")
    return ((1.0 - weight) * np.asarray(ensemble, np.float64) + weight * member).astype(np.float32)


def check(weight: float, cross_fit: bool, cs: Sequence = DEFAULT_CS) -> None:
    """Refuse a linear member that cannot be built, before any teacher is read."""
    c_values(cs)
    if not 0.0 <= weight < 1.0:
        raise NgjaxError(f"--linear_weight={weight}: must be in [0, 1) (0 = no linear member)")
    if weight and cross_fit:
        raise NgjaxError("--linear_weight with --cross_fit: the linear member is fit on every training document, so "
                         "its targets would not be out-of-fold; drop one of the two")


def blend_into(workdirs: Sequence[str], weight: float, cs: Sequence[float], whole_train: bool, probs: np.ndarray,
               labels: np.ndarray, test: Optional[np.ndarray] = None, mixes: Optional[np.ndarray] = None,
               mix_probs: Optional[np.ndarray] = None, say=print):
    """A teacher file's targets (of the runs ``workdirs``) with the member blended in at ``weight``:
    fit on the runs' training part, its C chosen among ``cs`` on their validation part; it reads the
    file's documents (the training part, or every training document with ``whole_train``), the mixed
    documents and the test texts as whole texts. Returns (probs, test, mix_probs, what it was)."""
    from ngjax.distill import augment
    from ngjax.data.corpus import load_corpus
    from ngjax.data.dataset import split_texts
    from ngjax.data.tokenizer import Tokenizer
    from ngjax.run.workdir import read_config

    check(weight, False, cs)
    cfg = read_config(workdirs[0]).replace(cv_folds=0, cv_fold=0)
    parts = split_texts(cfg)
    split = Tokenizer().text_to_word_sequence
    member = fit(parts["train"], parts.get("val", ((), ())), split, cs, say)
    texts, file_labels = split_texts(cfg.replace(val_fraction=0.0))["train"] if whole_train else parts["train"]
    if not np.array_equal(np.asarray(file_labels), labels):
        raise NgjaxError("--linear_weight: the corpus' training labels differ from the runs'; was the data changed "
                         "since they trained?")
    classes = probs.shape[1]
    probs = blend(probs, member.probabilities(texts, classes), weight)
    if test is not None:
        test = blend(test, member.probabilities(load_corpus(cfg.data_dir, cfg.remove).texts["test"], classes), weight)
    if mixes is not None:  # the mixes index words as every run's tokenizer splits them (num_words aside, the defaults)
        words = augment.word_lists(texts, Tokenizer())
        mix_probs = blend(mix_probs, member.probabilities(augment.texts(words, mixes), classes), weight)
    say(f"linear member: C={member.c:g} (validation accuracy {member.val_accuracy:.4f}), weight {weight:g}", flush=True)
    return probs, test, mix_probs, {"weight": weight, "C": member.c, "val_accuracy": member.val_accuracy}
