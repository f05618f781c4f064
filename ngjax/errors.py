"""User-facing errors: each message is one line naming the problem and the fix."""


class NgjaxError(Exception):
    """A problem with the user's input or environment (not a bug); printed as one line."""


class InterruptedRun(NgjaxError):
    """SIGTERM/SIGINT arrived; a checkpoint was written and the run can be resumed."""


# Exit codes of `python -m ngjax.main`.
EXIT_ERROR = 1  # bad input, missing data, corrupt files...
EXIT_USAGE = 2  # bad flag values
EXIT_INTERRUPTED = 75  # EX_TEMPFAIL: interrupted, checkpoint saved, run the same command to resume


_OS_FIXES = {
    "EROFS": "the file system is read-only: choose a --workdir / --cache_dir / --out on a writable disk",
    "ENOSPC": "the disk is full: free some space, or choose a --workdir / --cache_dir / --out on another disk",
    "EDQUOT": "the disk quota is used up: free some space, or choose another disk",
    "EACCES": "permission denied: choose a folder you can write, or change its permissions",
    "EPERM": "permission denied: choose a folder you can write, or change its permissions",
    "ENOTDIR": "a part of the path is a file, not a folder: choose another path",
    "EISDIR": "the path is a folder, not a file: choose another path",
}


def describe_os_error(e: OSError) -> str:
    """One line for a file-system error: the path, what went wrong, and the fix."""
    import errno

    where = e.filename if e.filename is not None else "a file"
    what = e.strerror or str(e)
    fix = _OS_FIXES.get(errno.errorcode.get(e.errno or 0, ""), "check the path, its permissions and the free space")
    return f"cannot use {where}: {what}; {fix}"
