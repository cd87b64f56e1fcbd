"""Errors of the set-up and process runner.

DaobanError
├── SetupFailed        a set-up step could not complete (message says which and where the log is)
└── ProcessFailed      a process did not start or did not become healthy in time
"""


class DaobanError(Exception):
    pass


class SetupFailed(DaobanError):
    pass


class ProcessFailed(DaobanError):
    pass
