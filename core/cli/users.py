"""`python -m core users` and `python -m core activity`: who may sign in with which role, and who did what.

The CLI acts as the local administrator (whoever runs it holds the workspace's files), so the first admin of a
signed-in dashboard is added here: `python -m core users --add <sub> --role admin`.
"""

from __future__ import annotations

import argparse
from typing import Any

from core.cli.parts import Emit, WorkspaceOf

USERS_HELP = "who may use the signed-in dashboard, with which role (viewer, operator, admin)"
USERS_DESCRIPTION = (
    "Roles: viewer (read, export), operator (import, edit data and levels, train, activate, acknowledge alerts, "
    "run the cycle), admin (also delete versions, notification channels, users). SUB is the user's OIDC subject "
    "('sub' claim): a signed-in user without a role is shown it on the 'ask an administrator' page."
)


def _user_lines(users: list[Any]) -> list[str]:
    """One line per user."""
    if not users:
        return ["no users yet: add the first admin with  users --add SUB --role admin"]
    return [f"{u.subject}  {u.role:<8}  {u.name or '-'}  (added {u.added} by {u.added_by})" for u in users]


def cmd_users(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """Add/change, remove or list users."""
    ws = workspace(args)
    if args.add:
        if not args.role:
            raise ValueError("users --add needs --role viewer|operator|admin.")
        record = ws.set_user(args.add, args.role, args.name or "")
        emit(args, record.to_dict(), [f"{record.subject}: {record.role}"])
        return 0
    if args.remove:
        ws.remove_user(args.remove)
        emit(args, {"removed": args.remove}, [f"{args.remove}: removed"])
        return 0
    users = ws.users()
    emit(args, {"users": [u.to_dict() for u in users]}, _user_lines(users))
    return 0


def cmd_activity(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """The activity log, newest first."""
    rows = workspace(args).activity(limit=args.limit, reservoir=args.reservoir)
    lines = [f"{a.time}  {a.name} ({a.role})  {a.action}  {a.reservoir or '-'}  {a.detail}" for a in rows]
    emit(args, {"activity": [a.to_dict() for a in rows]}, lines or ["no activity recorded yet"])
    return 0


def add_users_commands(sub: Any, common: argparse.ArgumentParser, emit: Emit, workspace: WorkspaceOf) -> None:
    """The `users` and `activity` subcommands on the main parser."""
    p = sub.add_parser("users", parents=[common], help=USERS_HELP, description=USERS_DESCRIPTION)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--add", metavar="SUB", help="give this OIDC subject a role (or change it)")
    group.add_argument("--remove", metavar="SUB", help="take this subject's role away")
    group.add_argument("--list", action="store_true", help="list users (the default)")
    p.add_argument("--role", choices=["viewer", "operator", "admin"], help="the role for --add")
    p.add_argument("--name", help="a display name or email for --add")
    p.set_defaults(func=lambda args: cmd_users(args, emit, workspace))

    p = sub.add_parser("activity", parents=[common], help="who did what: imports, edits, activations, deletions ...")
    p.add_argument("--reservoir", help="only this reservoir's actions")
    p.add_argument("--limit", type=int, default=50, help="how many of the most recent actions (default 50)")
    p.set_defaults(func=lambda args: cmd_activity(args, emit, workspace))
