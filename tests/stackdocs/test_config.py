"""Configuration: defaults from SPEC.md, and one clear line for every bad value."""

from pathlib import Path

import pytest

from stackdocs.config import BridgeSettings, ConfigError, SpriteSettings


def test_defaults_match_the_spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = BridgeSettings.from_env({})
    assert settings.port == 3000
    assert settings.data_dir == (tmp_path / ".stackdocs").resolve()
    assert settings.auth == "local"
    assert settings.sprite_provider == "local"
    assert settings.sprite_idle_seconds == 30
    assert settings.public_url == "http://127.0.0.1:3000"
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / '.stackdocs' / 'platform.db'}"
    assert settings.anthropic_upstream_url == "https://api.anthropic.com"
    assert settings.ocr == "local"
    assert not settings.model_configured


def test_public_url_follows_the_port():
    assert BridgeSettings.from_env({}, port=4100).public_url == "http://127.0.0.1:4100"


def test_ocr_defaults_to_mistral_when_a_mistral_key_is_set():
    assert BridgeSettings.from_env({"MISTRAL_API_KEY": "k"}).ocr == "mistral"
    assert (
        BridgeSettings.from_env({"MISTRAL_API_KEY": "k", "STACKDOCS_OCR": "local"}).ocr == "local"
    )


def test_keys_never_appear_in_repr():
    settings = BridgeSettings.from_env({"ANTHROPIC_API_KEY": "sk-secret-123"})
    assert "sk-secret-123" not in repr(settings)
    assert settings.model_configured


@pytest.mark.parametrize(
    ("env", "variable", "hint"),
    [
        ({"STACKDOCS_AUTH": "ldap"}, "STACKDOCS_AUTH", "local, clerk"),
        ({"STACKDOCS_AUTH": "clerk"}, "CLERK_JWKS_URL", "required"),
        (
            {"STACKDOCS_AUTH": "clerk", "CLERK_JWKS_URL": "https://x/jwks"},
            "CLERK_ISSUER",
            "required",
        ),
        ({"STACKDOCS_SPRITE_PROVIDER": "docker"}, "STACKDOCS_SPRITE_PROVIDER", "local, sprites"),
        ({"STACKDOCS_SPRITE_PROVIDER": "sprites"}, "SPRITES_API_TOKEN", "required"),
        ({"STACKDOCS_SPRITE_IDLE_SECONDS": "soon"}, "STACKDOCS_SPRITE_IDLE_SECONDS", "number"),
        ({"STACKDOCS_SPRITE_IDLE_SECONDS": "-1"}, "STACKDOCS_SPRITE_IDLE_SECONDS", "allowed"),
        ({"STACKDOCS_PUBLIC_URL": "fly.dev"}, "STACKDOCS_PUBLIC_URL", "http"),
        ({"ANTHROPIC_UPSTREAM_URL": "ftp://x"}, "ANTHROPIC_UPSTREAM_URL", "http"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL", "sqlite, postgresql"),
        ({"STACKDOCS_OCR": "magic"}, "STACKDOCS_OCR", "local, mistral"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL", "redis://"),
    ],
)
def test_bad_values_name_the_variable_and_what_is_allowed(env, variable, hint):
    with pytest.raises(ConfigError) as err:
        BridgeSettings.from_env(env)
    line = str(err.value)
    assert line.startswith(variable)
    assert hint in line
    assert "\n" not in line


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ConfigError, match="STACKDOCS_DATA_DIR"):
        BridgeSettings.from_env({"STACKDOCS_DATA_DIR": str(target)})


def test_sprite_settings_need_a_token_and_hold_no_key():
    with pytest.raises(ConfigError, match="SPRITE_TOKEN"):
        SpriteSettings.from_env({})
    settings = SpriteSettings.from_env(
        {"SPRITE_TOKEN": "t" * 32, "ANTHROPIC_BASE_URL": "http://127.0.0.1:3000/proxy/anthropic"}
    )
    assert settings.anthropic_base_url == "http://127.0.0.1:3000/proxy/anthropic"
    assert not hasattr(settings, "anthropic_api_key")
