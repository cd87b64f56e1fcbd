"""The ``daoban`` command: set-up, knowledge import/export, index build, privacy, backup, start and stop."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

from accounts.errors import AccountError
from accounts.tables import ROLES
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


def _bot_test(_args: argparse.Namespace) -> int:
    from daoban.rasa_model import run_conversation_tests

    out = run_conversation_tests(load_settings())
    logger.info("conversation tests passed; reports in %s", out)
    return 0


NEW_PASSWORD_ENV = "DAOBAN_NEW_PASSWORD"


def _new_password() -> str:
    """From ``DAOBAN_NEW_PASSWORD`` (scripts) or asked twice at the terminal; never from the command line."""
    password = os.environ.get(NEW_PASSWORD_ENV)
    if password is not None:
        return password
    password = getpass.getpass("password (at least 10 characters): ")
    if getpass.getpass("again: ") != password:
        raise DaobanError("the two passwords differ; nothing was created")
    return password


def _admin_create_user(args: argparse.Namespace) -> int:
    from accounts.service import AccountBook
    from knowledge.runtime import open_store

    book = AccountBook(open_store(load_settings()).engine)
    account = book.create(args.username, _new_password(), args.roles, display_name=args.display_name)
    logger.info("created %s (%s) with roles %s", account.username, account.display_name, ", ".join(account.roles))
    return 0


def _admin_list_users(_args: argparse.Namespace) -> int:
    from accounts.service import AccountBook
    from knowledge.runtime import open_store

    for account in AccountBook(open_store(load_settings()).engine).list():
        state = "active" if account.active else "disabled"
        print(f"{account.username}\t{account.display_name}\t{','.join(account.roles)}\t{state}")
    return 0


def _privacy_context():
    from daoban.privacy import RasaTrackerStore
    from knowledge.runtime import open_store

    settings = load_settings()
    return settings, open_store(settings).engine, RasaTrackerStore.from_settings(settings)


def _privacy_export(args: argparse.Namespace) -> int:
    import json

    from daoban.privacy import export_citizen

    _settings, engine, tracker = _privacy_context()
    data = export_citizen(engine, args.sender, tracker)
    payload = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(payload, encoding="utf-8")
    else:
        sys.stdout.write(payload)
    logger.info("exported %s: %s", args.sender, _counts({k: len(v) for k, v in data.items() if isinstance(v, list)}))
    return 0


def _privacy_delete(args: argparse.Namespace) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from daoban.privacy import delete_citizen

    if not args.yes:
        raise DaobanError(f"deleting everything kept about {args.sender} cannot be undone: add --yes to confirm")
    settings, engine, tracker = _privacy_context()
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    logger.info("deleted %s: %s", args.sender, _counts(delete_citizen(engine, args.sender, tracker, today=today)))
    return 0


def _privacy_purge(_args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from daoban.privacy import purge_old_transcripts

    settings, engine, tracker = _privacy_context()
    counts = purge_old_transcripts(engine, datetime.now(timezone.utc), settings.transcript_retention_days, tracker)
    logger.info("purged transcripts older than %d days: %s", settings.transcript_retention_days, _counts(counts))
    return 0


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())


def _backup_create(args: argparse.Namespace) -> int:
    from daoban.backup import create_backup

    settings = load_settings()
    print(create_backup(settings, Path(args.directory) if args.directory else settings.home / "backups"))
    return 0


def _backup_restore(args: argparse.Namespace) -> int:
    from daoban.backup import restore_backup

    restore_backup(load_settings(), Path(args.backup_dir), force=args.force)
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

    bot = commands.add_parser("bot", help="dialogue model").add_subparsers(dest="bot_command", required=True)
    bot.add_parser("test", help="run the conversation tests (bot/tests) with the current model").set_defaults(
        handler=_bot_test
    )
    admin = commands.add_parser("admin", help="staff accounts").add_subparsers(dest="admin_command", required=True)
    create_user = admin.add_parser(
        "create-user", help=f"create a staff account; the password comes from ${NEW_PASSWORD_ENV} or a prompt"
    )
    create_user.add_argument("username")
    create_user.add_argument("--role", dest="roles", action="append", required=True, choices=ROLES,
                             help="repeat for several roles")
    create_user.add_argument("--display-name")
    create_user.set_defaults(handler=_admin_create_user)
    admin.add_parser("list-users", help="list staff accounts and their roles").set_defaults(handler=_admin_list_users)

    privacy = commands.add_parser("privacy", help="one citizen's data; transcript retention").add_subparsers(
        dest="privacy_command", required=True)
    export = privacy.add_parser("export", help="everything kept about one sender id, as JSON (phone numbers whole)")
    export.add_argument("sender")
    export.add_argument("--out", help="file to write; standard output when not given")
    export.set_defaults(handler=_privacy_export)
    delete = privacy.add_parser("delete", help="delete everything kept about one sender id (frees booked places)")
    delete.add_argument("sender")
    delete.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    delete.set_defaults(handler=_privacy_delete)
    privacy.add_parser(
        "purge", help="delete transcripts older than DAOBAN_TRANSCRIPT_RETENTION_DAYS (default 180)"
    ).set_defaults(handler=_privacy_purge)

    backup = commands.add_parser("backup", help="back up and restore the database and knowledge base").add_subparsers(
        dest="backup_command", required=True)
    backup_create = backup.add_parser("create", help="write a daoban-backup-<UTC time> folder (see docs/backup.md)")
    backup_create.add_argument("directory", nargs="?", help="where to put it; DAOBAN_HOME/backups when not given")
    backup_create.set_defaults(handler=_backup_create)
    backup_restore = backup.add_parser("restore", help="restore a backup folder (stop Daoban first)")
    backup_restore.add_argument("backup_dir")
    backup_restore.add_argument("--force", action="store_true", help="restore even while Daoban's processes run")
    backup_restore.set_defaults(handler=_backup_restore)

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
    except (DaobanError, KnowledgeError, RetrievalError, AccountError) as exc:
        logger.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
