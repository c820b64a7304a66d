"""Reflex configuration. Values come from stackdocs.config, the one module that reads the env."""

import reflex as rx
from reflex_base.plugins.sitemap import SitemapPlugin

from stackdocs.config import BridgeSettings, ConfigError

try:
    _settings = BridgeSettings.from_env()
except ConfigError:
    # `stackdocs run` validates first and prints one clear line; the Reflex CLI used directly
    # (dev mode) falls back to defaults here and the app validates again at start-up.
    _settings = BridgeSettings.from_env({})

config = rx.Config(
    app_name="app",
    show_built_with_reflex=False,
    telemetry_enabled=False,
    db_url=_settings.database_url,
    redis_url=_settings.redis_url,
    state_manager_mode="redis" if _settings.redis_url else "disk",
    disable_plugins=[SitemapPlugin],
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(
                appearance="inherit",
                accent_color="indigo",
                gray_color="slate",
                radius="medium",
                scaling="100%",
                # Solid panels: dialogs and menus stay readable without backdrop blur.
                panel_background="solid",
            ),
        ),
    ],
)
