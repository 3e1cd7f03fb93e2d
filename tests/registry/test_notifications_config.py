"""The ``notifications`` section: Distribution's keys, its defaults, and errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.config import ConfigError, load_config
from registry.config_notifications import (
    DEFAULT_PURGE_TIMEOUT,
    DEFAULT_QUEUE_SIZE,
    EndpointConfig,
    NotificationsConfig,
)

DISTRIBUTION_EXAMPLE = """
version: 0.1
notifications:
  events:
    includereferences: true
  endpoints:
    - name: alistener
      disabled: false
      url: https://my.listener.com/event
      headers:
        Authorization: [Bearer <your token if needed>]
        X-Multi: [one, two]
      timeout: 500ms
      threshold: 5
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
      ignore:
        mediatypes:
          - application/vnd.oci.image.index.v1+json
        actions:
          - pull
    - name: other
      url: http://127.0.0.1:9000/hook
      disabled: true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def test_distributions_documented_example(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DISTRIBUTION_EXAMPLE), {}).notifications
    assert config.include_references is True
    first, second = config.endpoints
    assert first == EndpointConfig(
        name="alistener",
        url="https://my.listener.com/event",
        headers=(
            ("Authorization", "Bearer <your token if needed>"),
            ("X-Multi", "one"),
            ("X-Multi", "two"),
        ),
        timeout=0.5,
        threshold=5,
        backoff=1.0,
        ignored_media_types=frozenset(
            {"application/octet-stream", "application/vnd.oci.image.index.v1+json"}
        ),
        ignored_actions=frozenset({"pull"}),
    )
    assert second.disabled is True
    assert config.active == (first,)
    # Headers may hold credentials: they never show in a repr (or a log of the config).
    assert "Bearer" not in repr(config)


def test_defaults_are_distributions_and_zero_means_default(tmp_path: Path) -> None:
    text = (
        "version: 0.1\nnotifications:\n  endpoints:\n"
        "    - name: a\n      url: http://h/e\n"
        "    - name: b\n      url: http://h/e\n      timeout: 0\n      threshold: 0\n"
        "      backoff: 0s\n"
    )
    a, b = load_config(write(tmp_path, text), {}).notifications.endpoints
    for endpoint in (a, b):
        assert (endpoint.timeout, endpoint.threshold, endpoint.backoff) == (1.0, 10, 1.0)
        assert endpoint.queue_size == DEFAULT_QUEUE_SIZE
        assert endpoint.purge_timeout == DEFAULT_PURGE_TIMEOUT
    assert load_config(None, {}).notifications == NotificationsConfig()


def test_gitlab_queue_keys(tmp_path: Path) -> None:
    text = (
        "version: 0.1\nnotifications:\n  endpoints:\n    - name: a\n      url: http://h/e\n"
        "      queuesizelimit: 50\n      queuepurgetimeout: 2s\n"
    )
    (endpoint,) = load_config(write(tmp_path, text), {}).notifications.endpoints
    assert (endpoint.queue_size, endpoint.purge_timeout) == (50, 2.0)


def test_environment_replaces_the_endpoint_list(tmp_path: Path) -> None:
    env = {
        "REGISTRY_NOTIFICATIONS_ENDPOINTS": "[{name: env, url: 'http://e/x', threshold: 3}]",
        "REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES": "false",
    }
    config = load_config(write(tmp_path, DISTRIBUTION_EXAMPLE), env).notifications
    assert config.include_references is False
    assert [(e.name, e.url, e.threshold) for e in config.endpoints] == [("env", "http://e/x", 3)]
    assert load_config(None, env).notifications.endpoints[0].name == "env"


def endpoint_yaml(*lines: str) -> str:
    body = "".join(f"      {line}\n" for line in lines)
    return f"version: 0.1\nnotifications:\n  endpoints:\n    - name: a\n{body}"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        (
            "version: 0.1\nnotifications:\n  endpoints:\n    - url: http://h/e\n",
            {},
            "endpoints[0].name",
        ),
        (endpoint_yaml(), {}, "endpoints[0].url: required"),
        (endpoint_yaml("url: ftp://h/e"), {}, "endpoints[0].url: expected an http"),
        (endpoint_yaml("url: /relative"), {}, "endpoints[0].url"),
        (endpoint_yaml("url: http://h/e", "timeout: soon"), {}, "endpoints[0].timeout"),
        (endpoint_yaml("url: http://h/e", "backoff: -1s"), {}, "endpoints[0].backoff"),
        (endpoint_yaml("url: http://h/e", "threshold: many"), {}, "endpoints[0].threshold"),
        (endpoint_yaml("url: http://h/e", "threshold: -1"), {}, "endpoints[0].threshold"),
        (endpoint_yaml("url: http://h/e", "queuesizelimit: 0"), {}, "queuesizelimit: must be"),
        (endpoint_yaml("url: http://h/e", "disabled: perhaps"), {}, "endpoints[0].disabled"),
        (
            endpoint_yaml("url: http://h/e", "ignore:", "  actions: [pul]"),
            {},
            "unknown action 'pul'",
        ),
        (endpoint_yaml("url: http://h/e", "ignore:", "  verbs: [pull]"), {}, "ignore.verbs"),
        (
            endpoint_yaml("url: http://h/e", "ignoredmediatypes: text/plain"),
            {},
            "ignoredmediatypes",
        ),
        (endpoint_yaml("url: http://h/e", "headers: [a]"), {}, "endpoints[0].headers"),
        (endpoint_yaml("url: http://h/e", "headers:", "  'Bad Name': [x]"), {}, "header name"),
        (endpoint_yaml("url: http://h/e", "headers:", "  X-A: [{b: 1}]"), {}, "headers.X-A"),
        (endpoint_yaml("url: http://h/e", "headers:", '  X-A: ["a\\r\\nB: c"]'), {}, "line breaks"),
        (endpoint_yaml("url: http://h/e", "retries: 3"), {}, "endpoints[0].retries"),
        (
            endpoint_yaml("url: http://h/e") + "    - name: a\n      url: http://h/f\n",
            {},
            "used twice",
        ),
        ("version: 0.1\nnotifications:\n  endpoints: {name: a}\n", {}, "expected a list"),
        ("version: 0.1\nnotifications:\n  sinks: []\n", {}, "notifications.sinks"),
        (
            "version: 0.1\nnotifications:\n  events:\n    includetags: true\n",
            {},
            "events.includetags",
        ),
        (
            "version: 0.1\nnotifications:\n  events:\n    includereferences: sure\n",
            {},
            "notifications.events.includereferences",
        ),
        ("version: 0.1\nnotifications: [a]\n", {}, "notifications: expected a mapping"),
        ("version: 0.1\n", {"REGISTRY_NOTIFICATIONS_ENDPOINTS": "[{"}, "invalid YAML"),
        ("version: 0.1\n", {"REGISTRY_NOTIFICATIONS_ENDPOINTS": "[{name: a}]"}, "url: required"),
    ],
)
def test_invalid_notifications_name_the_key(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("[", r"\[")):
        load_config(write(tmp_path, text), env)


def test_the_example_in_config_md_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "registry" / "CONFIG.md").read_text()
    section = doc[doc.index("## Notifications") :]
    example = section[section.index("```yaml\n") + 8 : section.index("```\n", 10)]
    config = load_config(write(tmp_path, "version: 0.1\n" + example), {}).notifications
    assert [e.name for e in config.endpoints] == ["scanner", "audit"]
    assert [e.name for e in config.active] == ["scanner"]
    scanner = config.endpoints[0]
    assert scanner.ignored_actions == {"pull"} and scanner.queue_size == 1000
