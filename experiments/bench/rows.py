"""The benchmark's rows: the seed's variants and the long-document workload, as Config fields
(shared by benchmark.py, profile_epoch.py, long_flops.py and device_check.py)."""

VARIANTS = {
    "seed": dict(cell="lstm", seq_len=30, embeddings="glove"),
    "seq50": dict(cell="lstm", seq_len=50, embeddings="glove"),
    "seq100": dict(cell="lstm", seq_len=100, embeddings="glove"),
    "rnn": dict(cell="rnn", seq_len=30, embeddings="glove"),
    "random_emb": dict(cell="lstm", seq_len=30, embeddings="random", embed_dim=50),
    # a different optimizer (--embedding_optimizer=lazy_adam): ngjax and PyTorch (SparseAdam on a
    # sparse Embedding) update only the batch's rows; Keras has no lazy Adam and runs dense Adam
    "random_emb_lazy": dict(cell="lstm", seq_len=30, embeddings="random", embed_dim=50,
                            embedding_optimizer="lazy_adam"),
}
# The long-document workload (../shared/PERF_NOTES.md): trainable 50-d table of 20k rows,
# Bidirectional GRU(64) (or LSTM) over 256 post-truncated tokens, global max pool, dropout 0.5,
# Dense(20), batch 64. ngjax masks padding (its pooling needs it); the peers do not. The
# *_buckets rows are the same ngjax model with --length_buckets (less padding computed); their
# peer times are those of the row they name in PEERS_FROM, measured in the same run; the *_manual
# rows add --manual_backward (the masked recurrence's hand-written backward pass) to the buckets;
# the *_directions rows add --shard=directions (each direction on its own CPU device, so on its own
# core: --cpu_devices=2); the *_distinct rows add --distinct_words to those (the input projection and
# its gradients once per distinct word of a batch, not per token).
LONG = dict(hidden_size=64, bidirectional=True, pool="max", dropout=0.5, embeddings="random", embed_dim=50,
            seq_len=256, batch_size=64, padding="post", truncating="post")
VARIANTS.update({
    "bigru256": dict(LONG, cell="gru"),
    "bigru256_buckets": dict(LONG, cell="gru", length_buckets=8),
    "bilstm256": dict(LONG, cell="lstm"),
    "bilstm256_buckets": dict(LONG, cell="lstm", length_buckets=8),
    "bigru256_manual": dict(LONG, cell="gru", length_buckets=8, recurrence="manual"),
    "bilstm256_manual": dict(LONG, cell="lstm", length_buckets=8, recurrence="manual"),
    "bigru256_directions": dict(LONG, cell="gru", length_buckets=8, recurrence="manual", shard="directions"),
    "bilstm256_directions": dict(LONG, cell="lstm", length_buckets=8, recurrence="manual", shard="directions"),
    "bigru256_distinct": dict(LONG, cell="gru", length_buckets=8, recurrence="distinct", shard="directions"),
    "bilstm256_distinct": dict(LONG, cell="lstm", length_buckets=8, recurrence="distinct", shard="directions"),
})
# The training-program rows time the reference implementation unless they name their own
REFERENCE = dict(recurrence="autodiff", shard="data")
PEERS_FROM = {"bigru256_buckets": "bigru256", "bilstm256_buckets": "bilstm256", "bigru256_manual": "bigru256",
              "bilstm256_manual": "bilstm256", "bigru256_directions": "bigru256",
              "bilstm256_directions": "bilstm256", "bigru256_distinct": "bigru256",
              "bilstm256_distinct": "bilstm256"}
PEER_TABLE = {name: "stored" for name in ("bigru256", "bilstm256")}  # 20k rows, as PERF_NOTES' peers
