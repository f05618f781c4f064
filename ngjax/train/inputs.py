"""What a run needs besides its state, built from a config: the completed config (``embed_dim``
read from the GloVe file), the token arrays, the GloVe table, the model spec and the optimizer."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np
import optax
from absl import logging

from ngjax.model import network as model_lib
from ngjax.distill import targets as distill
from ngjax.train import optim
from ngjax.config import RANDOM_EMBED_DIM, Config, validate
from ngjax.errors import NgjaxError


@dataclasses.dataclass
class RunInputs:
    """Everything a run needs besides the state: data, spec, optimizer, table."""

    cfg: Config
    spec: model_lib.ModelSpec
    tx: Any
    data: Any  # ngjax.data.dataset.Dataset
    table: Optional[np.ndarray]
    coverage: Optional[dict]
    keras_rows: int  # rows of Keras' embedding: training vocabulary + 1
    targets: Optional[distill.Targets] = None  # with --teacher
    x_mixed: Optional[np.ndarray] = None  # with --mixed: the mixed documents' token ids int32[M, T]

    def train_arrays(self):
        """(x, y) the epochs train on: the training part's token ids and labels, with --teacher
        y = (labels, soft targets); with --transductive the test texts appended and with --mixed the
        mixed documents, both unlabeled (label -1, so only their soft targets count in the loss, and
        they stay out of the training metrics)."""
        ds, t = self.data, self.targets
        if t is None:
            return ds.x_train, ds.y_train
        xs, ys, soft = [ds.x_train], [ds.y_train], [t.train]
        for x, q in ((ds.x_test, t.test), (self.x_mixed, t.mixed)):
            if q is not None:
                xs.append(x)
                ys.append(np.full(len(x), -1, ds.y_train.dtype))
                soft.append(q)
        return np.concatenate(xs), (np.concatenate(ys), np.concatenate(soft))

    @property
    def unlabeled(self) -> dict:
        """How many unlabeled documents the run distils on, by kind (for the summary)."""
        return _unlabeled_counts(self.targets)


def _unlabeled_counts(t: Optional[distill.Targets]) -> dict:
    if t is None:
        return {}
    return {**({"unlabeled_test_texts_trained_on": len(t.test)} if t.test is not None else {}),
            **({"mixed_documents_trained_on": len(t.mixed)} if t.mixed is not None else {})}


def resolve(cfg: Config, saved: Optional[dict] = None) -> Config:
    """Fill in what follows from the inputs (embed_dim from the GloVe file), check consistency.
    ``saved``: the workdir's config.json, if any (a schedule keeps the length it started with)."""
    from ngjax.data import embeddings

    validate(cfg)
    if cfg.embeddings == "glove":
        dim = embeddings.glove_dim(cfg.glove_path)
        if cfg.embed_dim is not None and cfg.embed_dim != dim and cfg.glove_path is None:
            raise NgjaxError(
                f"--embed_dim={cfg.embed_dim} needs a {cfg.embed_dim}-d GloVe file (the bundled vectors "
                f"are {dim}-d): download glove.6B.zip from https://nlp.stanford.edu/projects/glove/ "
                f"and pass --glove_path=PATH/glove.6B.zip:glove.6B.{cfg.embed_dim}d.txt")
        if cfg.embed_dim is not None and cfg.embed_dim != dim:
            src = cfg.glove_path or "the bundled GloVe 6B 50d vectors"
            raise NgjaxError(f"--embed_dim={cfg.embed_dim} disagrees with {src}, which has {dim} "
                             f"dimensions; pass --embed_dim={dim} or a {cfg.embed_dim}-d --glove_path")
        cfg = cfg.replace(embed_dim=dim)
    elif cfg.embed_dim is None:
        cfg = cfg.replace(embed_dim=RANDOM_EMBED_DIM)
    if cfg.lr_schedule != "constant" and not cfg.schedule_epochs:
        first = (saved or {}).get("schedule_epochs") or cfg.epochs
        cfg = cfg.replace(schedule_epochs=first)  # fixed at the first launch: resuming keeps it
    return cfg


def default_unroll(platform: str, seq_len: int) -> int:
    """Time-scan unroll: on CPU unrolling costs more than it saves; on accelerators it pays."""
    if platform == "cpu":
        return 1
    return seq_len if seq_len <= 32 else 10


def spec_for(cfg: Config, rows: int, num_classes: int, unroll: int = 1) -> model_lib.ModelSpec:
    """The static model description of a (resolved) config."""
    return model_lib.ModelSpec(cell=cfg.cell, rows=rows, embed_dim=cfg.embed_dim,
                               hidden_size=cfg.hidden_size, num_classes=num_classes,
                               trainable_embedding=cfg.embeddings == "random" or cfg.finetune_embedding,
                               mask_padding=cfg.mask_padding, unroll=unroll,
                               manual_backward=cfg.manual_backward, bidirectional=cfg.bidirectional,
                               num_layers=cfg.num_layers, pool=cfg.pool, pool_embeddings=cfg.pool_embeddings,
                               embed_dropout=cfg.embed_dropout,
                               dropout=cfg.dropout)


def learning_rate(cfg: Config, steps_per_epoch: int):
    """The config's learning rate: a number, or an optax schedule of the step count."""
    if cfg.lr_schedule == "constant":
        return cfg.learning_rate
    total = max(1, int((cfg.schedule_epochs or cfg.epochs) * steps_per_epoch))
    warmup = min(int(round(cfg.warmup_epochs * steps_per_epoch)), total - 1)
    return optax.warmup_cosine_decay_schedule(0.0, cfg.learning_rate, warmup, total, end_value=0.0)


def optimizer_for(cfg: Config, steps_per_epoch: int = 1):
    """The run's optimizer: Adam with the config's rule, schedule, clipping and weight decay;
    lazy on a trainable table if asked."""
    return optim.build(learning_rate(cfg, steps_per_epoch), cfg.embedding_optimizer, cfg.adam,
                       clip_norm=cfg.clip_norm, weight_decay=cfg.weight_decay, ema_decay=cfg.ema_decay)


def platform() -> str:
    import jax

    return jax.devices()[0].platform


def load_inputs(cfg: Config, cache_dir: Optional[str] = None) -> RunInputs:
    """Token arrays, GloVe table (cached), spec and optimizer of a resolved config."""
    from ngjax.data import dataset as data_lib
    from ngjax.data import embeddings

    cache_dir = cache_dir or data_lib.default_cache_dir()
    ds = data_lib.load_dataset(cfg, cache_dir)
    keras_rows = ds.tokenizer.vocab_size + 1
    rows = min(keras_rows, cfg.num_words)
    spec = spec_for(cfg, rows, ds.num_classes, cfg.unroll or default_unroll(platform(), cfg.seq_len))
    table, coverage = None, None
    if cfg.embeddings == "glove":
        table, coverage = embeddings.embedding_table(cfg.glove_path, ds.tokenizer.words, rows, cache_dir)
        logging.info("GloVe covers %d of %d table words (%.1f%%)", coverage["found"],
                     coverage["words"], 100 * coverage["fraction"])
    targets, x_mixed = None, None
    if cfg.teacher:
        targets = distill.load_targets(cfg.teacher, cfg, ds.y_train, len(ds.x_test))
        if targets.test is not None:
            logging.info("Transductive: also distilling on the %d test texts, unlabeled", len(ds.x_test))
        if targets.mixes is not None:
            x_mixed = mixed_tokens(cfg, ds, targets.mixes)
            logging.info("Also distilling on %d mixed training documents", len(x_mixed))
        if targets.train.shape[1] != ds.num_classes:
            raise NgjaxError(f"--teacher={cfg.teacher}: {targets.train.shape[1]} classes, the data has {ds.num_classes}")
        logging.info("Distilling from %s: weight %g, temperature %g", cfg.teacher, cfg.distill_weight,
                     cfg.distill_temperature)
    examples = len(ds.x_train) + sum(n for n in _unlabeled_counts(targets).values())
    tx = optimizer_for(cfg, -(-examples // cfg.batch_size))
    return RunInputs(cfg, spec, tx, ds, table, coverage, keras_rows, targets, x_mixed)


def mixed_tokens(cfg: Config, ds, mixes: np.ndarray) -> np.ndarray:
    """Token ids int32[M, seq_len] of the mixed documents ``mixes`` of ``cfg``'s training part, read
    with the run's tokenizer, length and truncation like any document."""
    from ngjax.distill import augment
    from ngjax.data.dataset import training_texts

    texts = training_texts(cfg)
    if len(texts) != len(ds.x_train):
        raise NgjaxError(f"the corpus' training part has {len(texts)} documents, the run's token cache "
                         f"{len(ds.x_train)}; was the data changed since it was cached?")
    return augment.read(augment.word_lists(texts, ds.tokenizer), mixes, ds.tokenizer, cfg)
