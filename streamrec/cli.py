"""``streamrec``: one command with subcommands.

Every flag defaults to the ``Settings`` value (itself overridable by ``STREAMREC_*``
variables); bad values end in one ``streamrec: error: ...`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from streamrec import __version__
from streamrec.config import DEVICES, ConfigError, Settings, settings_from_env
from streamrec.model.baselines import BASELINES
from streamrec.model.checkpoint import CheckpointError
from streamrec.model.examples import SPLIT_PROTOCOLS

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_data_flags(p: argparse.ArgumentParser, defaults: Settings, split: bool = True) -> None:
    g = p.add_argument_group("data")
    g.add_argument(
        "--seed",
        type=_non_negative_int,
        default=defaults.seed,
        help="generator, split and training seed (default: %(default)s)",
    )
    g.add_argument(
        "--users",
        type=_positive_int,
        default=defaults.users,
        help="users (sessions before the length filter) to generate (default: %(default)s)",
    )
    if split:
        g.add_argument(
            "--split",
            choices=SPLIT_PROTOCOLS,
            default=defaults.split,
            help="'session': hold out whole sessions (honest, default); "
            "'example': the seed's random split of prefix examples (leaks)",
        )


def _add_runtime_flags(p: argparse.ArgumentParser, defaults: Settings) -> None:
    g = p.add_argument_group("runtime")
    g.add_argument(
        "--threads",
        type=_non_negative_int,
        default=defaults.threads,
        help="torch threads; 0 = one per core, capped at 2 (default: %(default)s)",
    )


def build_parser(defaults: Settings) -> argparse.ArgumentParser:
    """The full ``streamrec`` argument parser with ``defaults`` as flag defaults."""
    parser = _Parser(
        prog="streamrec",
        description="StreamRec: a streaming session recommender. Generate sessions, train the "
        "session LSTM, evaluate it against honest baselines.",
        epilog="Every flag can also be set by a STREAMREC_<NAME> environment variable "
        "(e.g. STREAMREC_SEED=7); flags win.",
    )
    parser.add_argument("--version", action="version", version=f"streamrec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    gen = sub.add_parser(
        "generate",
        help="write generated sessions as JSON Lines",
        description="Generate the seed's synthetic sessions and write one JSON "
        'object per line: {"session_id", "items", "behavior"}.',
    )
    _add_data_flags(gen, defaults, split=False)
    gen.add_argument("--out", default="-", help="output file, '-' for stdout (default: -)")
    gen.set_defaults(handler=_cmd_generate)

    train = sub.add_parser(
        "train",
        help="train the session LSTM with the seed's recipe",
        description="Train the session LSTM (Adam 1e-3, StepLR 8/0.5, clip 5.0, "
        "batch 256) and write a checkpoint, a JSON history and a PNG of the "
        "training curves beside it.",
    )
    _add_data_flags(train, defaults)
    tg = train.add_argument_group("training")
    tg.add_argument(
        "--epochs",
        type=_positive_int,
        default=defaults.epochs,
        help="epochs (default: %(default)s)",
    )
    tg.add_argument(
        "--batch-size",
        type=_positive_int,
        default=defaults.batch_size,
        help="batch size (default: %(default)s)",
    )
    tg.add_argument(
        "--device",
        choices=DEVICES,
        default=defaults.device,
        help="where to train (default: %(default)s)",
    )
    tg.add_argument(
        "--out",
        type=Path,
        default=defaults.model_path,
        help="checkpoint path (default: %(default)s)",
    )
    tg.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_runtime_flags(train, defaults)
    train.set_defaults(handler=_cmd_train)

    ev = sub.add_parser(
        "evaluate",
        help="evaluate a checkpoint or a baseline offline",
        description="Full-ranking Hit@10, Hit@20 and MRR@20 (ties count against "
        "the target) on the validation side of the split, overall and per "
        "behaviour.",
    )
    what = ev.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", type=Path, help="checkpoint to evaluate")
    what.add_argument("--baseline", choices=BASELINES, help="baseline to evaluate")
    _add_data_flags(ev, defaults)
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    _add_runtime_flags(ev, defaults)
    ev.set_defaults(handler=_cmd_evaluate)
    return parser


def _settings(args: argparse.Namespace, defaults: Settings) -> Settings:
    return defaults.with_overrides(vars(args))


def _cmd_generate(args: argparse.Namespace, defaults: Settings) -> int:
    from streamrec.model.corpus import generated_corpus

    settings = _settings(args, defaults)
    corpus = generated_corpus(users=settings.users, seed=settings.seed)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")  # noqa: SIM115
    try:
        for sid, items, behavior in zip(corpus.session_ids, corpus.sessions, corpus.behaviors):
            out.write(json.dumps({"session_id": sid, "items": items, "behavior": behavior}) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.out != "-":
        print(f"wrote {len(corpus.sessions):,} sessions to {args.out}", file=sys.stderr)
    return 0


def _cmd_train(args: argparse.Namespace, defaults: Settings) -> int:
    from streamrec.model.runs import train_model

    settings = _settings(args, defaults)
    result = train_model(settings, args.out, show_progress=not args.no_progress)
    last = result.history[-1]
    print(
        f"saved {result.checkpoint} ({result.n_parameters:,} parameters); "
        f"Hit@10 {last.hit_at_10:.4f} Hit@20 {last.hit_at_20:.4f} MRR@20 {last.mrr_at_20:.4f}; "
        f"history {result.history_path}, curves {result.plot_path}"
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace, defaults: Settings) -> int:
    from streamrec.model.runs import evaluate_named

    settings = _settings(args, defaults)
    report = evaluate_named(settings, model_path=args.model, baseline=args.baseline)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['scorer']} on split={report['split']} ({report['n_examples']:,} examples)")
    rows: list[tuple[str, dict[str, Any]]] = [("all", report)]
    rows += list(report["per_behavior"].items())
    print(f"{'':12s} {'Hit@10':>8s} {'Hit@20':>8s} {'MRR@20':>8s} {'examples':>9s}")
    for label, m in rows:
        print(
            f"{label:12s} {m['hit_at_10']:8.4f} {m['hit_at_20']:8.4f} {m['mrr_at_20']:8.4f} "
            f"{m['n_examples']:9,d}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamrec`` console script."""
    try:
        defaults = settings_from_env()
    except ConfigError as exc:
        print(f"streamrec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser(defaults)
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        return handler(args, defaults)
    except (ConfigError, CheckpointError, CliError, ValueError) as exc:
        print(f"streamrec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("streamrec: interrupted", file=sys.stderr)
        return 130
