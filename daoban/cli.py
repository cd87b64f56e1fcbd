"""The ``daoban`` command: set-up, knowledge import/export, index build, start and stop."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from daoban.errors import DaobanError
from daoban.logging_setup import configure_logging
from daoban.settings import load_settings
from index.errors import RetrievalError
from knowledge.errors import KnowledgeError

logger = logging.getLogger("daoban")


def _setup(args: argparse.Namespace) -> int:
    from daoban.setup_steps import run_setup

    run_setup(load_settings(), train=not args.no_train)
    return 0


def _kb_import(args: argparse.Namespace) -> int:
    from knowledge.runtime import open_store
    from knowledge.spreadsheet import read_records

    records = read_records([Path(p) for p in args.files])
    summary = open_store(load_settings()).import_records(records, actor=args.actor)
    logger.info("%d new, %d updated, %d unchanged", len(summary.created), len(summary.updated), len(summary.unchanged))
    return 0


def _kb_export(args: argparse.Namespace) -> int:
    from knowledge.jsonl import write_jsonl
    from knowledge.runtime import open_store

    for path in write_jsonl(open_store(load_settings()).published(), Path(args.directory)):
        logger.info("wrote %s", path)
    return 0


def _index_build(_args: argparse.Namespace) -> int:
    from index.runtime import build_index
    from knowledge.runtime import open_store

    settings = load_settings()
    build_index(settings, open_store(settings))
    return 0


def _start(args: argparse.Namespace) -> int:
    from daoban import processes
    from daoban.rasa_model import ensure_trained

    settings = load_settings()
    processes.start(settings, processes.process_specs(settings, ensure_trained(settings)))
    if not args.no_wait:
        processes.wait_healthy(settings)
        logger.info("Daoban is up: open %s/ (stop with `make stop`)", settings.api_url)
    return 0


def _stop(_args: argparse.Namespace) -> int:
    from daoban import processes

    stopped = processes.stop(load_settings())
    logger.info("stopped: %s", ", ".join(stopped) or "nothing was running")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daoban", description="导办 Daoban: service-guide assistant")
    commands = parser.add_subparsers(dest="command", required=True)

    setup = commands.add_parser("setup", help="migrate, seed, convert the model, build the index, train Rasa")
    setup.add_argument("--no-train", action="store_true", help="skip Rasa training")
    setup.set_defaults(handler=_setup)

    kb = commands.add_parser("kb", help="knowledge base").add_subparsers(dest="kb_command", required=True)
    kb_import = kb.add_parser(
        "import", help="import JSON Lines (.jsonl) or provincial spreadsheets (.xlsx guides, .xls materials) in one transaction"
    )
    kb_import.add_argument("files", nargs="+")
    kb_import.add_argument("--actor", default="cli")
    kb_import.set_defaults(handler=_kb_import)
    kb_export = kb.add_parser("export", help="export the published base as JSON Lines")
    kb_export.add_argument("directory")
    kb_export.set_defaults(handler=_kb_export)

    index = commands.add_parser("index", help="retrieval index").add_subparsers(dest="index_command", required=True)
    index.add_parser("build", help="rebuild the index from the knowledge base").set_defaults(handler=_index_build)

    start = commands.add_parser("start", help="start Rasa, the action server and the API in the background")
    start.add_argument("--no-wait", action="store_true")
    start.set_defaults(handler=_start)
    commands.add_parser("stop", help="stop what start started").set_defaults(handler=_stop)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(load_settings().log_level)
    try:
        return args.handler(args)
    except (DaobanError, KnowledgeError, RetrievalError) as exc:
        logger.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
