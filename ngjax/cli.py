"""The command line, shared by every entry point: absl flags generated from the Config fields,
flags -> Config (an ``--experiment`` supplies defaults, flags given on the command line win), and
one way to run a ``main`` that turns ngjax's errors into one line and an exit code.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import typing
from typing import Callable, Optional

from absl import app, flags, logging

from ngjax.config import (FIELDS, RECURRENCE_ALIASES, SECTION_OF, SECTIONS, Config, ConfigError, normalize_remove,
                          upgrade, validate)
from ngjax.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, InterruptedRun, NgjaxError, describe_os_error

FLAGS = flags.FLAGS


def _kind(field: dataclasses.Field):
    hint = typing.get_type_hints(Config)[field.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is tuple:
        return "list"
    base = args[0] if typing.get_origin(hint) is typing.Union else hint
    return {str: "string", int: "integer", float: "float", bool: "boolean"}[base]


def define_config_flags(names: Optional[list] = None, flag_values=FLAGS) -> None:
    """One absl flag per Config field (or per name in ``names``), with the field's default, help and
    choices. Values are checked by ``config.validate`` (one line, exit code 2), not by absl."""
    define = {"string": flags.DEFINE_string, "integer": flags.DEFINE_integer, "float": flags.DEFINE_float,
              "boolean": flags.DEFINE_boolean, "list": flags.DEFINE_list}
    for name in names or list(FIELDS):
        field = FIELDS[name]
        meta = field.metadata
        text = meta["help"] + (f" One of: {', '.join(meta['choices'])}." if meta["choices"] else "")
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        define[_kind(field)](name, default, text, flag_values=flag_values, module_name=SECTION_OF[name])
    if names is None or "recurrence" in names:  # the old names, so that old commands keep working
        for name, value in RECURRENCE_ALIASES:
            flags.DEFINE_boolean(name, None, f"Old name of --recurrence={value}.", flag_values=flag_values,
                                 module_name="speed")


def config_from_flags(flag_values=FLAGS) -> Config:
    """The validated Config of the command line (ConfigError names the first bad flag)."""
    values = {}
    experiment = flag_values["experiment"].value
    if experiment:
        from ngjax import variants

        values.update(variants.load(experiment))
        values["experiment"] = experiment
    for name in FIELDS:
        if name == "experiment":
            continue
        if flag_values[name].present or name not in values:
            values[name] = flag_values[name].value
    old = {name: flag_values[name].value for name, _ in RECURRENCE_ALIASES
           if name in flag_values and flag_values[name].present}
    if old:  # --manual_backward / --distinct_words given: they override an --experiment's --recurrence
        given = flag_values["recurrence"].value if flag_values["recurrence"].present else None
        values["recurrence"] = upgrade({**old, "recurrence": given})["recurrence"]
    values["remove"] = normalize_remove(values.get("remove"))
    return validate(Config.from_dict(values))


def folder_flag(name: str, value: Optional[str]) -> Optional[str]:
    """A folder flag's value; given but empty (``--workdir=``) is a bad flag, not the default."""
    if value is not None and not value.strip():
        raise ConfigError(f"--{name} is empty; give a folder (or leave --{name} out for its default)")
    return value


class _QuietLibraries:
    """Keep ngjax's INFO lines; show only warnings and errors from Orbax and other libraries, except
    Orbax's note that a checkpoint folder is read only (ngjax opens finished runs read-only on purpose)."""

    def filter(self, record) -> bool:
        if str(record.msg).startswith("Given directory is read only"):
            return False
        return record.levelno >= 30 or "/ngjax/" in record.pathname.replace(os.sep, "/")


HELP_ARGS = ("-h", "--help", "--helpshort", "-?")
_FOREIGN = ("absl", "jax", "orbax", "flax", "optax", "etils", "tensorflow", "tensorstore", "chex", "keras")


def help_text(doc: Optional[str], flag_values=FLAGS) -> str:
    """The command's own options, grouped by section (the Config's, then the command's), without
    absl's and JAX's (those are under --helpfull)."""
    groups = {m: fl for m, fl in flag_values.flags_by_module_dict().items() if not m.startswith(_FOREIGN)}
    order = [s for s in SECTIONS if s in groups] + sorted((m for m in groups if m not in SECTIONS),
                                                          key=lambda m: (m == "many hosts", m))
    lines = [(doc or "").strip().splitlines()[0] if doc else "", ""]
    for module in order:
        title = module if module in SECTIONS or module == "many hosts" else "options"
        lines.append(f"{title}:")
        for flag in sorted(groups[module], key=lambda f: f.name):
            default = "" if flag.default in (None, "", []) else f" (default: {flag.default_as_str})"
            lines.append(f"  --{flag.name}: {flag.help}{default}")
        lines.append("")
    lines.append("All flags, absl's and JAX's included: --helpfull")
    return "\n".join(lines)


def run(main: Callable[[list], Optional[int]], verbosity: int = logging.INFO) -> None:
    """``app.run(main)`` for an ngjax command: bad flag values exit 2, bad input 1, an interrupted
    run 75, each with one ``error:``/``interrupted:`` line and no traceback."""

    def wrapped(argv):
        try:
            code = main(argv)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            code = EXIT_USAGE
        except InterruptedRun as e:
            print(f"interrupted: {e}", file=sys.stderr)
            code = EXIT_INTERRUPTED
        except NgjaxError as e:
            print(f"error: {e}", file=sys.stderr)
            code = EXIT_ERROR
        except OSError as e:  # the file system: read-only, full, no permission (nothing half-written: files.py)
            print(f"error: {describe_os_error(e)}", file=sys.stderr)
            code = EXIT_ERROR
        sys.exit(code or 0)

    if any(a in HELP_ARGS for a in sys.argv[1:]):
        print(help_text(sys.modules["__main__"].__doc__))
        sys.exit(0)
    logging.set_verbosity(verbosity)
    logging.get_absl_handler().addFilter(_QuietLibraries())
    app.run(wrapped, flags_parser=_parse_flags)


def _parse_flags(argv):
    """absl's parsing, with an unknown flag or a value of the wrong type as one ``error:`` line and
    exit code 2 (a bad flag), like every other bad option (absl itself exits 1 with two lines)."""
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f"error: {e}; see --help", file=sys.stderr)
        sys.exit(EXIT_USAGE)
