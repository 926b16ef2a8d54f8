"""One settings object for every SLANT_* variable: typed, validated with a message that says the
fix, and documented in docs/api.md with the same defaults."""

import re
from pathlib import Path

import pytest

from slant.settings import Settings, SettingsError, env_name, settings

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ROW = re.compile(r"^\| `(SLANT_[A-Z_]+)` \|([^|]*)\|", re.M)


def shown_default(name: str) -> str:
    field = Settings.model_fields[name]
    extra = field.json_schema_extra or {}
    if "shown" in extra:
        return str(extra["shown"])
    value = field.default
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_docs_list_every_setting_with_its_default():
    documented = {var: default.strip() for var, default in ROW.findall(API_DOC.read_text())}
    expected = {env_name(name): shown_default(name) for name in Settings.model_fields}
    assert documented == expected


def test_values_are_typed_and_empty_means_default(monkeypatch):
    monkeypatch.setenv("SLANT_MAX_CHARS", "1_000")
    monkeypatch.setenv("SLANT_PARSE_TIMEOUT_S", "2.5")
    monkeypatch.setenv("SLANT_REQUIRE_KEY_FOR_SCORING", "1")
    monkeypatch.setenv("SLANT_LOG_LEVEL", "debug")
    monkeypatch.setenv("SLANT_MAX_TARGETS", "")
    s = settings()
    assert (s.max_chars, s.parse_timeout_s, s.require_key_for_scoring, s.log_level) == (1000, 2.5, True, "DEBUG")
    assert s.max_targets == 10


@pytest.mark.parametrize(
    "var, value, says",
    [
        ("SLANT_MAX_CHARS", "lots", "valid integer"),
        ("SLANT_MAX_PARAGRAPHS", "0", "greater than or equal to 1"),
        ("SLANT_DEVICE", "tpu", "'auto', 'cpu' or 'cuda'"),
        ("SLANT_RELOAD_INTERVAL_S", "-1", "greater than or equal to 0"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_the_fix(monkeypatch, var, value, says):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as caught:
        settings()
    message = str(caught.value)
    assert f"{var}={value!r}" in message and says in message and "unset it to use the default" in message


def test_no_module_reads_a_slant_variable_past_the_settings_object():
    # Every SLANT_* read goes through slant.settings, so each is typed, validated and documented.
    import ast

    root = Path(__file__).resolve().parents[2]
    readers = []
    for path in [p for pkg in ("slant", "serving", "training") for p in (root / pkg).rglob("*.py")]:
        if path.name == "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "getenv")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).startswith("SLANT_")
            ):
                readers.append(f"{path.relative_to(root)}:{node.lineno}")
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.slice, ast.Constant)
                and str(node.slice.value).startswith("SLANT_")
            ):
                readers.append(f"{path.relative_to(root)}:{node.lineno}")
    assert readers == []
