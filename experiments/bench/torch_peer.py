"""PyTorch as a peer: ngjax's models as ``torch.nn`` modules on the same token arrays, timed for an
epoch (and its test evaluation); on a GPU ``torch.nn.LSTM`` / ``GRU`` run cuDNN's kernels. Used by
benchmark.py and device_check.py."""

from __future__ import annotations

import time

import numpy as np


def time_epochs(run_epoch, repeats):
    """(first epoch seconds, [warm epoch seconds])."""
    t = time.perf_counter()
    run_epoch()
    first = time.perf_counter() - t
    warm = []
    for _ in range(repeats):
        t = time.perf_counter()
        run_epoch()
        warm.append(time.perf_counter() - t)
    return first, warm


# What ngjax.main evaluates at once (--eval_batch_size's default): PyTorch's evaluation gets the same
TORCH_EVAL_BATCH = 1024


def bench_torch(prep, repeats, table="keras", evaluate=False):
    """PyTorch's training loop for one epoch; ``evaluate``: then the test set's loss and accuracy
    (``torch.no_grad``, dropout off, TORCH_EVAL_BATCH documents at a time)."""
    import torch

    from experiments.bench.keras_peer import full_table

    torch.manual_seed(0)
    vectors, rows, dim = full_table(prep, table)
    spec = prep.spec
    lazy = prep.cfg.embedding_optimizer == "lazy_adam"

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(rows, dim, sparse=lazy)
            if vectors is not None:
                self.emb.weight.data.copy_(torch.from_numpy(vectors))
                self.emb.weight.requires_grad_(spec.trainable_embedding)
            cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[spec.cell]
            self.rnn = cls(dim, spec.hidden_size, num_layers=spec.num_layers, batch_first=True,
                           bidirectional=spec.bidirectional)
            self.drop = torch.nn.Dropout(spec.dropout)
            self.out = torch.nn.Linear(spec.features, spec.num_classes)

        def forward(self, t):
            seq, h = self.rnn(self.emb(t))
            if spec.pool == "max":
                feats = seq.max(dim=1).values
            elif spec.pool == "mean":
                feats = seq.mean(dim=1)
            else:
                h = h[0] if isinstance(h, tuple) else h
                feats = torch.cat([h[-2], h[-1]], -1) if spec.bidirectional else h[-1]
            return self.out(self.drop(feats))

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    net = Net().to(dev)
    dense = [p for n, p in net.named_parameters() if p.requires_grad and not (lazy and n.startswith("emb."))]
    opts = [torch.optim.Adam(dense, lr=1e-3, eps=1e-7)]
    if lazy:
        opts.append(torch.optim.SparseAdam(list(net.emb.parameters()), lr=1e-3, eps=1e-7))
    x = torch.from_numpy(prep.data.x_train.astype(np.int64)).to(dev)
    y = torch.from_numpy(prep.data.y_train.astype(np.int64)).to(dev)
    bs = prep.cfg.batch_size

    xt = torch.from_numpy(prep.data.x_test.astype(np.int64)).to(dev)
    yt = torch.from_numpy(prep.data.y_test.astype(np.int64)).to(dev)

    def test():
        net.eval()
        loss = correct = 0.0
        with torch.no_grad():
            for i in range(0, xt.shape[0], TORCH_EVAL_BATCH):
                logits = net(xt[i:i + TORCH_EVAL_BATCH])
                target = yt[i:i + TORCH_EVAL_BATCH]
                loss += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
                correct += float((logits.argmax(-1) == target).sum())
        net.train()
        return loss / xt.shape[0], correct / xt.shape[0]

    def run():
        perm = torch.randperm(x.shape[0], device=dev)
        for i in range(0, x.shape[0], bs):
            idx = perm[i:i + bs]
            for opt in opts:
                opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            for opt in opts:
                opt.step()
        if evaluate:
            test()
        if dev == "cuda":
            torch.cuda.synchronize()

    return time_epochs(run, repeats)
