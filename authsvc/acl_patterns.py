"""ACL patterns: globs and ``/regex/`` with ``${account}``, validated and compiled once (pure).

The syntax is the ACL's (``authsvc.acl`` states the semantics); trust claim conditions and
token scopes use the same patterns, so the grammar lives here, apart from rule evaluation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from svckit.cache import memoized

ACCOUNT_VAR = "${account}"
MAX_PATTERN_LENGTH = 1024


class RuleError(ValueError):
    """A rule is invalid; the message names the field and the problem."""


def _glob_to_regex(glob: str) -> str:
    """Translate a glob into regex source (``*`` and ``?`` also match ``/``)."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        i += 1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            j = i
            negate = j < n and glob[j] in "!^"
            if negate:
                j += 1
            if j < n and glob[j] == "]":
                j += 1  # a leading ']' is a literal member of the class
            end = glob.find("]", j)
            if end < 0:
                raise re.error("unterminated '['")
            body = glob[i + 1 if negate else i : end]
            members = "".join(c if c == "-" else re.escape(c) for c in body)
            out.append(f"[{'^' if negate else ''}{members}]")
            i = end + 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def _is_regex(text: str) -> bool:
    return len(text) >= 2 and text.startswith("/") and text.endswith("/")


@memoized(max_entries=8192)
def _compile(source: str) -> re.Pattern[str]:
    """Compile regex source once; the cache serves every rule that repeats a pattern."""
    return re.compile(source, re.DOTALL)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled glob or /regex/; ``pieces`` hold the regex source around ``${account}``."""

    text: str
    pieces: tuple[str, ...]

    def source(self, account: str | None = None) -> str | None:
        """The anchored-by-fullmatch regex source for ``account`` (None: ${account} unset)."""
        if len(self.pieces) == 1:
            return self.pieces[0]
        if account is None:
            return None
        source = re.escape(account).join(self.pieces)
        try:
            _compile(source)
        except re.error as exc:
            raise RuleError(f"pattern {self.text!r} is invalid for account {account!r}") from exc
        return source

    def matches(self, value: str, account: str | None = None) -> bool:
        """True if ``value`` matches the whole pattern (``${account}`` expanded to ``account``)."""
        # fullmatch anchors both ends, also around alternatives ("/a|b/") and after global
        # flags ("/(?i)alice/"), which wrapping the source in "^(?:...)$" would break.
        if len(self.pieces) == 1:
            return _compile(self.pieces[0]).fullmatch(value) is not None
        if account is None:
            return False  # ${account} has no value for an anonymous request
        # re.escape: an account such as "a.b" must not become a wildcard inside the pattern.
        source = re.escape(account).join(self.pieces)
        try:
            return _compile(source).fullmatch(value) is not None
        except re.error as exc:
            # Validation compiled the pattern with a sample account; a pathological regex may
            # still break for some other name. evaluate() turns this into a denial.
            raise RuleError(f"pattern {self.text!r} is invalid for account {account!r}") from exc


def compile_pattern(text: str, what: str, *, allow_account_var: bool = False) -> Pattern:
    """Validate and compile a glob or /regex/ pattern; ``what`` names the field in errors."""
    if not text:
        raise RuleError(f"{what}: the pattern must not be empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise RuleError(f"{what}: the pattern is longer than {MAX_PATTERN_LENGTH} characters")
    regex = _is_regex(text)
    body = text[1:-1] if regex else text
    parts = body.split(ACCOUNT_VAR) if allow_account_var else [body]
    for part in parts:
        if "${" in part:
            allowed = f"; only {ACCOUNT_VAR} is supported" if allow_account_var else ""
            raise RuleError(f"{what}: unknown variable in {text!r}{allowed}")
    if regex and not body:
        raise RuleError(f"{what}: empty regex {text!r}")
    try:
        pieces = tuple(part if regex else _glob_to_regex(part) for part in parts)
        # Compile with a sample account too, so a pattern that breaks around the variable fails
        # here, at `acl add`, rather than silently never matching later.
        _compile("x".join(pieces))
    except re.error as exc:
        kind = "regex" if regex else "glob"
        raise RuleError(f"{what}: invalid {kind} {text!r}: {exc}") from None
    return Pattern(text, pieces)
