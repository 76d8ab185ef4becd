"""Users and passwords (argon2 hashes)."""

from jimu.platform.auth.users import User, UserService, hash_password, verify_password

__all__ = ["User", "UserService", "hash_password", "verify_password"]
