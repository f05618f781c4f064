"""What a run needs besides its state, built from a config: the completed config (``embed_dim``
read from the GloVe file), the token arrays, the GloVe table, the model spec, the optimizer, and
what a technique adds (the rows seam, ``Rows``).

A technique (distillation: ``ngjax.distill.plugin``) is a module listed in ``TECHNIQUES`` with
``applies(cfg) -> bool`` and ``prepare(cfg, data, cache_dir) -> Rows``: per-row fields for the
training documents, more training rows, and its loss. The core imports none of them by name.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Dict, Optional

import numpy as np
import optax
from absl import logging

from ngjax.model import network as model_lib
from ngjax.train import fastest, optim
from ngjax.config import RANDOM_EMBED_DIM, Config, validate
from ngjax.errors import NgjaxError


GLOVE_6B_DIMS = (50, 100, 200, 300)  # the glove.6B.zip files (https://nlp.stanford.edu/projects/glove/)

# Modules that may add rows, fields and a loss to a run (each: applies(cfg), prepare(cfg, data, cache_dir)).
TECHNIQUES = ("ngjax.distill.plugin",)


@dataclasses.dataclass
class Rows:
    """What a technique adds to a run. ``fields``: named arrays, one row per training document (e.g.
    ``soft_targets``); ``x_extra``: more training rows, token ids int32[M, T], unlabeled (label -1:
    they count in the loss only, never in the metrics), with ``extra_fields`` (the same names); ``loss``:
    ``loss(logits, batch) -> (mean loss, metric sums)``; ``summary``: counts for summary.json."""

    fields: Dict[str, np.ndarray]
    loss: Callable
    x_extra: Optional[np.ndarray] = None
    extra_fields: Optional[Dict[str, np.ndarray]] = None
    summary: Dict[str, int] = dataclasses.field(default_factory=dict)


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
    rows: Optional[Rows] = None  # what a technique adds

    def train_arrays(self):
        """(x, y) the epochs train on: the training part's token ids and labels; with a technique's
        rows, y is a dict of per-row fields ("labels" and the technique's) and its extra rows follow
        the training documents, labelled -1."""
        ds, r = self.data, self.rows
        if r is None:
            return ds.x_train, ds.y_train
        if r.x_extra is None:
            return ds.x_train, {"labels": ds.y_train, **r.fields}
        labels = np.concatenate([ds.y_train, np.full(len(r.x_extra), -1, ds.y_train.dtype)])
        fields = {k: np.concatenate([v, r.extra_fields[k]]) for k, v in r.fields.items()}
        return np.concatenate([ds.x_train, r.x_extra]), {"labels": labels, **fields}

    @property
    def loss(self) -> Optional[Callable]:
        """The technique's training loss, or None (cross-entropy)."""
        return None if self.rows is None else self.rows.loss

    @property
    def unlabeled(self) -> dict:
        """How many unlabeled rows the run trains on, by kind (for the summary)."""
        return {} if self.rows is None else dict(self.rows.summary)


def technique_rows(cfg: Config, ds, cache_dir: Optional[str]) -> Optional[Rows]:
    """The rows of the technique that applies to ``cfg`` (at most one), or None."""
    for name in TECHNIQUES:
        module = importlib.import_module(name)
        if module.applies(cfg):
            return module.prepare(cfg, ds, cache_dir)
    return None


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
                f"are {dim}-d): " + (
                    f"download glove.6B.zip from https://nlp.stanford.edu/projects/glove/ and pass "
                    f"--glove_path=PATH/glove.6B.zip:glove.6B.{cfg.embed_dim}d.txt" if cfg.embed_dim in GLOVE_6B_DIMS
                    else f"GloVe 6B comes in {', '.join(map(str, GLOVE_6B_DIMS))} dimensions; pass one of them with "
                    f"its --glove_path, a {cfg.embed_dim}-d GloVe-format file, or --embeddings=random "
                    f"--embed_dim={cfg.embed_dim}"))
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
    import jax

    return validate(fastest.resolve(cfg, saved, jax.default_backend(), jax.device_count()))


def default_unroll(platform: str, seq_len: int) -> int:
    """Time-scan unroll: on CPU unrolling costs more than it saves; on accelerators it pays."""
    if platform == "cpu":
        return 1
    return seq_len if seq_len <= 32 else 10


def implementation(cfg: Config) -> str:
    """The config's --recurrence, ``auto`` as ``ngjax.train.fastest`` resolves it."""
    return fastest.recurrence(cfg) if cfg.recurrence == "auto" else cfg.recurrence


def spec_for(cfg: Config, rows: int, num_classes: int, unroll: int = 1) -> model_lib.ModelSpec:
    """The static model description of a (resolved) config."""
    return model_lib.ModelSpec(cell=cfg.cell, rows=rows, embed_dim=cfg.embed_dim,
                               hidden_size=cfg.hidden_size, num_classes=num_classes,
                               trainable_embedding=cfg.embeddings == "random" or cfg.finetune_embedding,
                               mask_padding=cfg.mask_padding, unroll=unroll,
                               manual_backward=implementation(cfg) in ("manual", "distinct"), bidirectional=cfg.bidirectional,
                               num_layers=cfg.num_layers, pool=cfg.pool, pool_embeddings=cfg.pool_embeddings,
                               embed_dropout=cfg.embed_dropout,
                               dropout=cfg.dropout, dtype=cfg.dtype)


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
    rows = technique_rows(cfg, ds, cache_dir)
    examples = len(ds.x_train) + (0 if rows is None or rows.x_extra is None else len(rows.x_extra))
    tx = optimizer_for(cfg, -(-examples // cfg.batch_size))
    return RunInputs(cfg, spec, tx, ds, table, coverage, keras_rows, rows)
