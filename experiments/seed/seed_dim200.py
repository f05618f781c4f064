"""Seed experiment 6: as seed_lstm with 200-d GloVe vectors (needs a 200-d GloVe file).

Command:  python -m ngjax.main --experiment=seed_dim200 --data_dir=PATH/20news-bydate.tar.gz \
              --glove_path=PATH/glove.6B.200d.txt
Get the file from https://nlp.stanford.edu/projects/glove/ (glove.6B.zip holds
glove.6B.200d.txt; ``--glove_path=PATH/glove.6B.zip:glove.6B.200d.txt`` reads it in place).
Without --glove_path the run stops at once saying so (the bundled vectors are 50-d).
Seed (Keras): test accuracy 0.2658 -> 0.4819 (train loss 2.5639 -> 1.3183).
"""

from experiments import REFERENCE

CONFIG = dict(REFERENCE, cell="lstm", seq_len=30, embeddings="glove", embed_dim=200, hidden_size=30,
              epochs=50, batch_size=32)
