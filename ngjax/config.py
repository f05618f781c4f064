"""The run's configuration: one frozen dataclass, validated once, saved as workdir/config.json.

Every option is stated once, here: its field (name, type, default) with its help text, allowed
choices and checks in the field's metadata. ``ngjax.cli`` turns the fields into absl flags and
:func:`validate` checks them, so a new option is one field.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Optional, Tuple

from ngjax.errors import NgjaxError

REMOVABLE = ("headers", "footers", "quotes")
ADAM_RULES = ("keras", "optax")  # as ngjax.train.optim.ADAM_RULES (config imports nothing heavy)

# What a key missing from a saved config.json meant when that file was written, where it is not
# today's default: workdirs from before --adam existed were trained with optax's Adam.
LEGACY_DEFAULTS = {"adam": "optax"}

# Random embeddings default to the seed's 100 dimensions; GloVe ones follow the vectors.
RANDOM_EMBED_DIM = 100


class ConfigError(NgjaxError, ValueError):
    """A bad option value; the message names the flag and what is allowed."""


def option(default: Any, help: str, *, choices: Tuple[str, ...] = (), positive: bool = False,
           harmless: bool = False) -> Any:
    """A Config field with its flag help. ``choices``: the allowed values; ``positive``: a positive
    integer (None allowed where the default is None); ``harmless``: may differ when a workdir is
    resumed (it changes how long or how a run executes or logs, never what a step computes)."""
    return dataclasses.field(default=default, metadata={
        "help": help, "choices": tuple(choices), "positive": positive, "harmless": harmless})


@dataclasses.dataclass(frozen=True)
class Config:
    # model
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
    embed_dropout: float = option(0.0, "While training, drop whole word vectors with this probability.")
    dropout: float = option(0.0, "While training, dropout on the head's input with this probability.")
    embeddings: str = option("glove", "glove (frozen pretrained) | random (trainable, uniform(-0.05, 0.05)).",
                             choices=("glove", "random"))
    embed_dim: Optional[int] = option(None, "Embedding dimension; default: the GloVe file's (random: 100).",
                                      positive=True)
    glove_path: Optional[str] = option(None, "GloVe text file (.txt, .txt.gz, a.zip[:member]); default: "
                                       "bundled GloVe 6B 50d.")
    finetune_embedding: bool = option(False, "With --embeddings=glove: GloVe is the starting point of a trainable table.")
    mask_padding: bool = option(False, "Carry the state unchanged across padding (the seed does not; always on with "
                                "--bidirectional or a pooled head).")
    # data
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
    # training
    batch_size: int = option(32, "Batch size.", positive=True)
    epochs: int = option(50, "Epochs to train (a finished run continues when this grows).", positive=True,
                         harmless=True)
    learning_rate: float = option(1e-3, "Adam learning rate.")
    embedding_optimizer: str = option(
        "adam", "adam (dense Adam over the whole table, the seed's) | lazy_adam (only the batch's rows; a "
        "different optimizer; --embeddings=random only).", choices=("adam", "lazy_adam"))
    adam: str = option("keras", "Adam's update rule: keras (the seed's: epsilon added to sqrt(v) before the "
                       "bias correction, as Keras/TensorFlow do) | optax (optax's and PyTorch's form).",
                       choices=ADAM_RULES)
    clip_norm: float = option(0.0, "Clip gradients to this global norm (0 = off).")
    weight_decay: float = option(0.0, "Decoupled weight decay, as Keras' / optax's AdamW (0 = plain Adam).")
    ema_decay: float = option(0.0, "Evaluate (and select, save for prediction) the exponential moving average of the "
                              "parameters with this decay per step, bias-corrected; training follows the raw ones "
                              "(0 = off; e.g. 0.998).")
    lr_schedule: str = option("constant", "Learning rate over training: constant (the seed's) | warmup_cosine (linear "
                              "warmup, then cosine decay to 0).", choices=("constant", "warmup_cosine"))
    warmup_epochs: float = option(0.0, "warmup_cosine: epochs of linear warmup.")
    schedule_epochs: int = option(0, "warmup_cosine: epochs the schedule spans (0 = --epochs of the first launch).")
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
    early_stopping: int = option(0, "Stop when --monitor has not improved for N epochs (0 = off; needs "
                                 "--val_fraction).", harmless=True)
    monitor: str = option("val_accuracy", "The validation metric that picks the best epoch (with --val_fraction).",
                          choices=("val_accuracy", "val_loss"))
    length_buckets: int = option(0, "Batch documents of similar length at N static lengths (0 = off): less padding "
                                 "is computed; changes which documents share a batch; needs a masked model.")
    manual_backward: bool = option(False, "Differentiate the masked recurrences (bidirectional layers, pooled heads, "
                                   "--mask_padding) with a hand-written backward pass (ngjax.model.recurrence): the same "
                                   "gradients up to rounding, faster on CPU; off keeps jax.grad of the scan.")
    distinct_words: bool = option(False, "Project each distinct word of a training batch once (the first layer's input "
                                  "projection and its gradients over a batch's distinct words, gathered back per "
                                  "token): the same values up to rounding, less work; needs --manual_backward.")
    seed: int = option(0, "Seed of init and shuffling.")
    seeds: int = option(1, "Train K independent replicas (seeds seed..seed+K-1) at once; metrics give "
                        "mean/std.", positive=True)
    loop: str = option("epoch", "epoch (one compiled program per epoch) | step (one per batch, for debugging).",
                       choices=("epoch", "step"), harmless=True)
    unroll: int = option(0, "Time-scan unroll; 0 = platform default (CPU 1, GPU/TPU up to 32).", harmless=True)
    eval_batch_size: int = option(1024, "Evaluation chunk size (documents; --seeds=K replicas share it).",
                                  positive=True, harmless=True)
    shard: str = option("data", "With several devices: data (split batches) | seeds (split --seeds "
                        "replicas) | directions (a bidirectional layer's two directions on two devices, "
                        "side by side) | none.", choices=("data", "seeds", "directions", "none"), harmless=True)
    # checkpoints
    checkpoint_every: int = option(1, "Save a checkpoint every N epochs (the last is always saved).",
                                   positive=True, harmless=True)
    keep_checkpoints: int = option(3, "Checkpoints kept.", positive=True, harmless=True)
    experiment: Optional[str] = option(None, "Named variant from experiments/ (e.g. seed_lstm); flags "
                                       "given override it.", harmless=True)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; known keys: {sorted(known)}")
        d = dict(d)
        if "remove" in d:
            d["remove"] = normalize_remove(d["remove"])
        return cls(**d)

    @classmethod
    def from_saved(cls, d: dict) -> "Config":
        """A config.json as written by any ngjax version: missing keys get what they meant then."""
        return cls.from_dict({**{k: v for k, v in LEGACY_DEFAULTS.items() if k not in d}, **d})

    def replace(self, **kw: Any) -> "Config":
        return dataclasses.replace(self, **kw)


FIELDS = {f.name: f for f in dataclasses.fields(Config)}

# The options by concern, in the order --help shows them (every field in exactly one section).
SECTIONS = {
    "data": ("data_dir", "remove", "num_words", "seq_len", "padding", "truncating", "val_fraction", "val_seed",
             "cv_folds", "cv_fold"),
    "embeddings": ("embeddings", "glove_path", "embed_dim", "finetune_embedding"),
    "model": ("cell", "hidden_size", "bidirectional", "num_layers", "pool", "pool_embeddings", "mask_padding",
              "embed_dropout", "dropout"),
    "optimizer": ("learning_rate", "adam", "embedding_optimizer", "clip_norm", "weight_decay", "ema_decay",
                  "lr_schedule", "warmup_epochs", "schedule_epochs"),
    "training": ("batch_size", "epochs", "seed", "seeds", "early_stopping", "monitor"),
    "distillation": ("teacher", "distill_weight", "distill_temperature", "transductive", "mixed"),
    "speed": ("length_buckets", "manual_backward", "distinct_words", "shard", "unroll", "loop", "eval_batch_size"),
    "run": ("experiment", "checkpoint_every", "keep_checkpoints"),
}
SECTION_OF = {name: section for section, names in SECTIONS.items() for name in names}
# Keys that may differ between a workdir's saved config and a resumed run.
HARMLESS_KEYS = frozenset(name for name, f in FIELDS.items() if f.metadata["harmless"])


def normalize_remove(value) -> Tuple[str, ...]:
    """'headers,quotes' or a list -> a sorted tuple of distinct parts."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return tuple(sorted(set(value)))


def _check_field(name: str, value) -> None:
    meta = FIELDS[name].metadata
    if meta["choices"] and value not in meta["choices"]:
        raise ConfigError(f"--{name}={value!r}: allowed values are {', '.join(meta['choices'])}")
    if meta["positive"] and not (value is None and FIELDS[name].default is None):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"--{name}={value!r}: must be a positive integer")


def validate(cfg: Config) -> Config:
    """Raise ConfigError naming the first bad option; return cfg unchanged otherwise."""
    for name in FIELDS:
        _check_field(name, getattr(cfg, name))
    if cfg.num_words < 2:
        raise ConfigError(f"--num_words={cfg.num_words}: must be at least 2 (index 0 is padding)")
    if not isinstance(cfg.unroll, int) or cfg.unroll < 0:
        raise ConfigError(f"--unroll={cfg.unroll!r}: must be 0 (platform default) or a positive integer")
    if not (isinstance(cfg.learning_rate, (int, float)) and cfg.learning_rate > 0):
        raise ConfigError(f"--learning_rate={cfg.learning_rate!r}: must be a positive number")
    for name in ("val_fraction", "dropout", "embed_dropout", "ema_decay"):
        value = getattr(cfg, name)
        if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
            raise ConfigError(f"--{name}={value!r}: must be in [0, 1)")
    for name in ("clip_norm", "weight_decay", "warmup_epochs"):
        value = getattr(cfg, name)
        if not (isinstance(value, (int, float)) and value >= 0):
            raise ConfigError(f"--{name}={value!r}: must be a number >= 0")
    for name in ("schedule_epochs", "early_stopping", "length_buckets"):
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"--{name}={value!r}: must be 0 (off) or a positive integer")
    if not isinstance(cfg.cv_folds, int) or isinstance(cfg.cv_folds, bool) or cfg.cv_folds < 0 or cfg.cv_folds == 1:
        raise ConfigError(f"--cv_folds={cfg.cv_folds!r}: must be 0 (off) or at least 2")
    if not isinstance(cfg.cv_fold, int) or isinstance(cfg.cv_fold, bool) or not (
            0 <= cfg.cv_fold < max(cfg.cv_folds, 1)):
        raise ConfigError(f"--cv_fold={cfg.cv_fold!r}: must be in 0..{max(cfg.cv_folds - 1, 0)}"
                          + ("" if cfg.cv_folds else " (add --cv_folds=K to hold a fold out)"))
    bad = [r for r in cfg.remove if r not in REMOVABLE]
    if bad:
        raise ConfigError(f"--remove={','.join(cfg.remove)}: unknown part(s) {bad}; "
                          f"allowed: {', '.join(REMOVABLE)} (comma-separated)")
    if cfg.seeds > 1 and cfg.loop == "step":
        raise ConfigError(f"--loop=step runs one replica; use --loop=epoch with --seeds={cfg.seeds}")
    if cfg.embeddings == "random" and cfg.glove_path:
        raise ConfigError("--glove_path is given with --embeddings=random; drop one of them")
    if cfg.finetune_embedding and cfg.embeddings != "glove":
        raise ConfigError("--finetune_embedding trains a GloVe table; use it with --embeddings=glove "
                          "(a random table is always trained)")
    if cfg.embedding_optimizer == "lazy_adam" and cfg.embeddings != "random" and not cfg.finetune_embedding:
        raise ConfigError("--embedding_optimizer=lazy_adam updates a trainable table; use it with "
                          "--embeddings=random or --finetune_embedding (GloVe tables are frozen)")
    if cfg.embedding_optimizer == "lazy_adam" and (cfg.clip_norm or cfg.weight_decay or cfg.ema_decay):
        raise ConfigError("--clip_norm, --weight_decay and --ema_decay work with dense Adam only; drop them or use "
                          "--embedding_optimizer=adam")
    if cfg.early_stopping and not cfg.val_fraction:
        raise ConfigError(f"--early_stopping={cfg.early_stopping} watches the validation split; add "
                          "--val_fraction (e.g. 0.1)")
    if cfg.length_buckets and not masked(cfg):
        raise ConfigError("--length_buckets drops padding steps, which changes an unmasked model; add "
                          "--mask_padding (or use --bidirectional / a pooled head, which mask)")
    if cfg.shard == "directions" and not cfg.bidirectional:
        raise ConfigError("--shard=directions splits a bidirectional layer's two directions over two devices; add "
                          "--bidirectional, or use --shard=data")
    if cfg.manual_backward and not masked(cfg):
        raise ConfigError("--manual_backward replaces the masked recurrence's gradient; add --mask_padding (or use "
                          "--bidirectional / a pooled head, which mask), or drop it")
    if cfg.distinct_words and not cfg.manual_backward:
        raise ConfigError("--distinct_words speeds up the hand-written backward pass; add --manual_backward, or drop it")
    if cfg.distinct_words and cfg.seeds > 1:
        raise ConfigError("--distinct_words picks each batch's path by its own words, which K replicas' different "
                          "batches would run both of; use it with --seeds=1")
    if cfg.length_buckets and cfg.loop == "step":
        raise ConfigError("--length_buckets runs in the compiled epoch; use --loop=epoch")
    if not (isinstance(cfg.distill_weight, (int, float)) and 0.0 <= cfg.distill_weight <= 1.0):
        raise ConfigError(f"--distill_weight={cfg.distill_weight!r}: must be in [0, 1]")
    if not (isinstance(cfg.distill_temperature, (int, float)) and cfg.distill_temperature > 0):
        raise ConfigError(f"--distill_temperature={cfg.distill_temperature!r}: must be a number > 0")
    if not cfg.teacher and (cfg.distill_weight != FIELDS["distill_weight"].default
                            or cfg.distill_temperature != FIELDS["distill_temperature"].default):
        raise ConfigError("--distill_weight / --distill_temperature shape distillation; add --teacher=FILE "
                          "(python -m ngjax.distill.teacher writes one) or drop them")
    if cfg.transductive and not cfg.teacher:
        raise ConfigError("--transductive distils on the unlabeled test texts with a teacher's probabilities; add "
                          "--teacher=FILE written by python -m ngjax.distill.teacher --transductive, or drop it")
    if cfg.mixed and not cfg.teacher:
        raise ConfigError("--mixed distils on mixed training documents with a teacher's probabilities; add "
                          "--teacher=FILE written by python -m ngjax.distill.teacher --mix_copies=K, or drop it")
    if cfg.pool_embeddings and cfg.pool == "last":
        raise ConfigError("--pool_embeddings pools the word vectors over time; use a pooled head "
                          "(--pool=max, mean, maxmean or attention)")
    if cfg.lr_schedule == "constant" and (cfg.warmup_epochs or cfg.schedule_epochs):
        raise ConfigError("--warmup_epochs / --schedule_epochs shape --lr_schedule=warmup_cosine; add it or drop them")
    return cfg


def masked(cfg: Config) -> bool:
    """Whether padding is masked: asked for, or needed by a backward direction or a pooled head."""
    return cfg.mask_padding or cfg.bidirectional or cfg.pool != "last"
