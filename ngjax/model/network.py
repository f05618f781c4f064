"""The classifier as pure functions: embedding -> encoder (cells scanned over time) -> head.

Params are a plain dict with Keras names and layouts::

    {"embedding": {"table": [rows, E]},
     "lstm" | "gru" | "rnn": {"kernel": [E, G*H], "recurrent_kernel": [H, G*H], "bias": [G*H] or [2, G*H]},
     "lstm_1", ...: the same for stacked layers (inputs [D*H] wide),
     (bidirectional: each layer is {"forward": {...}, "backward": {...}})
     "attention": {"kernel": [P, P], "bias": [P], "query": [P]}   (--pool=attention only)
     "dense": {"kernel": [F, C], "bias": [C]}}
P = D * H, the encoder's width (+ E with --pool_embeddings: the word vectors are pooled beside it);
F = P (2 * P with --pool=maxmean).

The table holds the rows the tokenizer can emit (ids < num_words); Keras' table has one row per
training word, and the rows past num_words are never looked up, so the outputs are the same.
``keras_param_counts`` gives the Keras-equivalent counts. Cells live in ``ngjax.model.cells``, the
scans in ``ngjax.model.encoder``, pooling and the dense head in ``ngjax.model.heads``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from ngjax.model import cells, encoder, heads
from ngjax.model.initializers import embedding_uniform

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
    manual_backward: bool = False  # masked recurrences differentiate through ngjax.model.recurrence
    bidirectional: bool = False
    num_layers: int = 1
    pool: str = "last"
    pool_embeddings: bool = False
    embed_dropout: float = 0.0
    dropout: float = 0.0
    # --distinct_words: ((batch, length, bound), ...): training batches of that shape project their (at most
    # ``bound``) distinct words once (ngjax.model.encoder); other shapes, and a batch with more, project per token
    distinct_words: Tuple[Tuple[int, int, int], ...] = ()
    direction_mesh: Any = None  # --shard=directions: a 2-device Mesh over encoder.DIRECTIONS, else None
    dtype: str = "float32"  # compute dtype (--dtype): parameters stay float32, cast where they are used

    def __post_init__(self):
        if self.pool_embeddings and self.pool == "last":  # Config refuses it too, with the flag's words
            raise ValueError("pool_embeddings pools the word vectors over time: it needs a pooled head, not pool='last'")

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def features(self) -> int:
        """F: width of the encoder's output and of the dense head's input."""
        return self.directions * self.hidden_size

    @property
    def pooled_width(self) -> int:
        """Width of the sequence the head pools: F, plus E when the word vectors are pooled too."""
        return self.features + (self.embed_dim if self.pool_embeddings else 0)

    @property
    def head_features(self) -> int:
        """Width of the pooled vector the dense head reads (twice the pooled width for max and mean)."""
        return heads.pooled_features(self.pool, self.pooled_width)

    @property
    def masked(self) -> bool:
        """Padding never changes a carry: asked for, or needed by both directions and by pooling."""
        return self.mask_padding or self.bidirectional or self.pool != "last"

    @property
    def has_dropout(self) -> bool:
        return self.embed_dropout > 0 or self.dropout > 0


def init(rng: jax.Array, spec: ModelSpec, table: Optional[np.ndarray] = None) -> Params:
    """Keras initialisers. ``table`` (float32 [rows, E]) is the GloVe table, if any (frozen, or the
    starting point of a trainable table with --finetune_embedding)."""
    k_emb, k_kernel, k_rec, k_dense = jax.random.split(rng, 4)
    if table is None:
        table = embedding_uniform(k_emb, (spec.rows, spec.embed_dim))
    table = jnp.asarray(table, jnp.float32)
    if table.shape != (spec.rows, spec.embed_dim):
        raise ValueError(f"embedding table shape {table.shape} != {(spec.rows, spec.embed_dim)}")
    params = {"embedding": {"table": table}}
    for layer in range(spec.num_layers):
        inputs = spec.embed_dim if layer == 0 else spec.features
        keys = []
        for d in range(spec.directions):  # layer 0, forward: the seed's keys; others folded from them
            n = 2 * layer + d
            keys.append((k_kernel, k_rec) if n == 0 else
                        (jax.random.fold_in(k_kernel, n), jax.random.fold_in(k_rec, n)))
        one = [cells.init(kk, kr, spec.cell, inputs, spec.hidden_size) for kk, kr in keys]
        params[encoder.layer_name(spec.cell, layer)] = (
            {"forward": one[0], "backward": one[1]} if spec.bidirectional else one[0])
    if spec.pool == "attention":
        params["attention"] = heads.init_attention(jax.random.fold_in(k_dense, 1), spec.pooled_width)
    params["dense"] = heads.init_dense(k_dense, spec.head_features, spec.num_classes)
    return params


def features(params: Params, tokens: jax.Array, spec: ModelSpec, rng: Optional[jax.Array] = None) -> jax.Array:
    """tokens: int32[batch, T] -> the head's input [batch, F] in ``spec.dtype`` (dropout when ``rng`` is given)."""
    params = in_compute_dtype(params, spec)
    if spec.pool == "last":
        h, _ = encoder.encode(params, tokens, spec, rng)
    else:
        h, _ = encoder.encode(params, tokens, spec, rng, pool=lambda seq, mask: heads.pool(spec.pool, seq, mask, params),
                              per_feature=spec.pool in heads.PER_FEATURE)
    if rng is not None and spec.dropout > 0:
        h = encoder.dropout(jax.random.fold_in(rng, encoder.OUTPUT_DROPOUT), h, spec.dropout)
    return h


def apply(params: Params, tokens: jax.Array, spec: ModelSpec, rng: Optional[jax.Array] = None) -> jax.Array:
    """tokens: int32[batch, seq_len] -> logits float32[batch, num_classes] (softmax head).

    ``rng``: a training step's dropout key; None (evaluation, prediction) turns dropout off. With
    ``spec.dtype`` bfloat16 the computation is bfloat16 and the logits come back as float32."""
    params = in_compute_dtype(params, spec)  # once: features' own cast is then a no-op
    return heads.dense(params["dense"], features(params, tokens, spec, rng)).astype(jnp.float32)


def in_compute_dtype(params: Params, spec: ModelSpec) -> Params:
    """``params`` as the computation reads them: unchanged in float32; with ``spec.dtype`` bfloat16 a
    bfloat16 copy of every array but the embedding table, whose looked-up rows are cast instead (a
    copy of a 60k-row table per step would cost more than the lookups). Gradients flow back through
    the cast to the float32 parameters."""
    if spec.dtype == "float32":
        return params
    dtype = jnp.dtype(spec.dtype)
    return {name: (group if name == "embedding" else jax.tree_util.tree_map(
        lambda a: a if a.dtype == dtype else a.astype(dtype), group)) for name, group in params.items()}

# ----------------------------------------------------------------------------- bookkeeping
def split_trainable(params: Params, spec: ModelSpec) -> Tuple[Params, Params]:
    """(trainable, frozen): a frozen embedding gets no gradient and no optimizer state."""
    if spec.trainable_embedding:
        return dict(params), {}
    trainable = {k: v for k, v in params.items() if k != "embedding"}
    return trainable, {"embedding": params["embedding"]}


def recurrent_param_count(spec: ModelSpec) -> int:
    total = 0
    for layer in range(spec.num_layers):
        inputs = spec.embed_dim if layer == 0 else spec.features
        total += spec.directions * cells.param_count(spec.cell, inputs, spec.hidden_size)
    return total


def keras_param_counts(spec: ModelSpec, keras_rows: int) -> Dict[str, int]:
    """Parameter counts as Keras reports them (embedding with ``keras_rows`` = vocab + 1 rows)."""
    emb = keras_rows * spec.embed_dim
    rec = recurrent_param_count(spec)
    att = heads.attention_param_count(spec.pooled_width) if spec.pool == "attention" else 0
    dense = heads.dense_param_count(spec.head_features, spec.num_classes)
    total = emb + rec + att + dense
    counts = {"embedding": emb, "recurrent": rec, "dense": dense, "total": total,
              "trainable": total if spec.trainable_embedding else total - emb,
              "embedding_rows_stored": spec.rows}
    if att:
        counts["attention"] = att
    return counts


def summary_table(spec: ModelSpec, seq_len: int, keras_rows: int) -> str:
    """A Keras-like model summary."""
    counts = keras_param_counts(spec, keras_rows)
    name = cells.CELLS[spec.cell].keras_name
    kind = f"Bidirectional({name})" if spec.bidirectional else name
    rows = [("embedding (Embedding)", f"(None, {seq_len}, {spec.embed_dim})", counts["embedding"],
             "yes" if spec.trainable_embedding else "no (frozen)")]
    for layer in range(spec.num_layers):
        sequences = layer < spec.num_layers - 1 or spec.pool != "last"
        shape = f"(None, {seq_len}, {spec.features})" if sequences else f"(None, {spec.features})"
        inputs = spec.embed_dim if layer == 0 else spec.features
        n = spec.directions * cells.param_count(spec.cell, inputs, spec.hidden_size)
        rows.append((f"{encoder.layer_name(spec.cell, layer)} ({kind})", shape, n, "yes"))
    if spec.pool != "last":
        what = f"{spec.pool}_pool (+words)" if spec.pool_embeddings else f"{spec.pool}_pool (over time)"
        rows.append((what, f"(None, {spec.head_features})", counts.get("attention", 0),
                     "yes" if spec.pool == "attention" else "-"))
    rows.append(("dense (Dense, softmax)", f"(None, {spec.num_classes})", counts["dense"], "yes"))
    line = "_" * 78
    out = [line, f"{'Layer (type)':<28}{'Output Shape':<20}{'Param #':>12}  {'Trainable':<14}", "=" * 78]
    for layer, shape, n, tr in rows:
        out.append(f"{layer:<27} {shape:<19} {n:>11,}  {tr:<14}")
    out += ["=" * 78, f"Total params: {counts['total']:,}",
            f"Trainable params: {counts['trainable']:,}",
            f"Non-trainable params: {counts['total'] - counts['trainable']:,}", line]
    return "\n".join(out)
