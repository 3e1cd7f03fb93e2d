"""Fixtures shared by every test directory."""

from tests.s3support import s3_server, s3_settings

__all__ = ["s3_server", "s3_settings"]
