"""The best undistilled model, chosen on validation (last ladder step): beyond_rand128 whose head
reads max and mean pooling side by side (ULMFiT's concat pooling without the last state): 256
features, not 128. Random trainable 128-d table over 60k words, BiGRU(64), first 400 tokens
(headers kept), word dropout 0.25, dropout 0.5, Adam lr 2e-3 with clipping, batch 64, early
stopping on validation. Its 5 seeds teach the chosen model, beyond_distill_t4.

Command:  python -m ngjax.main --experiment=beyond_rand128_maxmean --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (chosen on validation; retrained with 5 seeds there).
"""

from experiments.ladder.steps.beyond_rand128 import CONFIG as BASE

CONFIG = dict(BASE, pool="maxmean")
