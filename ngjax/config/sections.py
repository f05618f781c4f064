"""The configuration by concern: one frozen dataclass per section of ``--help`` (data, embeddings,
model, optimizer, training, distillation, speed, run), each with its fields (name, type, default,
help text, allowed values in the metadata) and a ``check`` of the rules among its own fields.
``ngjax.config.Config`` is their union, flat (flags and config.json keep their names); rules that
span sections live in ``ngjax.config.validate``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional, Tuple

from ngjax.config.base import (ADAM_RULES, RECURRENCES, REMOVABLE, SHARDS, ConfigError, at_least_zero, fraction,
                               is_int, is_number, option, zero_or_count)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """--help's \"data\" options."""

    data_dir: Optional[str] = option(None, "20news-bydate.tar.gz or its extracted folder; default: "
                                     "scikit-learn download.")
    remove: Tuple[str, ...] = option((), "Parts to strip, as scikit-learn's remove=: headers,footers,quotes.")
    num_words: int = option(20000, "Keras Tokenizer num_words: ids < num_words are kept.", positive=True)
    seq_len: int = option(30, "Sequence length after padding/truncation.", positive=True)
    padding: str = option("pre", "Where padding goes.", choices=("pre", "post"))
    truncating: str = option("pre", "Which end of a long document is cut.", choices=("pre", "post"))
    val_fraction: float = option(0.0, "Stratified validation split carved from train (0 = none, the seed's way).")
    val_seed: int = option(0, "Seed of the validation split.")
    cv_folds: int = option(0, "Cross-fitting: cut the training part into K stratified folds (seeded by --val_seed) "
                           "and hold fold --cv_fold out of training (0 = off); python -m ngjax.distill.teacher --cross_fit "
                           "joins K such runs' predictions on the documents each never saw.")
    cv_fold: int = option(0, "With --cv_folds=K: the fold (0..K-1) held out of training.")

    def check(self) -> None:
        if self.num_words < 2:
            raise ConfigError(f"--num_words={self.num_words}: must be at least 2 (index 0 is padding)")
        fraction("val_fraction", self.val_fraction)
        if not is_int(self.cv_folds) or self.cv_folds < 0 or self.cv_folds == 1:
            raise ConfigError(f"--cv_folds={self.cv_folds!r}: must be 0 (off) or at least 2")
        if not is_int(self.cv_fold) or not 0 <= self.cv_fold < max(self.cv_folds, 1):
            raise ConfigError(f"--cv_fold={self.cv_fold!r}: must be in 0..{max(self.cv_folds - 1, 0)}"
                              + ("" if self.cv_folds else " (add --cv_folds=K to hold a fold out)"))
        bad = [r for r in self.remove if r not in REMOVABLE]
        if bad:
            raise ConfigError(f"--remove={','.join(self.remove)}: unknown part(s) {bad}; "
                              f"allowed: {', '.join(REMOVABLE)} (comma-separated)")


@dataclasses.dataclass(frozen=True)
class EmbeddingConfig:
    """--help's \"embeddings\" options."""

    embeddings: str = option("glove", "glove (frozen pretrained) | random (trainable, uniform(-0.05, 0.05)).",
                             choices=("glove", "random"))
    glove_path: Optional[str] = option(None, "GloVe text file (.txt, .txt.gz, a.zip[:member]); default: "
                                       "bundled GloVe 6B 50d.")
    embed_dim: Optional[int] = option(None, "Embedding dimension; default: the GloVe file's (random: 100).",
                                      positive=True)
    finetune_embedding: bool = option(False, "With --embeddings=glove: GloVe is the starting point of a trainable table.")

    def check(self) -> None:
        if self.embeddings == "random" and self.glove_path:
            raise ConfigError("--glove_path is given with --embeddings=random; drop one of them")
        if self.finetune_embedding and self.embeddings != "glove":
            raise ConfigError("--finetune_embedding trains a GloVe table; use it with --embeddings=glove "
                              "(a random table is always trained)")

    @property
    def trainable(self) -> bool:
        return self.embeddings == "random" or self.finetune_embedding


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """--help's \"model\" options."""

    cell: str = option("lstm", "Recurrent cell (gru: Keras' GRU, reset_after=True).", choices=("lstm", "gru", "rnn"))
    hidden_size: int = option(30, "Units of each recurrent layer (per direction).", positive=True)
    bidirectional: bool = option(False, "Read each document both ways, forward and backward outputs concatenated "
                                 "(both directions in one scan; padding masked).")
    num_layers: int = option(1, "Stacked recurrent layers; each reads the previous layer's sequence.", positive=True)
    pool: str = option("last", "What the head reads: the last state (the seed's), or max / mean / max and mean "
                       "side by side / attention over the real tokens (padding masked).",
                       choices=("last", "max", "mean", "maxmean", "attention"))
    pool_embeddings: bool = option(False, "The head also pools the word vectors themselves (as --pool pools the "
                                   "recurrent outputs) and reads them beside: a direct bag-of-words path, as "
                                   "SWEM's, next to the recurrent features. Needs a pooled head.")
    mask_padding: bool = option(False, "Carry the state unchanged across padding (the seed does not; always on with "
                                "--bidirectional or a pooled head).")
    embed_dropout: float = option(0.0, "While training, drop whole word vectors with this probability.")
    dropout: float = option(0.0, "While training, dropout on the head's input with this probability.")

    def check(self) -> None:
        fraction("dropout", self.dropout)
        fraction("embed_dropout", self.embed_dropout)
        if self.pool_embeddings and self.pool == "last":
            raise ConfigError("--pool_embeddings pools the word vectors over time; use a pooled head "
                              "(--pool=max, mean, maxmean or attention)")

    @property
    def masked(self) -> bool:
        """Whether padding is masked: asked for, or needed by a backward direction or a pooled head."""
        return self.mask_padding or self.bidirectional or self.pool != "last"


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """--help's \"optimizer\" options."""

    learning_rate: float = option(1e-3, "Adam learning rate.")
    adam: str = option("keras", "Adam's update rule: keras (the seed's: epsilon added to sqrt(v) before the "
                       "bias correction, as Keras/TensorFlow do) | optax (optax's and PyTorch's form).",
                       choices=ADAM_RULES)
    embedding_optimizer: str = option(
        "adam", "adam (dense Adam over the whole table, the seed's) | lazy_adam (only the batch's rows; a "
        "different optimizer; --embeddings=random only).", choices=("adam", "lazy_adam"))
    clip_norm: float = option(0.0, "Clip gradients to this global norm (0 = off).")
    weight_decay: float = option(0.0, "Decoupled weight decay, as Keras' / optax's AdamW (0 = plain Adam).")
    ema_decay: float = option(0.0, "Evaluate (and select, save for prediction) the exponential moving average of the "
                              "parameters with this decay per step, bias-corrected; training follows the raw ones "
                              "(0 = off; e.g. 0.998).")
    lr_schedule: str = option("constant", "Learning rate over training: constant (the seed's) | warmup_cosine (linear "
                              "warmup, then cosine decay to 0).", choices=("constant", "warmup_cosine"))
    warmup_epochs: float = option(0.0, "warmup_cosine: epochs of linear warmup.")
    schedule_epochs: int = option(0, "warmup_cosine: epochs the schedule spans (0 = --epochs of the first launch).")

    def check(self) -> None:
        if not (is_number(self.learning_rate) and 0 < self.learning_rate < math.inf):
            raise ConfigError(f"--learning_rate={self.learning_rate!r}: must be a positive (finite) number")
        fraction("ema_decay", self.ema_decay)
        for name in ("clip_norm", "weight_decay", "warmup_epochs"):
            at_least_zero(name, getattr(self, name))
        zero_or_count("schedule_epochs", self.schedule_epochs)
        if self.lr_schedule == "constant" and (self.warmup_epochs or self.schedule_epochs):
            raise ConfigError("--warmup_epochs / --schedule_epochs shape --lr_schedule=warmup_cosine; add it or drop "
                              "them")
        if self.embedding_optimizer == "lazy_adam" and (self.clip_norm or self.weight_decay or self.ema_decay):
            raise ConfigError("--clip_norm, --weight_decay and --ema_decay work with dense Adam only; drop them or use "
                              "--embedding_optimizer=adam")


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """--help's \"training\" options."""

    batch_size: int = option(32, "Batch size.", positive=True)
    epochs: int = option(50, "Epochs to train (a finished run continues when this grows).", positive=True,
                         harmless=True)
    seed: int = option(0, "Seed of init and shuffling.")
    seeds: int = option(1, "Train K independent replicas (seeds seed..seed+K-1) at once; metrics give "
                        "mean/std.", positive=True)
    early_stopping: int = option(0, "Stop when --monitor has not improved for N epochs (0 = off; needs "
                                 "--val_fraction).", harmless=True)
    monitor: str = option("val_accuracy", "The validation metric that picks the best epoch (with --val_fraction).",
                          choices=("val_accuracy", "val_loss"))
    test_each_epoch: bool = option(True, "Evaluate the test split after every epoch (the seed's script does); false: "
                                   "once, on the epoch the run reports, at its end (test selects nothing).",
                                   harmless=True)

    def check(self) -> None:
        zero_or_count("early_stopping", self.early_stopping)


@dataclasses.dataclass(frozen=True)
class DistillationConfig:
    """--help's \"distillation\" options."""

    teacher: Optional[str] = option(None, "Distillation: soft targets for the training documents, a file written by "
                                    "python -m ngjax.distill.teacher (an ensemble's averaged probabilities).")
    distill_weight: float = option(0.5, "With --teacher: weight of the teacher's soft targets in the loss (the "
                                   "labels' cross-entropy gets 1 - w).")
    distill_temperature: float = option(1.0, "With --teacher: temperature T of the soft targets (the teacher's "
                                        "probabilities to the power 1/T, renormalised; the soft loss is scaled by T^2).")
    transductive: bool = option(False, "With --teacher: also distil on the test documents' texts, unlabeled, with the "
                                "teacher file's probabilities on them (python -m ngjax.distill.teacher --transductive). Test "
                                "labels are never read, but the model has seen the test texts: a transductive result, "
                                "not comparable with an inductive one.")
    mixed: bool = option(False, "With --teacher: also distil on the teacher file's mixed documents (the beginning of "
                         "one training document spliced onto the end of another, labelled by the teachers: python "
                         "-m ngjax.distill.teacher --mix_copies=K), with the soft term of the loss only. Inductive: only "
                         "training documents are mixed.")

    def check(self) -> None:
        if not (is_number(self.distill_weight) and 0.0 <= self.distill_weight <= 1.0):
            raise ConfigError(f"--distill_weight={self.distill_weight!r}: must be in [0, 1]")
        if not (is_number(self.distill_temperature) and 0 < self.distill_temperature < math.inf):
            raise ConfigError(f"--distill_temperature={self.distill_temperature!r}: must be a number > 0")
        defaults = DistillationConfig()
        if not self.teacher and (self.distill_weight != defaults.distill_weight
                                 or self.distill_temperature != defaults.distill_temperature):
            raise ConfigError("--distill_weight / --distill_temperature shape distillation; add --teacher=FILE "
                              "(python -m ngjax.distill.teacher writes one) or drop them")
        if self.transductive and not self.teacher:
            raise ConfigError("--transductive distils on the unlabeled test texts with a teacher's probabilities; add "
                              "--teacher=FILE written by python -m ngjax.distill.teacher --transductive, or drop it")
        if self.mixed and not self.teacher:
            raise ConfigError("--mixed distils on mixed training documents with a teacher's probabilities; add "
                              "--teacher=FILE written by python -m ngjax.distill.teacher --mix_copies=K, or drop it")


@dataclasses.dataclass(frozen=True)
class SpeedConfig:
    """--help's \"speed\" options."""

    recurrence: str = option(
        "auto", "How a masked recurrence (bidirectional layers, pooled heads, --mask_padding) is computed and "
        "differentiated, the same math up to rounding: autodiff (jax.grad of lax.scan, evaluation in fixed chunks in "
        "document order: the reference, what every committed number used) | manual (a hand-written backward pass, "
        "ngjax.model.recurrence; evaluation in length-sorted chunks at their own lengths) | distinct (manual, and the "
        "first layer projects each distinct word of a training batch once; one replica) | auto (the fastest that "
        "applies: distinct, manual with --seeds>1, autodiff for an unmasked model; a resumed run keeps what it "
        "started with).", choices=("auto",) + RECURRENCES, harmless=True)
    shard: str = option("auto", "With several devices: data (split batches) | seeds (split --seeds "
                        "replicas) | directions (a bidirectional layer's two directions on two devices, "
                        "side by side) | none | auto (directions for a bidirectional model with one replica on a "
                        "CPU of two or more cores, which then gets two devices; else data; a resumed run keeps "
                        "what it started with).", choices=("auto",) + SHARDS, harmless=True)
    length_buckets: int = option(0, "Batch documents of similar length at N static lengths (0 = off): less padding "
                                 "is computed; changes which documents share a batch; needs a masked model.")
    unroll: int = option(0, "Time-scan unroll; 0 = platform default (CPU 1, GPU/TPU up to 32).", harmless=True)
    loop: str = option("epoch", "epoch (one compiled program per epoch) | step (one per batch, for debugging).",
                       choices=("epoch", "step"), harmless=True)
    eval_batch_size: int = option(1024, "Evaluation chunk size (documents; --seeds=K replicas share it).",
                                  positive=True, harmless=True)
    dtype: str = option("float32", "Compute dtype: float32 | bfloat16 (matmuls, activations and recurrent states in "
                        "bfloat16, as TPUs and recent GPUs run fastest; parameters, Adam's state, the loss and the "
                        "metrics stay float32, so checkpoints restore across dtypes with --restore_from). Changes "
                        "the numbers by bfloat16's rounding.", choices=("float32", "bfloat16"))

    def check(self) -> None:
        if not is_int(self.unroll) or self.unroll < 0:
            raise ConfigError(f"--unroll={self.unroll!r}: must be 0 (platform default) or a positive integer")
        zero_or_count("length_buckets", self.length_buckets)
        if self.length_buckets and self.loop == "step":
            raise ConfigError("--length_buckets runs in the compiled epoch; use --loop=epoch")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """--help's \"run\" options."""

    experiment: Optional[str] = option(None, "Named variant from experiments/ (e.g. seed_lstm); flags "
                                       "given override it.", harmless=True)
    checkpoint_every: int = option(1, "Save a checkpoint every N epochs (the last is always saved).",
                                   positive=True, harmless=True)
    keep_checkpoints: int = option(3, "Checkpoints kept.", positive=True, harmless=True)

    def check(self) -> None:
        pass  # choices and positive counts only (checked from the fields' metadata)
