"""Exit codes are an interface: scripts test the numbers, and `--help` lists every one."""

from __future__ import annotations

from photofix.cli import EXIT_CODES
from photofix.errors import ExitCode


def test_exit_code_numbers_are_kept():
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "INTERNAL_ERROR": 1,
        "BAD_REQUEST": 2,
        "UNAUTHORIZED": 3,
        "NOT_FOUND": 4,
        "IMAGE_TOO_LARGE": 5,
        "UNSUPPORTED_FORMAT": 6,
        "INVALID_IMAGE": 7,
        "DOWNLOAD_FAILED": 8,
        "TIMED_OUT": 9,
        "RATE_LIMITED": 10,
        "OVERLOADED": 11,
        "MODEL_ERROR": 12,
        "STORE_UNAVAILABLE": 13,
        "PARTIAL_FAILURE": 14,
        "INPUT_MISSING": 15,
        "INPUT_UNREADABLE": 16,
        "OUTPUT_EXISTS": 17,
        "OUTPUT_IS_INPUT": 18,
        "OUTPUT_UNWRITABLE": 19,
        "SERVER_UNREACHABLE": 20,
        "SERVER_ERROR": 21,
    }


def test_help_lists_every_exit_code_in_order():
    assert [code for code, _ in EXIT_CODES] == list(ExitCode)
