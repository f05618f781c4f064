"""Classify new text with a finished run: python -m ngjax.predict --workdir=W "TEXT" ... (or --file=F, or stdin).

The command; its code is in ``ngjax.run.predict``.
"""

from absl import logging

from ngjax import cli
from ngjax.run.predict import define_flags, main

if __name__ == "__main__":
    define_flags()
    cli.run(main, logging.ERROR)  # Orbax's read-only notices are not for the user
