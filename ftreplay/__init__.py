"""ftreplay: a time-travel debugger for CPython's free-threaded runtime."""

__version__ = "0.1.0"
