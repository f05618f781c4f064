"""Candidate (tried on validation, distillation): beyond_distill_t4_words with two stacked BiGRU(64)
layers (the second reads the first's sequence; the head pools the second's outputs beside the word
vectors).

Commands (the teacher file as for beyond_distill_t4):
    python -m ngjax.main --experiment=beyond_distill_t4_words_l2 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4_words import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t4_words import TEACHER  # noqa: F401 (the driver reads it)

CONFIG = dict(BASE, num_layers=2)
