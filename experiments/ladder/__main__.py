"""``python -m experiments.ladder``: the ladder's driver (``experiments.ladder.driver``)."""

from experiments.ladder.driver import run

run()
