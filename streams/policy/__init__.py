"""The policy files and holiday table (data beside this module), and their loading into
the core's typed rules (`loader`)."""

from streams.policy.loader import (
    BUILTIN_POLICIES,
    book_from_paths,
    builtin_book,
    holiday_table,
    load_policy,
    load_policy_text,
    policy_book,
    vn_holidays,
)

__all__ = [
    "BUILTIN_POLICIES",
    "book_from_paths",
    "builtin_book",
    "holiday_table",
    "load_policy",
    "load_policy_text",
    "policy_book",
    "vn_holidays",
]
