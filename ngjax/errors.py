"""User-facing errors: each message is one line naming the problem and the fix."""


class NgjaxError(Exception):
    """A problem with the user's input or environment (not a bug); printed as one line."""


class InterruptedRun(NgjaxError):
    """SIGTERM/SIGINT arrived; a checkpoint was written and the run can be resumed."""


# Exit codes of `python -m ngjax.main`.
EXIT_ERROR = 1  # bad input, missing data, corrupt files...
EXIT_USAGE = 2  # bad flag values
EXIT_INTERRUPTED = 75  # EX_TEMPFAIL: interrupted, checkpoint saved, run the same command to resume
