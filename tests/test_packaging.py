"""compose.yaml and the wheel the Dockerfile installs, checked with the real tools.

- ``docker-compose config`` (Debian's docker-compose) validates compose.yaml, with and without
  the ``distribution`` profile, and refuses to start without a PAT hash key;
- every environment variable compose sets is one the services read (a typo would silently fall
  back to a default);
- the wheel built from this tree carries the migrations: installed elsewhere, ``authsvc db
  upgrade`` migrates a fresh database from any working directory, as in the image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from authsvc.config_settings import SETTINGS
from registry.config import LEAVES, env_name
from tests.support import require_tool

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
AUTHSVC_VARIABLES = {s.env for s in SETTINGS.values()} | {"AUTHSVC_CONFIG"}
REGISTRY_VARIABLES = {env_name(leaf) for leaf in LEAVES}
# Distribution's own variables that ours has no use for: REGISTRY_AUTH picks the auth backend
# (ours only knows token auth, configured by REGISTRY_AUTH_TOKEN_*).
DISTRIBUTION_ONLY = {"REGISTRY_AUTH"}


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    binary = require_tool("docker-compose")
    return subprocess.run(
        [binary, "-f", str(COMPOSE), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    result = compose("--profile", "distribution", "config", env={"AUTHSVC_PAT_HASH_KEY": "k"})
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = yaml.safe_load(result.stdout)
    return doc


def test_compose_file_is_valid_and_needs_a_pat_hash_key() -> None:
    bare = {k: v for k, v in os.environ.items() if k != "AUTHSVC_PAT_HASH_KEY"}
    missing = subprocess.run(
        [require_tool("docker-compose"), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True, text=True, env=bare, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "AUTHSVC_PAT_HASH_KEY" in missing.stderr
    ok = compose("config", "-q", env={"AUTHSVC_PAT_HASH_KEY": "k"})
    assert ok.returncode == 0, ok.stderr


def test_the_official_registry_runs_only_in_its_profile(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert services["distribution"]["profiles"] == ["distribution"]
    assert services["distribution"]["image"].startswith("registry:3")
    assert services["distribution"]["environment"]["REGISTRY_AUTH"] == "token"
    for name in ("db", "authsvc-migrate", "authsvc", "registry"):
        assert "profiles" not in services[name], name


def test_every_variable_compose_sets_is_one_the_services_read(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name in ("authsvc-migrate", "authsvc"):
        unknown = set(services[name]["environment"]) - AUTHSVC_VARIABLES
        assert not unknown, f"{name} sets variables authsvc does not read: {unknown}"
    unknown = set(services["registry"]["environment"]) - REGISTRY_VARIABLES
    assert not unknown, f"registry sets variables it does not read: {unknown}"
    # The official registry gets the same token settings, under the same (Distribution) names.
    unknown = set(services["distribution"]["environment"]) - REGISTRY_VARIABLES - DISTRIBUTION_ONLY
    assert not unknown, f"distribution sets variables outside Distribution's set: {unknown}"


def test_services_wait_for_what_they_need_and_mount_keys_read_only(
    resolved: dict[str, Any],
) -> None:
    services = resolved["services"]
    assert services["authsvc"]["depends_on"]["authsvc-migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["registry"]["depends_on"]["authsvc"]["condition"] == "service_healthy"
    for name in ("authsvc", "registry", "db"):
        assert "healthcheck" in services[name], name
    for name in ("authsvc-migrate", "authsvc", "registry", "distribution"):
        # docker-compose 1.x prints short forms (SOURCE:TARGET[:MODE]), 2.x mappings.
        mounts = [
            v
            if isinstance(v, dict)
            else dict(zip(("source", "target", "mode"), v.split(":"), strict=False))
            for v in services[name]["volumes"]
        ]
        certs = [m for m in mounts if m["target"] == "/certs"]
        assert certs, name
        assert all(m.get("read_only") or m.get("mode") == "ro" for m in certs), name
    assert services["authsvc"]["command"] == ["authsvc", "serve"]
    assert services["authsvc-migrate"]["command"] == ["authsvc", "db", "upgrade"]


def test_dockerfile_runs_as_a_non_root_user_without_keys() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "USER 10001" in text
    assert "pip wheel" in text and "COPY certs" not in text
    assert "COPY migrations" not in text  # the migrations are inside the wheel


def test_the_wheel_carries_the_migrations(tmp_path: Path) -> None:
    # Built from a copy, as the Dockerfile's build stage does: setuptools leaves build/ behind.
    source = tmp_path / "src"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    for package in ("authsvc", "registry", "httplog", "svckit"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")},
        # The installed copy first: the editable install of this tree must not serve instead.
        "PYTHONPATH": str(target),
        "AUTHSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
    }
    code = (
        "import sys, authsvc; from authsvc.cli import main; "
        "assert authsvc.__file__.startswith(sys.argv[1]), authsvc.__file__; "
        "sys.exit(main(['db', 'upgrade']) or main(['db', 'current']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        capture_output=True, text=True, env=env, cwd=elsewhere, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "(head)" in result.stdout
