"""Distillation through the core's seams (``ngjax.train.inputs.TECHNIQUES``): with ``--teacher=FILE``
a run's batches carry ``soft_targets`` beside the labels, its loss mixes both (``soft_loss``), and
with ``--transductive`` / ``--mixed`` the test texts / the teacher file's mixed documents join the
training rows, unlabeled. Nothing in the core names a teacher.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from absl import logging

from ngjax.distill import targets as distill
from ngjax.errors import NgjaxError


def applies(cfg) -> bool:
    return bool(cfg.teacher)


def soft_loss(weight: float, temperature: float):
    """``loss(logits, batch)``: ``w * T^2 * CE(soft targets, softmax(logits / T)) + (1 - w) *
    CE(labels, softmax(logits))``, where a row labelled -1 (an unlabeled test text or mixed document)
    has only the soft term and stays out of the metric sums (which stay the labels')."""
    import jax.numpy as jnp
    import optax

    from ngjax.train import metrics

    def loss(logits, batch):
        labels, soft = batch["labels"], batch["soft_targets"]
        labeled = (labels >= 0).astype(jnp.float32)
        sums, losses = metrics.batch_sums(logits, jnp.maximum(labels, 0), labeled)
        soft_losses = optax.softmax_cross_entropy(logits / temperature, soft) * temperature ** 2
        return jnp.mean(weight * soft_losses + (1 - weight) * losses * labeled), sums

    return loss


def prepare(cfg, ds, cache_dir: Optional[str] = None):
    """The student's rows: soft targets for its training documents, and (with --transductive /
    --mixed) the test texts / the mixed documents with theirs; its loss."""
    from ngjax.train.inputs import Rows

    targets = distill.load_targets(cfg.teacher, cfg, ds.y_train, len(ds.x_test))
    x_extra, soft_extra, summary = [], [], {}
    if targets.test is not None:
        logging.info("Transductive: also distilling on the %d test texts, unlabeled", len(ds.x_test))
        x_extra.append(ds.x_test)
        soft_extra.append(targets.test)
        summary["unlabeled_test_texts_trained_on"] = len(targets.test)
    if targets.mixes is not None:
        x_mixed = mixed_tokens(cfg, ds, targets.mixes)
        logging.info("Also distilling on %d mixed training documents", len(x_mixed))
        x_extra.append(x_mixed)
        soft_extra.append(targets.mixed)
        summary["mixed_documents_trained_on"] = len(targets.mixed)
    if targets.train.shape[1] != ds.num_classes:
        raise NgjaxError(f"--teacher={cfg.teacher}: {targets.train.shape[1]} classes, the data has {ds.num_classes}")
    logging.info("Distilling from %s: weight %g, temperature %g", cfg.teacher, cfg.distill_weight,
                 cfg.distill_temperature)
    loss = soft_loss(float(cfg.distill_weight), float(cfg.distill_temperature))
    if not x_extra:
        return Rows({"soft_targets": targets.train}, loss, summary=summary)
    return Rows({"soft_targets": targets.train}, loss, np.concatenate(x_extra),
                {"soft_targets": np.concatenate(soft_extra)}, summary)


def mixed_tokens(cfg, ds, mixes: np.ndarray) -> np.ndarray:
    """Token ids int32[M, seq_len] of the mixed documents ``mixes`` of ``cfg``'s training part, read
    with the run's tokenizer, length and truncation like any document."""
    from ngjax.data.dataset import training_texts
    from ngjax.distill import augment

    texts = training_texts(cfg)
    if len(texts) != len(ds.x_train):
        raise NgjaxError(f"the corpus' training part has {len(texts)} documents, the run's token cache "
                         f"{len(ds.x_train)}; was the data changed since it was cached?")
    return augment.read(augment.word_lists(texts, ds.tokenizer), mixes, ds.tokenizer, cfg)
