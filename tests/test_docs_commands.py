"""Every ``authsvc`` and ``registry`` command line in the operator's docs parses.

The lines are taken from the fenced code blocks of docs/operations.md and README.md, with
environment assignments, redirections and pipes removed, and given to the services' real
argument parsers (nothing is run), so a renamed command or flag fails here, not for an operator.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from authsvc.cli import build_parser as authsvc_parser
from registry.cli import build_parser as registry_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "docs" / "operations.md", ROOT / "README.md", ROOT / "docs" / "identity.md"]
_SHELL = ("", "sh", "bash", "console")
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def shell_blocks(text: str) -> list[str]:
    """The bodies of fenced blocks that are shell (no language, sh, bash or console)."""
    blocks: list[str] = []
    current: list[str] | None = None
    shell = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            if current is None:
                current, shell = [], stripped[3:].strip() in _SHELL
            else:
                if shell:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def command_lines() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for doc in DOCS:
        for block in shell_blocks(doc.read_text(encoding="utf-8")):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #", 1)[0].strip()
                if line.startswith("#") or not line:
                    continue
                if not re.search(r"(^|\s)(authsvc|registry) [a-z]", line):
                    continue
                line = line.split(" | ", 1)[0].split(" > ", 1)[0].split(" < ", 1)[0]
                # A synopsis: [optional] parts are left out, a|b alternatives take the first.
                line = re.sub(r"\s\[[^\]]*\]", "", line)
                words = [w.split("|")[0] for w in shlex.split(line)]
                while words and _ASSIGNMENT.match(words[0]):
                    words.pop(0)
                if words and words[0] in ("authsvc", "registry") and len(words) > 1:
                    found.append((doc.name, shlex.join(words)))
    return found


COMMANDS = command_lines()


def test_the_docs_hold_commands_to_check() -> None:
    names = {doc for doc, _ in COMMANDS}
    assert "operations.md" in names and "README.md" in names
    assert any("keys rotate" in line for _, line in COMMANDS)


@pytest.mark.parametrize(("doc", "line"), COMMANDS, ids=[f"{d}: {c}" for d, c in COMMANDS])
def test_command_parses(doc: str, line: str) -> None:
    words = shlex.split(line)
    parser = authsvc_parser() if words[0] == "authsvc" else registry_parser()
    # Placeholders written in capitals (NAME, FILE, DIR, ID) are valid argument values.
    try:
        parser.parse_args(words[1:])
    except SystemExit as exc:
        pytest.fail(f"{doc}: `{line}` does not parse (exit {exc.code})")
