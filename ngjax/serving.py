"""Load a finished run from its workdir alone: config, tokenizer, group names, latest params.

Used by ``ngjax.predict`` and ``ngjax.report``; needs no corpus and no GloVe file (the frozen
table is in the checkpoint), so it loads in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, List

from ngjax.config import Config
from ngjax.errors import NgjaxError

TOKENIZER_FILE = "tokenizer.json"
LABELS_FILE = "labels.json"


@dataclasses.dataclass
class Run:
    cfg: Config
    spec: Any  # model.ModelSpec
    tokenizer: Any  # data.Tokenizer
    target_names: List[str]
    params: dict
    epoch: int


def save_vocabulary(workdir: str, tokenizer, target_names) -> None:
    """What predict needs besides the checkpoint: the fitted tokenizer and the group names."""
    for name, text in ((TOKENIZER_FILE, tokenizer.to_json()), (LABELS_FILE, json.dumps(list(target_names)))):
        path = os.path.join(workdir, name)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)


def read_history(workdir: str) -> list:
    path = os.path.join(workdir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip()]


def _read(workdir: str, name: str) -> str:
    path = os.path.join(workdir, name)
    if not os.path.exists(path):
        raise NgjaxError(f"--workdir={workdir}: no {name}; is it an ngjax run folder "
                         "(made by python -m ngjax.main --workdir=...)?")
    with open(path) as f:
        return f.read()


def load_run(workdir: str) -> Run:
    import jax
    import numpy as np

    from ngjax import train
    from ngjax.checkpoint import Checkpoints
    from ngjax.data import Tokenizer

    if not os.path.isdir(workdir):
        raise NgjaxError(f"--workdir={workdir}: no such folder")
    cfg = Config.from_saved(json.loads(_read(workdir, "config.json")))
    tokenizer = Tokenizer.from_json(_read(workdir, TOKENIZER_FILE))
    names = json.loads(_read(workdir, LABELS_FILE))
    rows = min(tokenizer.vocab_size + 1, cfg.num_words)
    spec = train.spec_for(cfg, rows, len(names))
    tx = train.make_optimizer(cfg.learning_rate, cfg.embedding_optimizer, cfg.adam)
    table = None if spec.trainable_embedding else np.zeros((rows, cfg.embed_dim), np.float32)
    abstract = jax.eval_shape(lambda: train.init_state(cfg.seed, cfg.seeds, spec, tx, table))
    ckdir = os.path.join(workdir, "checkpoints")
    got = Checkpoints(ckdir, read_only=True).restore_latest_good(abstract) if os.path.isdir(ckdir) else None
    if got is None:
        raise NgjaxError(f"--workdir={workdir}: no finished checkpoint yet (training has not completed "
                         "an epoch); run or resume python -m ngjax.main with this --workdir first")
    _, state, _ = got
    if cfg.seeds > 1:
        state = train.replica(state, 0)  # predictions and reports use the first replica
    return Run(cfg, spec, tokenizer, names, {**state.frozen, **state.params}, int(state.epoch))
