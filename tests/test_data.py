"""20 Newsgroups reading, scikit-learn order, header stripping, validation split, token cache."""

import os
import tarfile

import numpy as np
import pytest

from conftest import GROUPS, write_corpus
from ngjax.data import dataset as data
from ngjax.config import Config
from ngjax.errors import NgjaxError
from ngjax.data import corpus


def test_local_folder_reads_groups_and_counts(corpus_dir):
    c = corpus.load_local(corpus_dir)
    assert c.target_names == GROUPS
    assert len(c.texts["train"]) == 60 and len(c.texts["test"]) == 24
    assert np.bincount(c.labels["train"]).tolist() == [20, 20, 20]


def test_order_matches_scikit_learn_load_files_then_fetch(corpus_dir):
    """Same order as sklearn: load_files(shuffle, rs=0) then fetch_20newsgroups(shuffle, rs=42)."""
    from sklearn.datasets import load_files

    b = load_files(os.path.join(corpus_dir, "20news-bydate-train"), encoding="latin1")
    idx = np.arange(len(b.data))
    np.random.RandomState(42).shuffle(idx)
    c = corpus.load_local(corpus_dir)
    assert c.texts["train"] == [b.data[i] for i in idx]
    np.testing.assert_array_equal(c.labels["train"], b.target[idx])


def test_archive_equals_folder(corpus_dir, tmp_path):
    arch = str(tmp_path / "20news-bydate.tar.gz")
    with tarfile.open(arch, "w:gz") as t:
        for sub in ("20news-bydate-train", "20news-bydate-test"):
            t.add(os.path.join(corpus_dir, sub), arcname=sub)
    a, f = corpus.load_local(arch), corpus.load_local(corpus_dir)
    assert a.texts == f.texts and a.target_names == f.target_names
    np.testing.assert_array_equal(a.labels["test"], f.labels["test"])


def test_latin1_bytes_are_read(tmp_path):
    root = write_corpus(str(tmp_path / "c"), n_train=1, n_test=1)
    path = os.path.join(root, "20news-bydate-train", GROUPS[0], "1000")
    with open(path, "wb") as f:
        f.write(b"caf\xe9 na\xefve")
    texts = corpus.load_local(root).texts["train"]
    assert "café naïve" in texts


def test_remove_headers_uses_scikit_learn_strippers(corpus_dir):
    kept = corpus.load_corpus(corpus_dir)
    stripped = corpus.load_corpus(corpus_dir, ("headers",))
    assert all(t.startswith("From:") for t in kept.texts["train"])
    assert not any("From:" in t or "Subject:" in t for t in stripped.texts["train"])


def test_missing_and_bad_data_dir_errors(tmp_path):
    with pytest.raises(NgjaxError, match="no such file or folder"):
        corpus.load_local(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(NgjaxError, match="no documents under"):
        corpus.load_local(str(tmp_path / "empty"))
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not an archive")
    with pytest.raises(NgjaxError, match="cannot read the archive"):
        corpus.load_local(str(bad))


def test_dataset_shapes_dtypes_and_padding(corpus_dir, cache_dir):
    ds = data.load_dataset(Config(data_dir=corpus_dir, seq_len=40), cache_dir)
    assert ds.x_train.shape == (60, 40) and ds.x_train.dtype == np.int32
    assert ds.x_test.shape == (24, 40) and ds.y_train.dtype == np.int32
    assert ds.x_val is None
    # docs have ~30 tokens < 40: pre-padding puts zeros first and words last
    assert (ds.x_train[:, 0] == 0).all() and (ds.x_train[:, -1] != 0).all()
    post = data.load_dataset(Config(data_dir=corpus_dir, seq_len=40, padding="post"), cache_dir)
    assert (post.x_train[:, 0] != 0).all() and (post.x_train[:, -1] == 0).all()


def test_tokenizer_is_fit_on_train_only(tmp_path, cache_dir):
    root = write_corpus(str(tmp_path / "c"), n_train=2, n_test=2)
    path = os.path.join(root, "20news-bydate-test", GROUPS[0], "1000")
    with open(path, "w") as f:
        f.write("zzztestonlyword")
    ds = data.load_dataset(Config(data_dir=root), cache_dir)
    assert "zzztestonlyword" not in ds.tokenizer.word_index


def test_validation_split_is_stratified_seeded_and_disjoint(corpus_dir, cache_dir):
    cfg = Config(data_dir=corpus_dir, val_fraction=0.25, val_seed=3)
    ds = data.load_dataset(cfg, cache_dir)
    assert ds.x_val.shape[0] == 15 and ds.x_train.shape[0] == 45
    assert np.bincount(ds.y_val).tolist() == [5, 5, 5]  # stratified
    again = data.load_dataset(cfg, cache_dir + "2")
    np.testing.assert_array_equal(ds.x_val, again.x_val)
    other = data.load_dataset(cfg.replace(val_seed=4), cache_dir)
    assert not np.array_equal(ds.x_val, other.x_val)


def test_cache_hit_skips_tokenising_and_options_change_the_key(corpus_dir, cache_dir, monkeypatch):
    cfg = Config(data_dir=corpus_dir)
    first = data.load_dataset(cfg, cache_dir)
    calls = []
    real = data._tokenize
    monkeypatch.setattr(data, "_tokenize", lambda c: calls.append(c) or real(c))
    second = data.load_dataset(cfg.replace(seq_len=12), cache_dir)  # padding only: cache hit
    assert calls == []
    np.testing.assert_array_equal(second.x_train, first.x_train[:, -12:])
    for change in (dict(num_words=5), dict(remove=("headers",)), dict(val_fraction=0.2)):
        data.load_dataset(cfg.replace(**change), cache_dir)
    assert len(calls) == 3  # each option that changes token ids missed the cache
    assert len({data.cache_key(cfg.replace(**c)) for c in
                (dict(), dict(num_words=5), dict(remove=("headers",)), dict(val_fraction=0.2))}) == 4


def test_corrupt_cache_is_rebuilt(corpus_dir, cache_dir):
    cfg = Config(data_dir=corpus_dir)
    good = data.load_dataset(cfg, cache_dir)
    path = os.path.join(cache_dir, f"tokens-{data.cache_key(cfg)}.npz")
    with open(path, "wb") as f:
        f.write(b"garbage")
    np.testing.assert_array_equal(data.load_dataset(cfg, cache_dir).x_train, good.x_train)
