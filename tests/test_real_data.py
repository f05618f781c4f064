"""Real-data tests on ../shared/data/20news-bydate.tar.gz (slow: seconds to a minute each)."""

import hashlib
import json
import os

import numpy as np
import pytest

from conftest import run_main
from ngjax.data import dataset as data
from ngjax.config import Config
from ngjax.data import corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("realcache"))


def test_archive_counts_groups_and_sklearn_order(shared_archive):
    c = corpus.load_local(shared_archive)
    assert len(c.texts["train"]) == 11314 and len(c.texts["test"]) == 7532
    assert len(c.target_names) == 20 and c.target_names[0] == "alt.atheism"
    assert c.target_names[-1] == "talk.religion.misc"
    # fetch_20newsgroups(subset="train").target[:10] is known to be this
    assert c.labels["train"][:10].tolist() == [7, 4, 4, 1, 14, 16, 13, 3, 2, 4]


def test_vocabulary_134137_words_and_arrays(shared_archive, real_cache):
    ds = data.load_dataset(Config(data_dir=shared_archive), real_cache)
    assert ds.tokenizer.vocab_size == 134137  # embedding rows 134,138 in the seed's recipe
    assert ds.x_train.shape == (11314, 30) and ds.x_test.shape == (7532, 30)
    assert ds.x_train.dtype == np.int32 and ds.x_train.max() < 20000
    assert np.bincount(ds.y_train).tolist()[:3] == [480, 584, 591]
    # every token id and label, pinned: a change of tokenizer, tie order, filters or padding shows here
    h = hashlib.sha256()
    for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
        h.update(np.ascontiguousarray(a, np.int32).tobytes())
    assert h.hexdigest() == "436ec7d7926030131fc4bc04d3d61637f410b763fb92fd9be0587dccc3da8100"
    assert ds.tokenizer.words[:6] == ["the", "to", "of", "a", "'ax", "and"]


def test_real_run_of_main_writes_the_files(shared_archive, real_cache, tmp_path):
    w = str(tmp_path / "rnn50")
    r = run_main("--cell=rnn", "--seq_len=50", f"--data_dir={shared_archive}", "--epochs=1",
                 f"--workdir={w}", f"--cache_dir={real_cache}", timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.load(open(os.path.join(w, "summary.json")))
    assert s["params"]["recurrent"] == 2430 and s["params"]["dense"] == 620
    assert s["params"]["embedding"] == 134138 * 50 and s["vocab_size"] == 134137
    assert s["train_examples"] == 11314 and s["test_examples"] == 7532
    assert s["final"]["test_accuracy"] > 0.08  # better than chance (0.05) after one epoch
    assert os.path.isdir(os.path.join(w, "checkpoints", "1"))
