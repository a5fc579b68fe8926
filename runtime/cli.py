"""The `pult` command: process roles (run, web, worker) and operator tasks (migrate, user,
demo, check). Mistakes an operator can make end in one line on stderr, never a traceback:
exit 2 for bad settings or arguments, 1 for a failed task."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.exceptions
import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import gettext
from core.models import StaffRole, User
from core.staff import (
    InvalidEmailError,
    StaffError,
    create_user,
    normalize_email,
    reset_password,
)
from inbox.staff_link import issue_link_code
from runtime import eventloop
from runtime.bootstrap import Container, bootstrap
from runtime.check import check, report
from runtime.demo import DemoRefused, fill_demo
from runtime.errors import CommandError
from runtime.migrate import current_revision, head_revision, upgrade
from runtime.roles import ALL_IN_ONE, Role, serve
from runtime.settings import Settings, SettingsError, load_settings
from webapp.access.sessions import SESSIONS_ENDED, end_user_sessions

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
BOT_NAME_TIMEOUT = 10.0

# Failures to reach a database or Redis that the operator fixes outside Pult.
_UNREACHABLE = (OSError, sqlalchemy.exc.DBAPIError, redis.exceptions.ConnectionError)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(str(exc), 2)
    configure_logging(settings.log_level, args.serves)
    command: Command = args.command
    try:
        return eventloop.run(command(args, settings))
    except CommandError as exc:
        return _fail(str(exc), exc.exit_code)
    except StaffError as exc:
        return _fail(exc.localized(settings.locale), 1)
    except _UNREACHABLE as exc:
        message = gettext("A service did not answer: {reason}", settings.locale)
        return _fail(message.format(reason=_first_line(exc)), 1)
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pult",
        description="Pult, the omnichannel order desk. Settings come from PULT_* variables.",
    )
    parser.set_defaults(serves=False)
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    commands.add_parser(
        "run", help="everything in one process: migrate, web and worker"
    ).set_defaults(command=run_all_in_one, serves=True)
    web = commands.add_parser("web", help="the web application only")
    web.add_argument("--migrate", action="store_true", help="migrate the database first")
    web.set_defaults(command=run_web, serves=True)
    commands.add_parser("worker", help="the background jobs only").set_defaults(
        command=run_worker_role, serves=True
    )
    commands.add_parser("migrate", help="upgrade the database schema").set_defaults(command=migrate)
    _add_user_commands(commands)
    commands.add_parser("demo", help="fill the database with demo data").set_defaults(command=demo)
    commands.add_parser("check", help="report settings and connectivity").set_defaults(
        command=check_command
    )
    return parser


def _add_user_commands(commands: Any) -> None:
    user = commands.add_parser("user", help="staff accounts")
    actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a staff account")
    add.add_argument("--role", required=True, choices=[role.value for role in StaffRole])
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--password", help="omit to generate a one-time password")
    add.set_defaults(command=user_add)
    link = actions.add_parser(
        "link-telegram", help="a one-time code that links a Telegram account to a staff account"
    )
    link.add_argument("email")
    link.set_defaults(command=user_link_telegram)
    reset = actions.add_parser(
        "reset-password",
        help="a new one-time password for a staff account; signs it out everywhere",
    )
    reset.add_argument("email")
    reset.set_defaults(command=user_reset_password)


def configure_logging(level: str, serves: bool) -> None:
    """Long-running roles log at PULT_LOG_LEVEL. One-shot commands talk on stdout and keep
    stderr for warnings and their one-line error, unless DEBUG is asked for."""
    if not serves and logging.getLevelNamesMapping()[level] == logging.INFO:
        level = "WARNING"
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr, force=True)


async def run_all_in_one(args: argparse.Namespace, settings: Settings) -> int:
    return await serve(settings, ALL_IN_ONE)


async def run_web(args: argparse.Namespace, settings: Settings) -> int:
    return await serve(settings, Role(web=True, worker=False, migrate=args.migrate))


async def run_worker_role(args: argparse.Namespace, settings: Settings) -> int:
    return await serve(settings, Role(web=False, worker=True, migrate=False))


async def migrate(args: argparse.Namespace, settings: Settings) -> int:
    await upgrade(settings.database_url)
    container = await bootstrap(settings)
    try:
        revision = await current_revision(container.engine)
    finally:
        await container.close()
    message = gettext("The database schema is at revision {revision}", settings.locale)
    print(message.format(revision=revision))
    return 0


async def user_add(args: argparse.Namespace, settings: Settings) -> int:
    locale = settings.locale
    async with _migrated_container(settings) as container, container.uow() as uow:
        user, password = await create_user(
            uow.session, args.email, args.name, args.role, args.password
        )
        await uow.commit()
    created = gettext("Staff account {email} ({role}) created.", locale)
    print(created.format(email=user.email, role=user.role.value))
    if password is not None:
        print(gettext("One-time password: {password}", locale).format(password=password))
        print(gettext("The password must be changed at the first sign-in.", locale))
    return 0


async def user_reset_password(args: argparse.Namespace, settings: Settings) -> int:
    """For someone who forgot their password (or whose password leaked): print a one-time
    password to hand over, end every session of theirs, open panel tabs included."""
    locale = settings.locale
    async with _migrated_container(settings) as container:
        async with container.uow() as uow:
            user = await _active_user(uow.session, args.email, locale)
            password = await reset_password(user)
            ended = await end_user_sessions(uow.session, user.id)
            await uow.commit()
        # Printed before the bus is told: the reset is committed and must not be lost to a
        # Redis hiccup. The sessions are gone either way; the notice only closes open tabs now.
        print(gettext("One-time password: {password}", locale).format(password=password))
        print(gettext("The password must be changed at the first sign-in.", locale))
        print(gettext("Sessions ended: {count}.", locale).format(count=ended))
        try:
            await container.bus.publish(
                SESSIONS_ENDED, {"user_id": user.id, "keep_session_id": None}
            )
        except _UNREACHABLE as error:
            logging.getLogger(__name__).warning(
                "open panel tabs were not told (they sign out at their next request): %s", error
            )
    return 0


async def user_link_telegram(args: argparse.Namespace, settings: Settings) -> int:
    """Print a code the staff member sends to the bot (`/start CODE`) from their account."""
    locale = settings.locale
    if settings.telegram_token is None:
        raise CommandError(
            gettext("Telegram is not configured: set PULT_TELEGRAM_TOKEN", locale), exit_code=2
        )
    async with _migrated_container(settings) as container:
        async with container.uow() as uow:
            user = await _active_user(uow.session, args.email, locale)
            code = await issue_link_code(uow.session, user)
            await uow.commit()
        bot_name = await _bot_username(container)
    print(gettext("Link code for {email}: {code}", locale).format(email=user.email, code=code))
    if bot_name:
        how = gettext("Send /start {code} to @{bot} from the Telegram account to link.", locale)
    else:
        how = gettext("Send /start {code} to the bot from the Telegram account to link.", locale)
    print(how.format(code=code, bot=bot_name))
    print(gettext("The code works once, within 24 hours.", locale))
    return 0


async def _active_user(session: AsyncSession, email: str, locale: str) -> User:
    try:
        address = normalize_email(email)
    except InvalidEmailError:
        address = email.strip()
    user = await session.scalar(sa.select(User).where(User.email == address))
    if user is None or not user.is_active:
        message = gettext("No active staff account with e-mail {email}", locale)
        raise CommandError(message.format(email=address))
    return user


async def _bot_username(container: Container) -> str | None:
    """The bot's @name for the instruction; None (a plainer instruction) if Telegram does
    not answer: the code works all the same."""
    assert container.telegram is not None
    try:
        async with asyncio.timeout(BOT_NAME_TIMEOUT):
            return await container.telegram.username()
    except Exception as error:
        logging.getLogger(__name__).warning("Telegram did not say the bot's name: %s", error)
        return None


async def demo(args: argparse.Namespace, settings: Settings) -> int:
    async with _migrated_container(settings) as container:
        try:
            summary = await fill_demo(container)
        except DemoRefused:
            message = gettext(
                "The database already has clients; demo data goes into an empty database only",
                settings.locale,
            )
            raise CommandError(message) from None
    print(summary)
    return 0


async def check_command(args: argparse.Namespace, settings: Settings) -> int:
    findings, healthy = await check(settings)
    print(report(settings, findings))
    return 0 if healthy else 1


@asynccontextmanager
async def _migrated_container(settings: Settings) -> AsyncIterator[Container]:
    """A container over a database whose schema is current, else a clear error."""
    container = await bootstrap(settings)
    try:
        current, head = await current_revision(container.engine), head_revision()
        if current != head:
            message = gettext(
                "The database schema is at revision {current}, the code expects {head}: "
                "run `pult migrate`",
                settings.locale,
            )
            raise CommandError(message.format(current=current or "-", head=head))
        yield container
    finally:
        await container.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _fail(message: str, exit_code: int) -> int:
    print(f"pult: {message}", file=sys.stderr)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
