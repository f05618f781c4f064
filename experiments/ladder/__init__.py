"""Beyond the seed: the ablation ladder from the seed's best model to the strongest recurrent
classifier ngjax trains on 20 Newsgroups (bydate split, headers kept, as the seed).

Each ``beyond_*.py`` defines ``CONFIG``; every ladder step adds one change to the step before it,
and the candidates branch off it. All select epochs on a validation split carved from train
(``val_fraction=0.1``, ``val_seed=0``) and report the test accuracy of the best validation epoch;
``python -m experiments.ladder`` runs steps and candidates with one seed, chooses the best on
validation, trains it with 5 seeds, then tries the distilled students of that configuration
(``DISTILLED``) and writes experiments/ladder/results/beyond.md.
"""

from experiments import REFERENCE

# The ladder, in order: (name, what the step adds)
LADDER = [
    ("beyond_seed", "the seed's best model (LSTM(30), seq 100, frozen GloVe, pre-truncation)"),
    ("beyond_post", "post-truncation: keep the From/Subject/Organization headers at the top"),
    ("beyond_seq256", "256 tokens instead of 100"),
    ("beyond_finetune", "GloVe fine-tuned (a trainable table started from the vectors)"),
    ("beyond_gru64", "GRU(64) in place of LSTM(30)"),
    ("beyond_bigru", "bidirectional"),
    ("beyond_maxpool", "global max pooling over the real tokens instead of the last state"),
    ("beyond_dropout", "word dropout 0.25 and dropout 0.5 before the head"),
    ("beyond_long", "60k words, 400 tokens, lr 2e-3 with clipping, batch 64, length buckets"),
    ("beyond_rand128", "a random trainable 128-d table instead of fine-tuned GloVe 50-d"),
    ("beyond_rand128_maxmean", "max and mean pooling side by side (the best undistilled configuration on validation)"),
]

# Configurations tried on validation beside the ladder (1 seed each unless the driver is told
# otherwise); the one with the best validation accuracy, ladder or candidate, is the chosen model
# (the ladder's last step is the one that was chosen; its driver retrains it with 5 seeds).
CANDIDATES = [
    ("beyond_rand256", "beyond_long with a random trainable 256-d table"),
    ("beyond_rand128_wdrop", "beyond_rand128 with word dropout 0.5 instead of 0.25"),
    ("beyond_maxmean_cosine", "beyond_rand128_maxmean with 1 warmup epoch, then cosine decay over 12 epochs"),
    ("beyond_maxmean_wdrop", "beyond_rand128_maxmean with word dropout 0.5 instead of 0.25"),
    ("beyond_rand128_maxmean_words", "beyond_rand128_maxmean whose head also pools the word vectors (max and mean)"),
]

# Distillation (a third phase of the driver, after the chosen configuration's final seeds): each
# student is that configuration trained on the labels and on the averaged probabilities of its
# final seeds (the module's TEACHER names the configuration). Tried on validation like the
# candidates; one that beats the chosen configuration's validation accuracy becomes the chosen
# single model and is trained with the final seeds in turn.
DISTILLED = [
    ("beyond_distill_t2", "beyond_rand128_maxmean distilled from its 5-seed ensemble (weight 0.7, temperature 2)"),
    ("beyond_distill_t4", "beyond_rand128_maxmean distilled from its 5-seed ensemble (weight 0.7, temperature 4)"),
    ("beyond_distill_t8", "beyond_rand128_maxmean distilled from its 5-seed ensemble (weight 0.7, temperature 8)"),
    ("beyond_distill_del75", "beyond_rand128_maxmean distilled from its 5-seed ensemble reading the training "
     "documents with 75% of the words deleted (2 passes; weight 0.7, temperature 2)"),
    ("beyond_distill_t4_gen2", "second generation: taught by the 5-run ensemble of beyond_distill_t4 "
     "(weight 0.7, temperature 4)"),
    ("beyond_distill_t8_gen2", "second generation: taught by the 5-run ensemble of beyond_distill_t4 "
     "(weight 0.7, temperature 8)"),
    ("beyond_distill_t4_w9", "beyond_distill_t4 with the soft targets weighted 0.9 instead of 0.7"),
    ("beyond_distill_t4_h96", "beyond_distill_t4 with a wider student: BiGRU(96) instead of BiGRU(64)"),
    ("beyond_distill_t4_words", "beyond_distill_t4 whose head also pools the word vectors (max and mean) "
     "beside the BiGRU outputs"),
    ("beyond_distill_t4_words_h96", "beyond_distill_t4_words with the wider student: BiGRU(96) instead of BiGRU(64)"),
    ("beyond_distill_words_gen2", "second generation: taught by the 5-run ensemble of beyond_distill_t4_words "
     "(weight 0.7, temperature 4)"),
    ("beyond_distill_oof_t2", "beyond_distill_t4_words taught out-of-fold: each document's targets from the one of 5 "
     "cross-fitted runs of beyond_rand128_maxmean that never saw it (weight 0.7, temperature 2)"),
    ("beyond_distill_oof_t1", "beyond_distill_oof_t2 at temperature 1, weight 0.5"),
    ("beyond_distill_t4_words_l2", "beyond_distill_t4_words with two stacked BiGRU(64) layers"),
    ("beyond_distill_t4_words_wd", "beyond_distill_t4_words with decoupled weight decay 0.1 (AdamW), word vectors "
     "included"),
    ("beyond_distill_t4_words_nodrop", "beyond_distill_t4_words without word dropout: the student reads whole "
     "documents, as its teachers did when they wrote the targets (the best on validation)"),
    ("beyond_distill_mixed", "beyond_distill_t4_words_nodrop also distilled on mixed training documents (one's "
     "beginning spliced onto another's end, 2 per document, labelled by the teachers; soft term only)"),
    ("beyond_distill_mixed_lin", "beyond_distill_mixed taught also by a TF-IDF + logistic regression model of whole "
     "documents, a sixth member of equal weight beside the 5 runs"),
    ("beyond_distill_mixed_lin2", "beyond_distill_mixed_lin with the linear member at weight 1/3 instead of 1/6"),
    ("beyond_distill_mixed_gen2", "second generation: beyond_distill_mixed taught by the 5-run ensemble of "
     "beyond_distill_mixed (on training and mixed documents)"),
    ("beyond_distill_mixed_lin_gen2", "second generation: beyond_distill_mixed_lin taught by the 5-run ensemble of "
     "beyond_distill_mixed_lin and the linear member at weight 1/6"),
    ("beyond_distill_mixed_lin_ema", "beyond_distill_mixed_lin evaluated with the moving average of its weights "
     "(decay 0.998 per step, about its last epoch)"),
    ("beyond_distill_mixed_lin_mix4", "beyond_distill_mixed_lin with 4 mixed documents per training document "
     "instead of 2"),
]

# Published reference points (test accuracy, 20NG bydate unless noted).
REFERENCES = [
    ("TextGCN paper (Yao et al. 2019), LSTM", 0.6571),
    ("TextGCN paper, LSTM with pretrained vectors", 0.7543),
    ("TextGCN paper, Bi-LSTM", 0.7318),
    ("TextGCN paper, fastText", 0.7938),
    ("TextGCN paper, SWEM", 0.8516),
    ("TextGCN paper, TextGCN", 0.8634),
    ("Johnson & Zhang 2016, one-hot BiLSTM with region max pooling", 0.8668),
    ("The seed's best (Keras, LSTM seq 100, GloVe 100d)", 0.6730),
]

# What every step shares: selection on validation only, early stopping on it; and the reference
# implementation the committed numbers were made with (experiments.REFERENCE).
PROTOCOL = dict(REFERENCE, val_fraction=0.1, val_seed=0, monitor="val_accuracy")
