"""One settings flag as the command line shows it: its declaration (``SettingFlag``), the help
groups it falls in, and its help text with the effective default and environment variable.
The flags themselves are declared in ``cli.flags``."""

from __future__ import annotations

from dataclasses import dataclass

from streamrec.config import ENV_PREFIX, Settings

DATA = "data"
CLICK_LOG = "click log (instead of generated sessions)"
TRAINING = "training"
CONSUMER = "consumer"
SERVERS = "servers"
RUNTIME = "runtime"
GROUP_ORDER = (DATA, CLICK_LOG, TRAINING, CONSUMER, SERVERS, RUNTIME)


@dataclass(frozen=True)
class SettingFlag:
    """How one ``Settings`` field appears on the command line."""

    field: str
    help: str
    group: str
    flag: str = ""  # default: the field name with dashes
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    default_note: str = ""  # said after the default value, e.g. "the embedded broker"

    @property
    def option(self) -> str:
        """The ``--flag`` spelling."""
        return self.flag or "--" + self.field.replace("_", "-")


def shown_default(value: object) -> str:
    """A default value as help text shows it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if value == "":
        return "none"
    if isinstance(value, str) and len(value) == 1:
        return repr(value)  # a lone separator reads better quoted
    return str(value)


def help_text(spec: SettingFlag, defaults: Settings, note: str = "") -> str:
    """The flag's help with its effective default and environment variable."""
    env = ENV_PREFIX + spec.field.upper()
    value = shown_default(getattr(defaults, spec.field))
    if spec.field in defaults.explicit:
        where = f"{value}, from {env}"
    else:
        noted = spec.default_note and spec.default_note != value  # never "none, none"
        where = f"{value}, {spec.default_note}" if noted else value
        where += f"; env {env}"
    text = spec.help + (f"; {note}" if note else "") + f" (default: {where})"
    return text.replace("%", "%%")  # argparse %-formats help
