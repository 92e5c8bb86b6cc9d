"""Service configuration from the environment (``ILMS_*``), after pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from exchange.services.structures import default_root


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ILMS_")

    database_url: str = "sqlite:///ilms.db"
    structures_root: Path = default_root()
