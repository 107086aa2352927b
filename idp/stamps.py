"""Stamp files in the data folder: a writer touches or replaces one, and every worker sees its version change."""
import os

from flask import current_app


def one_host():
    """Whether one host holds the database (the embedded SQLite): only then can a stamp file here stand for it.

    Per-process caches of database rows are kept only then; a shared database may change from another host.
    """
    return current_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def version(path):
    """The version of a stamp file: (mtime in ns, inode), or None while it does not exist.

    The inode tells apart a file replaced whole within one tick of the file system's clock.
    """
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_ino


def touch(path):
    """Change a stamp file's version (creating it if needed)."""
    with open(path, "a"):
        pass
    os.utime(path)
