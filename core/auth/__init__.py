"""Sign-in roles: who may do what (core.auth.roles); the workspace enforces them on every write."""
