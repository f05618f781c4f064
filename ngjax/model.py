"""The classifier as pure functions: embedding -> encoder (a cell scanned over time) -> head.

Params are a plain dict with Keras names and layouts::

    {"embedding": {"table": [rows, E]},
     "lstm" | "rnn": {"kernel": [E, G*H], "recurrent_kernel": [H, G*H], "bias": [G*H]},
     "dense": {"kernel": [H, C], "bias": [C]}}

The table holds the rows the tokenizer can emit (ids < num_words); Keras' table has one row per
training word, and the rows past num_words are never looked up, so the outputs are the same.
``keras_param_counts`` gives the Keras-equivalent counts. Cells live in ``ngjax.cells``, the
scan in ``ngjax.encoder``, heads in ``ngjax.heads``.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from ngjax import cells, encoder, heads
from ngjax.initializers import embedding_uniform

Params = Dict[str, Dict[str, jax.Array]]


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Static shape and behaviour of a model (hashable: safe as a jit static argument)."""

    cell: str = "lstm"
    rows: int = 20000  # embedding rows actually stored (ids < rows)
    embed_dim: int = 50
    hidden_size: int = 30
    num_classes: int = 20
    trainable_embedding: bool = False
    mask_padding: bool = False
    unroll: int = 1


def init(rng: jax.Array, spec: ModelSpec, table: Optional[np.ndarray] = None) -> Params:
    """Keras initialisers. ``table`` (float32 [rows, E]) is the GloVe table, if any."""
    k_emb, k_kernel, k_rec, k_dense = jax.random.split(rng, 4)
    if table is None:
        table = embedding_uniform(k_emb, (spec.rows, spec.embed_dim))
    table = jnp.asarray(table, jnp.float32)
    if table.shape != (spec.rows, spec.embed_dim):
        raise ValueError(f"embedding table shape {table.shape} != {(spec.rows, spec.embed_dim)}")
    return {
        "embedding": {"table": table},
        spec.cell: cells.init(k_kernel, k_rec, spec.cell, spec.embed_dim, spec.hidden_size),
        "dense": heads.init_dense(k_dense, spec.hidden_size, spec.num_classes),
    }


def apply(params: Params, tokens: jax.Array, spec: ModelSpec) -> jax.Array:
    """tokens: int32[batch, seq_len] -> logits float32[batch, num_classes] (softmax head)."""
    return heads.dense(params["dense"], encoder.encode(params, tokens, spec))


# ----------------------------------------------------------------------------- bookkeeping
def split_trainable(params: Params, spec: ModelSpec) -> Tuple[Params, Params]:
    """(trainable, frozen): a frozen embedding gets no gradient and no optimizer state."""
    if spec.trainable_embedding:
        return dict(params), {}
    trainable = {k: v for k, v in params.items() if k != "embedding"}
    return trainable, {"embedding": params["embedding"]}


def keras_param_counts(spec: ModelSpec, keras_rows: int) -> Dict[str, int]:
    """Parameter counts as Keras reports them (embedding with ``keras_rows`` = vocab + 1 rows)."""
    emb = keras_rows * spec.embed_dim
    rec = cells.param_count(spec.cell, spec.embed_dim, spec.hidden_size)
    dense = heads.dense_param_count(spec.hidden_size, spec.num_classes)
    total = emb + rec + dense
    return {"embedding": emb, "recurrent": rec, "dense": dense, "total": total,
            "trainable": total if spec.trainable_embedding else rec + dense,
            "embedding_rows_stored": spec.rows}


def summary_table(spec: ModelSpec, seq_len: int, keras_rows: int) -> str:
    """A Keras-like model summary."""
    counts = keras_param_counts(spec, keras_rows)
    name = cells.CELLS[spec.cell].keras_name
    rows = [("embedding (Embedding)", f"(None, {seq_len}, {spec.embed_dim})", counts["embedding"],
             "yes" if spec.trainable_embedding else "no (frozen)"),
            (f"{spec.cell} ({name})", f"(None, {spec.hidden_size})", counts["recurrent"], "yes"),
            ("dense (Dense, softmax)", f"(None, {spec.num_classes})", counts["dense"], "yes")]
    line = "_" * 78
    out = [line, f"{'Layer (type)':<28}{'Output Shape':<20}{'Param #':>12}  {'Trainable':<14}", "=" * 78]
    for layer, shape, n, tr in rows:
        out.append(f"{layer:<28}{shape:<20}{n:>12,}  {tr:<14}")
    out += ["=" * 78, f"Total params: {counts['total']:,}",
            f"Trainable params: {counts['trainable']:,}",
            f"Non-trainable params: {counts['total'] - counts['trainable']:,}", line]
    return "\n".join(out)
