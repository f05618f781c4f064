"""Write a finished run's report again (plots/, report.txt, samples.md): python -m ngjax.report --workdir=W

The command; its code is in ``ngjax.run.report``.
"""

from absl import logging

from ngjax import cli
from ngjax.run.report import define_flags, main

if __name__ == "__main__":
    define_flags()
    cli.run(main, logging.ERROR)  # Orbax's read-only notices are not for the user
