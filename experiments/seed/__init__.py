"""The seed study's six variants (../shared/SEED.md), one file each, and its published numbers.

Each ``seed_*.py`` defines ``CONFIG`` (Config fields); its docstring states the command and the
seed's result. ``python -m ngjax.main --experiment=seed_lstm`` runs one;
``python -m experiments.seed.table`` runs the table of them.
"""

# The seed study's published numbers (Keras, GloVe 100d): label, test accuracy after the first
# and the last (50th) epoch, final train loss.
SEED_RESULTS = {
    "seed_lstm": ("1. LSTM, seq 30, GloVe frozen", 0.2606, 0.4859, 1.3330),
    "seed_rnn": ("2. SimpleRNN, seq 30", 0.2556, 0.2546, 2.3267),
    "seed_random_emb": ("3. LSTM, random trainable embedding", 0.1895, 0.3230, 1.9216),
    "seed_seq50": ("4. LSTM, seq 50", 0.2723, 0.5826, 1.0122),
    "seed_seq100": ("5. LSTM, seq 100", 0.3440, 0.6730, 0.6649),
    "seed_dim200": ("6. LSTM, seq 30, GloVe 200d", 0.2658, 0.4819, 1.3183),
}
SEED_VARIANTS = ["seed_lstm", "seed_rnn", "seed_random_emb", "seed_seq50", "seed_seq100"]


def seed_config(name, data_dir=None, epochs=50, glove_path=None, glove200_path=None, **overrides):
    """The Config of seed experiment ``name`` with the GloVe file this machine has.

    Experiments 1, 2, 4, 5 take ``glove_path`` (None: the bundled 50d vectors) and its
    dimension; experiment 6 takes ``glove200_path``; experiment 3 uses no GloVe.
    """
    from experiments import load
    from ngjax.config import Config

    values = load(name)
    values.update(experiment=name, epochs=epochs, data_dir=data_dir, **overrides)
    if values.get("embeddings") == "glove":
        if name == "seed_dim200":
            values["glove_path"] = glove200_path
        else:
            values["glove_path"] = glove_path
            values.pop("embed_dim", None)
    return Config.from_dict(values)
