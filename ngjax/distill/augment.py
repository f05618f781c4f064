"""Mixed documents for distillation: the beginning of one training document spliced onto the end
of another, for the teachers to label (``python -m ngjax.distill.teacher --mix_copies=K``) and a student
to distil on (``--mixed``), with the soft term of its loss only.

A teacher file records each mixed document as five integers ``(i, j, a, b, e)`` over the word
sequences of its training documents (the tokenizer's word splitting, before any vocabulary):
the words ``[0, a)`` of document ``i``, then the words ``[b, e)`` of document ``j``. The cut falls
at the same fraction ``lam`` of both documents' first ``limit`` words, drawn uniformly, so a mixed
document is as long as the documents it mixes (``lam`` of one, ``1 - lam`` of the other) and keeps
``i``'s headers at the top. Each model reads the mixed text with its own tokenizer and length,
as it reads any document, so the student need not share the teachers' vocabulary.

Why: teachers that have fit the training documents are nearly certain of each one's group, so
their soft targets there carry little beyond the labels; on a mixed document they are not, and
what they say there is how they weigh evidence (mixup's argument, Zhang et al. 2018; labelling
such inputs with the teachers is the function matching of Beyer et al. 2022). Only training
documents are mixed: the result stays inductive.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

FIELDS = 5  # i, j, a, b, e


def word_lists(texts: Sequence[str], tokenizer) -> List[List[str]]:
    """Each text's words as ``tokenizer`` splits them (lower-cased, punctuation dropped)."""
    return [tokenizer.text_to_word_sequence(t) for t in texts]


def draw(lengths: np.ndarray, copies: int, limit: int, seed: int) -> np.ndarray:
    """int64[copies * N, 5] mixes of N documents of ``lengths`` words: in each copy every document
    ``i`` begins one mixed document, ended by a partner ``j != i`` of a random pairing."""
    lengths = np.minimum(np.asarray(lengths, np.int64), limit)
    n = len(lengths)
    if n < 2:
        raise ValueError(f"mixing needs at least 2 documents, got {n}")
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(copies):
        i = np.arange(n)
        j = rng.permutation(n)
        j = np.where(j == i, (j + 1) % n, j)  # never a document with itself
        lam = rng.random(n)
        a = np.rint(lam * lengths[i]).astype(np.int64)
        b = np.rint(lam * lengths[j]).astype(np.int64)
        rows.append(np.stack([i, j, a, b, lengths[j]], axis=1))
    return np.concatenate(rows) if rows else np.zeros((0, FIELDS), np.int64)


def texts(words: Sequence[Sequence[str]], mixes: np.ndarray) -> List[str]:
    """The mixed documents' texts (words joined by spaces, which every tokenizer splits back)."""
    return [" ".join(list(words[i][:a]) + list(words[j][b:e])) for i, j, a, b, e in np.asarray(mixes)]


def read(words: Sequence[Sequence[str]], mixes: np.ndarray, tokenizer, cfg) -> np.ndarray:
    """Token ids int32[M, cfg.seq_len] of the mixed documents, as a run of ``cfg`` with ``tokenizer``
    reads any document (its vocabulary, padding and truncation)."""
    from ngjax.data.tokenizer import pad_sequences

    seqs = tokenizer.texts_to_sequences(texts(words, mixes), desc="tokenising mixed documents")
    return pad_sequences(seqs, cfg.seq_len, cfg.padding, cfg.truncating)


def check(mixes: np.ndarray, num_docs: int) -> str:
    """'' when ``mixes`` is a valid [M, 5] table over ``num_docs`` documents, else what is wrong."""
    mixes = np.asarray(mixes)
    if mixes.ndim != 2 or mixes.shape[1] != FIELDS:
        return f"a mix table of shape {mixes.shape}, not [M, {FIELDS}]"
    if len(mixes) and (mixes[:, :2].min() < 0 or mixes[:, :2].max() >= num_docs or mixes[:, 2:].min() < 0):
        return f"mixes of documents outside the {num_docs} it covers"
    return ""
