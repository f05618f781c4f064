"""GloVe text loading (txt, gz, zip), table building, the bundled vectors and bad files."""

import gzip
import zipfile

import numpy as np
import pytest

from conftest import write_glove
from ngjax.data import embeddings
from ngjax.errors import NgjaxError


def _vectors(path):
    out = {}
    for line in open(path):
        w, *v = line.rstrip("\n").split(" ")
        out[w] = np.array(v, dtype=np.float32)
    return out


def test_txt_gz_and_zip_give_the_same_vectors(tmp_path):
    txt = write_glove(str(tmp_path / "g.txt"), ["the", "cat", "sat"], 5)
    gz = tmp_path / "g.txt.gz"
    gz.write_bytes(gzip.compress(open(txt, "rb").read()))
    zp = tmp_path / "glove.6B.zip"
    with zipfile.ZipFile(zp, "w") as z:
        z.write(txt, "glove.6B.5d.txt")
        z.writestr("glove.6B.7d.txt", "x 1 2 3 4 5 6 7\n")
    ref = _vectors(txt)
    for path in (txt, str(gz), f"{zp}:glove.6B.5d.txt"):
        words, vecs = embeddings.load_glove(path)
        assert words == ["the", "cat", "sat"] and vecs.dtype == np.float32
        np.testing.assert_allclose(vecs, np.stack([ref[w] for w in words]), rtol=0, atol=0)
    assert embeddings.glove_dim(f"{zp}:glove.6B.7d.txt") == 7
    with pytest.raises(NgjaxError, match="name one as"):
        embeddings.load_glove(str(zp))  # two .txt members: ambiguous


def test_any_dimension_and_keep_filter(tmp_path):
    path = write_glove(str(tmp_path / "g.txt"), [f"w{i}" for i in range(50)], 300)
    words, vecs = embeddings.load_glove(path, keep={"w3", "w7"})
    assert words == ["w3", "w7"] and vecs.shape == (2, 300)
    assert embeddings.glove_dim(path) == 300


def test_build_matrix_rows_padding_missing_and_coverage():
    words = ["cat", "dog", "cat"]  # duplicate: the last one wins
    vecs = np.array([[1, 1], [2, 2], [3, 3]], np.float32)
    m, cov = embeddings.build_matrix(["dog", "cat", "emu"], 4, words, vecs)
    np.testing.assert_array_equal(m, [[0, 0], [2, 2], [3, 3], [0, 0]])
    assert cov == {"words": 3, "found": 2, "fraction": pytest.approx(2 / 3), "duplicates": 1}
    m2, _ = embeddings.build_matrix(["dog", "cat", "emu"], 2, words, vecs)  # num_words cut
    np.testing.assert_array_equal(m2, [[0, 0], [2, 2]])


@pytest.mark.parametrize("content,match", [
    ("", "empty"),
    ("a 1 2 3\nb 1 2\n", r"line 2 \('b'\) has 2 values, expected 3"),
    ("a 1 2 3\nb 1 x 3\n", r"line 2 \('b'\) has a value that is not a number"),
    ("a\n", "line 1 has no vector"),
])
def test_bad_files_name_the_problem(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(NgjaxError, match=match) as e:
        embeddings.load_glove(str(path))
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(NgjaxError, match="no such file"):
        embeddings.load_glove(str(tmp_path / "nope.txt"))


def test_table_is_cached(tmp_path, monkeypatch):
    path = write_glove(str(tmp_path / "g.txt"), ["a", "b"], 3)
    cache = str(tmp_path / "c")
    m1, c1 = embeddings.embedding_table(path, ["b", "a", "z"], 4, cache)
    assert c1["found"] == 2 and m1.shape == (4, 3)

    def boom(*a, **k):
        raise AssertionError("GloVe was read again")

    monkeypatch.setattr(embeddings, "load_glove", boom)
    m2, c2 = embeddings.embedding_table(path, ["b", "a", "z"], 4, cache)
    np.testing.assert_array_equal(m1, m2)
    assert c2 == c1
    with pytest.raises(AssertionError, match="read again"):  # other words: another key
        embeddings.embedding_table(path, ["a", "b", "z"], 4, cache)


def test_bundled_glove_50d():
    words, vecs = embeddings.load_bundled()
    assert vecs.shape == (400000, 50) and len(words) == 400000
    assert words[:3] == ["the", ",", "."]
    np.testing.assert_allclose(vecs[0, :3], [0.418, 0.24968, -0.41242], rtol=1e-6)
    assert embeddings.glove_dim(None) == 50
