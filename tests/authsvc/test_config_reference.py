"""docs/authsvc-config.md is generated from the settings table, and must not drift from it."""

from __future__ import annotations

from pathlib import Path

from authsvc.config import Config, setting_fields
from authsvc.config_reference import default_for, render
from authsvc.config_settings import SETTINGS

DOC = Path(__file__).resolve().parents[2] / "docs" / "authsvc-config.md"


def test_the_committed_reference_is_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/authsvc-config.md is stale: run "
        "`python -m authsvc.config_reference > docs/authsvc-config.md`"
    )


def test_every_setting_is_described_once_with_its_variable() -> None:
    text = render()
    for dotted, setting in SETTINGS.items():
        assert setting.doc.strip(), f"{dotted} has no description"
        assert text.count(f"| `{dotted}` | `{setting.env}` |") == 1


def test_defaults_are_the_dataclass_defaults() -> None:
    config = Config()
    assert default_for("server.listen") == f"{config.server.host}:{config.server.port}"
    assert default_for("token.ttl") == str(config.token.ttl)
    assert default_for("server.metrics_listen") == "— (off)"
    assert default_for("token.service") == ", ".join(config.token.services)
    assert default_for("audit.enabled") == "true"
    for dotted in SETTINGS:
        section, fields = setting_fields(dotted)
        assert hasattr(getattr(config, section), fields[0])
