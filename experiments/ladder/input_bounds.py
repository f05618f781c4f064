"""What the ladder's inputs can carry: a TF-IDF + LinearSVC trained on exactly the tokens a ladder
step's network sees (its tokenizer, vocabulary and truncation), beside the same classifier on whole
documents and with e-mail addresses / host names kept as whole words.

A linear bag-of-words model is the classic strong baseline on 20 Newsgroups; if it reaches a given
accuracy from a step's token ids, that step's input holds at least that much, and what the network
falls short of it is the network's, not the input's. Same validation split and C choice as the ladder.

Command (what produced experiments/ladder/results/input_bounds.md):
    python -m experiments.ladder.input_bounds --data_dir=../shared/data/20news-bydate.tar.gz
Writes OUT.md and OUT.json.
"""

from __future__ import annotations

import re
import sys

import numpy as np
from absl import flags, logging

from experiments import drivers, load
from experiments.ladder import PROTOCOL
from ngjax import cli

if __name__ == "__main__":
    flags.DEFINE_string("data_dir", None, "20news-bydate.tar.gz or folder (default: scikit-learn download).")
    flags.DEFINE_string("cache_dir", None, "Token cache.")
    flags.DEFINE_string("out", "experiments/ladder/results/input_bounds", "Output path without extension (.md, .json).")
    flags.DEFINE_list("variants", ["beyond_post", "beyond_dropout", "beyond_long"],
                      "Ladder steps whose token ids are probed.")
    flags.DEFINE_list("svm_c", ["0.3", "1", "3"], "C values tried on validation.")
FLAGS = flags.FLAGS

# An e-mail address, or a dotted host name ending in a common top-level domain.
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:[\w-]+\.)+(?:edu|com|org|gov|net|mil|uk|ca|de|au|us|se|fi|"
                     r"nl|ch|jp)\b")


def address_words(text: str, split) -> list:
    """Keras' words of ``text`` plus each address / host kept whole as one more word."""
    text = text.lower()
    return split(text) + ADDRESS.findall(text)


def _bag(x: np.ndarray, vocab: int):
    """Padded id rows -> sparse counts (id 0, padding, dropped)."""
    import scipy.sparse as sp

    rows, cols = np.nonzero(x)
    return sp.csr_matrix((np.ones(len(rows)), (rows, x[rows, cols])), shape=(x.shape[0], vocab))


def fit_svm(train, val, test, cs) -> dict:
    """TF-IDF (sublinear tf) + LinearSVC on count matrices; C chosen on validation."""
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.svm import LinearSVC

    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = train, val, test
    tfidf = TfidfTransformer(sublinear_tf=True).fit(x_tr)
    x_tr, x_va, x_te = (tfidf.transform(m) for m in (x_tr, x_va, x_te))
    tried = []
    for c in cs:
        clf = LinearSVC(C=float(c)).fit(x_tr, y_tr)
        tried.append((float((clf.predict(x_va) == y_va).mean()), float(c), clf))
    val, c, clf = max(tried, key=lambda t: (t[0], -t[1]))
    return {"val": val, "C": c, "test": float((clf.predict(x_te) == y_te).mean()), "features": int(x_tr.shape[1]),
            "tried": [(cc, v) for v, cc, _ in tried]}


def probe_variant(name: str, cs) -> dict:
    from ngjax.config import Config
    from ngjax.data.dataset import load_dataset

    cfg = Config.from_dict(dict(load(name), data_dir=FLAGS.data_dir))
    ds = load_dataset(cfg, FLAGS.cache_dir)
    vocab = min(cfg.num_words, ds.tokenizer.vocab_size + 1)
    parts = [(_bag(x, vocab), y) for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test))]
    out = fit_svm(*parts, cs)
    return dict(out, input=f"{name}'s token ids ({cfg.num_words:,} words, first {cfg.seq_len} tokens, "
                            f"truncating={cfg.truncating})")


def text_svm(data_dir, val_fraction: float, val_seed: int, cs, analyzer=None) -> dict:
    """TF-IDF + LinearSVC on raw texts (headers kept; ``analyzer``: text -> words, default
    scikit-learn's word pattern), trained on the split's train part; C chosen on its validation."""
    from sklearn.feature_extraction.text import CountVectorizer

    from ngjax.data.corpus import load_corpus
    from ngjax.data.dataset import split_indices

    corpus = load_corpus(data_dir)
    texts, labels = corpus.texts["train"], corpus.labels["train"]
    tr, va = split_indices(labels, val_fraction, val_seed)
    vec = CountVectorizer(**({"analyzer": analyzer} if analyzer else {})).fit([texts[i] for i in tr])
    parts = [(vec.transform([texts[i] for i in idx]), labels[idx]) for idx in (tr, va)]
    parts.append((vec.transform(corpus.texts["test"]), corpus.labels["test"]))
    return dict(fit_svm(*parts, cs), val_documents=len(va), test_documents=len(corpus.labels["test"]))


def probe_texts(label: str, analyzer, cs) -> dict:
    return dict(text_svm(FLAGS.data_dir, PROTOCOL["val_fraction"], PROTOCOL["val_seed"], cs, analyzer), input=label)


def main(argv):
    from experiments import available
    from ngjax.config import ConfigError
    from ngjax.data.tokenizer import Tokenizer

    unknown = [n for n in FLAGS.variants if n not in available()]
    if unknown:
        raise ConfigError(f"--variants: unknown {unknown}; choose from {', '.join(available())}")
    split = Tokenizer().text_to_word_sequence
    rows = [probe_variant(name, FLAGS.svm_c) for name in FLAGS.variants]
    rows.append(probe_texts("whole documents, every training word (Keras' word splitting)", split, FLAGS.svm_c))
    rows.append(probe_texts("whole documents, every training word, addresses and hosts also kept whole",
                            lambda t: address_words(t, split), FLAGS.svm_c))
    lines = [f"# What the inputs carry: TF-IDF + LinearSVC on the networks' tokens\n\nCommand: "
             f"`{drivers.command('experiments.ladder.input_bounds')}`\n\nSame validation split as the ladder "
             f"(fraction {PROTOCOL['val_fraction']}, seed {PROTOCOL['val_seed']}); C chosen on validation.\n",
             "| input | features | C | val acc | test acc |", "|---|---|---|---|---|"]
    lines += [f"| {r['input']} | {r['features']:,} | {r['C']:g} | {r['val']:.4f} | {r['test']:.4f} |" for r in rows]
    md = "\n".join(lines) + "\n"
    drivers.write_results(FLAGS.out, md, {"rows": rows, "command": sys.argv[1:]})
    print(md)
    return 0


if __name__ == "__main__":
    cli.run(main, logging.WARNING)  # bad input: one "error:" line and a non-zero exit
