"""The sequence encoder: embedding lookup (and word dropout), then N recurrent layers, each one or
two directions, each a cell scanned over time.

Directions and layers are the encoder's business, not the cells'. The input projection
``x @ kernel + bias`` for all time steps is one matmul before the scan; only the recurrent
product and the gates stay in the sequential loop. A bidirectional layer runs both directions in
**one** scan (the two cells vmapped over a direction axis): one dependent chain instead of two.

Masks: with ``spec.masked`` (``--mask_padding``, and always for bidirectional layers and pooled
heads) a step on token 0 leaves the carry unchanged, whatever the padding side; so the forward
pass ends at each document's last real token and the backward pass starts there, and a document
gives the same features padded pre, post or not at all. With ``spec.manual_backward`` a masked
layer's scan is ``ngjax.model.recurrence.scan`` instead: the same forward values, and a hand-written
backward pass in place of ``jax.grad`` of the scan. That path lays its arrays out direction-major
([D, T, B, ...]; ``_manual``), the ``jax.grad`` path time-major ([T, D, B, ...], what ``lax.scan``
slices); the latter is kept as it is so that runs trained with it reproduce bit for bit.

Directions on two devices (``--shard=directions``, ``spec.direction_mesh``): a bidirectional layer
runs its forward direction on one device and its backward direction on the other (``shard_map``
over the mesh axis ``DIRECTIONS``), each reading the layer's (replicated) input in its own order
(with ``spec.manual_backward`` the backward device's loops index time from the end: no reversed
copies), so the two dependent chains run side by side. A pooled head that treats every feature on its own
(max, mean, maxmean) pools each direction where it was computed and only the pooled vectors
travel; otherwise the sequences are gathered. The gradient of the shared input is summed over the
two devices. Same math as one device (a mean pool sums one direction's positions in reverse).

A batch's distinct words (``--distinct_words``, ``spec.distinct_words``): words repeat within a
batch (a 256-token batch of 64 documents holds ~3,800 distinct ids in 16,384 positions), so the first
layer projects each distinct word's vector once, ``[U, E] @ [E, G*H]``, and gathers the result back to
the positions (``Words``); autodiff's transpose of that gather sums the positions' gradients per word,
so the kernel's and the vectors' gradients are ``U``-row products too. ``U`` is a static bound per
training batch shape; ``lax.cond`` sends a batch with more distinct words down the per-token path.
"""

from __future__ import annotations

import functools
from typing import Callable, Dict, NamedTuple, Optional

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec as P

from ngjax.model import cells, recurrence

EMBED_DROPOUT, OUTPUT_DROPOUT = 0, 1  # streams folded into a step's dropout key
DIRECTIONS = "directions"  # the mesh axis of --shard=directions


def layer_name(cell: str, layer: int) -> str:
    """Params key of recurrent layer ``layer``: ``lstm``, ``lstm_1``, ... (Keras' naming)."""
    return cell if layer == 0 else f"{cell}_{layer}"


def embed(params: Dict[str, Dict[str, jax.Array]], tokens: jax.Array, dtype: str = "float32") -> jax.Array:
    """tokens: int32[batch, T] -> [batch, T, E] in ``dtype`` (the table's rows, cast: --dtype)."""
    rows = jnp.take(params["embedding"]["table"], tokens, axis=0)
    return rows if dtype == "float32" else rows.astype(dtype)


class Words(NamedTuple):
    """The first layer's input as a batch's distinct words (``--distinct_words``): ``rows``
    float32[U, E] their vectors; ``where`` int32[B, T] (direction-major in ``_manual``: [D, T, B])
    each position's row; ``scale`` word dropout's factor per position, float32[B, T, 1] ([D, T, B, 1]),
    or None. The position's vector is ``rows[where] * scale``."""
    rows: jax.Array
    where: jax.Array
    scale: Optional[jax.Array] = None


def distinct(tokens: jax.Array, bound: int, rows: int):
    """(words int32[bound], where int32[B, T], count): the batch's distinct ids ascending (then 0s),
    each token's index into them, and how many there are (the rest of ``words`` is filler; with
    count > bound, ``where`` points past it). Through a ``rows``-long presence vector: no sort.
    (``optim.batch_rows`` lists a batch's ids too, for lazy Adam: all of them, at the full size
    B * T + 1, with its padding-slot contract; this one exists for the bound.)"""
    present = jnp.zeros((rows,), jnp.int32).at[tokens.reshape(-1)].set(1)
    pos = jnp.cumsum(present) - 1
    words = jnp.zeros((bound,), jnp.int32).at[jnp.where(present > 0, pos, bound)].set(
        jnp.arange(rows, dtype=jnp.int32), mode="drop")
    return words, pos[tokens], pos[-1] + 1


def dropout(rng: jax.Array, x: jax.Array, rate: float, shape=None) -> jax.Array:
    """Inverted dropout: zero with probability ``rate``, scale the rest by 1 / (1 - rate)."""
    keep = jax.random.bernoulli(rng, 1.0 - rate, shape or x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)


def encode(params, tokens: jax.Array, spec, rng: Optional[jax.Array] = None,
           pool: Optional[Callable] = None, per_feature: bool = False):
    """tokens: int32[batch, T] -> (outputs, mask).

    ``outputs`` is the last layer's final state float32[batch, D*H] when the head reads the last
    state (``spec.pool == "last"``), else its whole sequence float32[batch, T, D*H] (with
    ``spec.pool_embeddings`` the word vectors, after word dropout, concatenated: [batch, T, D*H+E]); ``mask`` is
    bool[batch, T] (True on real tokens) or None. ``rng`` (training only) drives word dropout:
    whole word vectors dropped with probability ``spec.embed_dropout``.

    ``pool`` (sequence [B, T, F], mask -> [B, k*F]), if given, is applied to that sequence and
    ``outputs`` is its result. ``per_feature``: it treats every feature on its own, k blocks of F
    (max, mean, maxmean), so with the directions on two devices each direction is pooled where it
    was computed.
    """
    drop = rng is not None and spec.embed_dropout > 0
    key = jax.random.fold_in(rng, EMBED_DROPOUT) if drop else None

    def dense():
        x = embed(params, tokens, spec.dtype)  # [B, T, E]
        return dropout(key, x, spec.embed_dropout, x.shape[:2] + (1,)) if drop else x

    mask = tokens != 0 if spec.masked else None
    bound = _distinct_bound(spec, tokens.shape)
    x = dense() if bound is None or spec.pool_embeddings else None
    words = x
    for layer in range(spec.num_layers):
        last = layer == spec.num_layers - 1
        sequences = not last or spec.pool != "last"
        p = params[layer_name(spec.cell, layer)]
        apart = None
        if spec.bidirectional and spec.direction_mesh is not None:
            apart = pool if last and per_feature and pool is not None else None
        run = functools.partial(_layer, p, mask=mask, spec=spec, sequences=sequences, pool=apart)
        if layer == 0 and bound is not None:  # each distinct word projected once; a batch with more: per token
            ids, where, count = distinct(tokens, bound, params["embedding"]["table"].shape[0])
            scale = dropout(key, jnp.ones(tokens.shape + (1,), spec.dtype), spec.embed_dropout) if drop else None
            rows = embed(params, ids, spec.dtype)
            vectors = x  # None unless the word vectors are pooled too
            x = jax.lax.cond(count <= bound, lambda: run(Words(rows, where, scale)),
                             lambda: run(dense() if vectors is None else vectors))
        else:
            x = run(x)
        if apart is not None:  # (the word vectors pooled here, their blocks beside the directions')
            return (_beside(x, apart(words, mask), 2 * spec.hidden_size) if spec.pool_embeddings else x), mask
    if spec.pool_embeddings:  # the word vectors ride beside the outputs into the pooling
        x = jnp.concatenate([x, words], axis=-1)
    return (x if pool is None else pool(x, mask)), mask


def _beside(pooled: jax.Array, words: jax.Array, width: int) -> jax.Array:
    """Per-feature pooling blocks of the outputs (``width`` features each, [B, k*width]) and of the word
    vectors ([B, k*E]) laid out as pooling their concatenation [B, T, width+E] lays them out."""
    b, k = pooled.shape[0], pooled.shape[1] // width
    return jnp.concatenate([pooled.reshape(b, k, width), words.reshape(b, k, -1)], axis=-1).reshape(b, -1)


def _distinct_bound(spec, shape) -> Optional[int]:
    """--distinct_words' bound on a batch of ``shape``'s distinct words, or None (project per token)."""
    if not spec.manual_backward:  # Words go to the hand-written path only
        return None
    return {(b, t): u for b, t, u in spec.distinct_words}.get(tuple(shape))


def _layer(p, x, *, mask, spec, sequences: bool, pool: Optional[Callable]):
    """One layer on x float32[B, T, In] (or ``Words``), its directions as the spec says."""
    if spec.bidirectional and spec.direction_mesh is not None:
        return _split_directions(p, x, mask, spec, sequences, pool)
    if spec.bidirectional:
        return _bidirectional(p, x, mask, spec, sequences)
    return _forward(p, x, mask, spec, sequences)


def _directions_major(x, flips):
    """x [B, T, ...] (or ``Words``) -> [D, T, B, ...], direction d time-reversed where ``flips[d]``."""
    def one(a):
        t = jnp.swapaxes(a, 0, 1)
        return jnp.stack([t[::-1] if flip else t for flip in flips])
    if isinstance(x, Words):
        return Words(x.rows, one(x.where), None if x.scale is None else one(x.scale))
    return one(x)


def _forward(p, x: jax.Array, mask, spec, sequences: bool, reverse=0) -> jax.Array:
    """One direction: x float32[B, T, In] -> [B, T, H] (sequences) or the final h [B, H].
    ``reverse`` (masked, hand-written backward pass only; 0, 1 or a traced int32): read time from the
    end, the states still in time order (so the final state is the first)."""
    if mask is not None and spec.manual_backward:  # one direction: D = 1, direction-major
        one = jax.tree_util.tree_map(lambda a: a[None], p)
        ys = _manual(one, _directions_major(x, (False,)), mask.T[None, :, :, None], spec, reverse)[0]
        if sequences:
            return jnp.swapaxes(ys, 0, 1)
        return ys[-1] if isinstance(reverse, int) and not reverse else jnp.where(reverse == 1, ys[0], ys[-1])
    xw = jnp.einsum("bte,eg->tbg", x, p["kernel"]) + cells.input_bias(spec.cell, p)  # time-major [T, B, G*H]
    step = cells.CELLS[spec.cell].step
    carry = cells.initial_carry(spec.cell, x.shape[0], spec.hidden_size, x.dtype)
    if mask is not None:
        def body(carry, inp):
            xw_t, m_t = inp
            new, _ = step(p, carry, xw_t)
            carry = tuple(jnp.where(m_t, n, o) for n, o in zip(new, carry))
            return carry, (carry[0] if sequences else None)

        carry, ys = jax.lax.scan(body, carry, (xw, mask.T[:, :, None]), unroll=spec.unroll)
    else:
        def body(carry, xw_t):
            carry, h = step(p, carry, xw_t)
            return carry, (h if sequences else None)

        carry, ys = jax.lax.scan(body, carry, xw, unroll=spec.unroll)
    return jnp.swapaxes(ys, 0, 1) if sequences else carry[0]


def _bidirectional(p, x: jax.Array, mask, spec, sequences: bool) -> jax.Array:
    """Both directions in one scan: x float32[B, T, In] -> [B, T, 2H] or [B, 2H] (forward, backward)."""
    both = jax.tree_util.tree_map(lambda f, b: jnp.stack([f, b]), p["forward"], p["backward"])
    m = mask.T[:, :, None]  # [T, B, 1]
    if spec.manual_backward:  # direction-major (ngjax.model.recurrence): reverse the narrow inputs, not xw
        xd = _directions_major(x, (False, True))  # [2, T, B, In]: the backward direction reads time reversed
        ys = _manual(both, xd, jnp.stack([m, m[::-1]]), spec)  # [2, T, B, H]
        if not sequences:
            return jnp.concatenate([ys[0, -1], ys[1, -1]], axis=-1)
        out = jnp.concatenate([ys[0], ys[1, ::-1]], axis=-1)  # [T, B, 2H], backward back in time order
        return jnp.swapaxes(out, 0, 1)
    bias = jax.vmap(lambda q: cells.input_bias(spec.cell, q))(both)  # [2, G*H]
    xw = jnp.einsum("bte,deg->tdbg", x, both["kernel"]) + bias[None, :, None, :]  # [T, 2, B, G*H]
    xw = jnp.stack([xw[:, 0], xw[::-1, 1]], axis=1)  # the backward direction reads time reversed
    m = jnp.stack([m, m[::-1]], axis=1)  # [T, 2, B, 1]
    step = jax.vmap(cells.CELLS[spec.cell].step)  # over the direction axis of params, carry, input
    zeros = jnp.zeros((2, x.shape[0], spec.hidden_size), x.dtype)
    carry = (zeros,) * cells.CELLS[spec.cell].carry

    def body(carry, inp):
        xw_t, m_t = inp
        new, _ = step(both, carry, xw_t)
        carry = tuple(jnp.where(m_t, n, o) for n, o in zip(new, carry))
        return carry, (carry[0] if sequences else None)

    carry, ys = jax.lax.scan(body, carry, (xw, m), unroll=spec.unroll)
    final = carry[0]
    if not sequences:
        return jnp.concatenate([final[0], final[1]], axis=-1)
    out = jnp.concatenate([ys[:, 0], ys[::-1, 1]], axis=-1)  # [T, B, 2H], backward back in time order
    return jnp.swapaxes(out, 0, 1)


def _split_directions(p, x: jax.Array, mask, spec, sequences: bool, pool: Optional[Callable]) -> jax.Array:
    """A bidirectional layer with its directions on the two devices of ``spec.direction_mesh``:
    x float32[B, T, In] -> [B, T, 2H] (sequences), [B, 2H] (final states) or, with ``pool`` (a
    per-feature pooling, k blocks of H per direction), [B, 2kH] laid out as pooling [B, T, 2H] would."""
    def one(p, x, mask):  # on each device: its own direction's params, its own reading order
        backward = jax.lax.axis_index(DIRECTIONS) == 1
        q = jax.tree_util.tree_map(lambda f, b: jnp.where(backward, b, f), p["forward"], p["backward"])
        if spec.manual_backward:  # the loops read time backward: no reversed copies, states in time order
            ys = _forward(q, x, mask, spec, sequences or pool is not None, backward.astype(jnp.int32))
            return (ys if pool is None else pool(ys, mask))[None]
        flip = lambda a: jnp.where(backward, a[:, ::-1], a)  # the backward direction reads time reversed
        xs, ms = flip(x), flip(mask)
        ys = _forward(q, xs, ms, spec, sequences or pool is not None)
        if pool is not None:
            return pool(ys, ms)[None]  # [1, B, kH]
        return (flip(ys) if sequences else ys)[None]  # back in time order

    # everything goes in replicated (each device picks its direction: no resharding of a stacked copy),
    # so the gradients of the params and of x are summed over the two devices in the backward pass
    out = jax.shard_map(one, mesh=spec.direction_mesh, in_specs=(P(), P(), P()),
                        out_specs=P(DIRECTIONS), check_vma=False)(p, x, mask)
    # gathered once, here: what follows (the head, the loss) then runs on both devices without a
    # collective of its own (split, the dense layer cost several small ones per step)
    out = jax.lax.with_sharding_constraint(out, NamedSharding(spec.direction_mesh, P()))
    if pool is not None:  # [2, B, kH] -> [B, k, 2, H] -> [B, 2kH]: each block's forward then backward half
        n, b = out.shape[-1] // spec.hidden_size, out.shape[1]
        out = out.reshape(2, b, n, spec.hidden_size).transpose(1, 2, 0, 3)
        return out.reshape(b, -1)
    return jnp.concatenate([out[0], out[1]], axis=-1)


def _manual(stacked, x: jax.Array, m: jax.Array, spec, reverse=0) -> jax.Array:
    """The masked layer with the hand-written backward pass of its recurrence (``--manual_backward``,
    ngjax.model.recurrence), direction-major: ``stacked`` holds D directions' params on a leading axis;
    x [D, T, B, In] (each direction in its reading order; with ``reverse``, the loop reads time from
    the end), m [D, T, B, 1] -> the states [D, T, B, H], in the order of x. The input projection
    (``recurrence.project``, its gradients written out too) contracts one merged (time, batch) axis:
    with two contracted axes its gradient made XLA transpose both operands."""
    if isinstance(x, Words):  # each distinct word's projection once, gathered per position
        D = x.where.shape[0]
        per_word = recurrence.project(jnp.broadcast_to(x.rows, (D,) + x.rows.shape), stacked["kernel"])
        xw = jax.vmap(lambda a, w: a[w])(per_word, x.where)  # [D, T, B, G*H]
        xw = xw if x.scale is None else xw * x.scale
    else:
        D, T, B, _ = x.shape
        xw = recurrence.project(x.reshape(D, T * B, -1), stacked["kernel"]).reshape(D, T, B, -1)
    return recurrence.scan(spec.cell, stacked["recurrent_kernel"], stacked["bias"], xw, m, spec.unroll, reverse)
