"""Users and the activity log in SQLite: the `users` and `activity` tables (the contract: core.store.users)."""

from __future__ import annotations

from core.auth.roles import Actor, Role
from core.store.common import now_utc
from core.store.errors import StoreError
from core.store.sqlite.base import SqliteRepository
from core.store.users import Activity, UserRecord


class SqliteUsers(SqliteRepository):
    """Users and the activity log in SQLite (core.store.users.Users)."""

    def users(self) -> list[UserRecord]:
        """Every user with a role, by subject."""
        self._guard(None, "read")
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT * FROM users ORDER BY subject").fetchall()
        return [UserRecord(r["subject"], r["role"], r["name"], r["added"], r["added_by"]) for r in rows]

    def set_user(self, subject: str, role: Role | str, name: str = "") -> UserRecord:
        """Give a subject a role (adding or changing it); admins only."""
        subject = str(subject).strip()
        if not subject:
            raise StoreError("A user's subject must not be empty: use the 'sub' your sign-in provider gives.")
        role = role if isinstance(role, Role) else Role.parse(role)
        with self._tx(write=True) as conn:
            self._guard(conn, "users", None, f"set {subject} to {role.name}")
            conn.execute(
                "INSERT INTO users(subject, role, name, added, added_by) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(subject) DO UPDATE SET role = excluded.role, "
                "name = CASE WHEN excluded.name != '' THEN excluded.name ELSE users.name END",
                (subject, role.name, str(name).strip(), now_utc(), self.actor.name),
            )
            row = conn.execute("SELECT * FROM users WHERE subject = ?", (subject,)).fetchone()
        return UserRecord(row["subject"], row["role"], row["name"], row["added"], row["added_by"])

    def remove_user(self, subject: str) -> None:
        """Take a subject's role away (they then see the 'ask an administrator' page); admins only."""
        subject = str(subject).strip()
        with self._tx(write=True) as conn:
            self._guard(conn, "users", None, f"removed {subject}")
            gone = conn.execute("DELETE FROM users WHERE subject = ?", (subject,)).rowcount
            if not gone:
                known = [r[0] for r in conn.execute("SELECT subject FROM users ORDER BY subject")]
                raise StoreError(
                    f"No user with subject '{subject}'. Known: {', '.join(known) if known else 'none yet'}."
                )

    def actor_for(self, subject: str, name: str = "") -> Actor | None:
        """The signed-in subject as an Actor with its stored role, or None when no administrator added it."""
        with self._tx(write=False) as conn:
            row = conn.execute("SELECT role, name FROM users WHERE subject = ?", (str(subject).strip(),)).fetchone()
        if row is None:
            return None
        return Actor(str(subject).strip(), name or row["name"] or str(subject), Role.parse(row["role"]))

    def activity(self, limit: int = 200, reservoir: str | None = None) -> list[Activity]:
        """The most recent logged actions, newest first (optionally of one reservoir)."""
        self._guard(None, "read")
        sql = "SELECT * FROM activity"
        args: tuple = ()
        if reservoir is not None:
            sql += " WHERE reservoir = ? COLLATE NOCASE"
            args = (str(reservoir).strip(),)
        with self._tx(write=False) as conn:
            rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, int(limit))).fetchall()
        return [
            Activity(r["id"], r["time"], r["subject"], r["name"], r["role"], r["action"], r["reservoir"], r["detail"])
            for r in rows
        ]
