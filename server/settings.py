"""Service configuration from the environment (``ILMS_*``), after pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from exchange.services.structures import default_root


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ILMS_")

    database_url: str = "sqlite:///ilms.db"
    structures_root: Path = default_root()
    #: Responses smaller than this many bytes are not gzipped.
    gzip_minimum_size: int = 1000
    #: zlib level of gzipped answers: 6 compresses a harvest ~1.7x faster than 9 (Starlette's
    #: default) for 3.7 % instead of 3.4 % of the size.
    gzip_level: int = 6
    #: Memory for rendered structure answers, by ETag (structures change only on redeploy).
    body_cache_bytes: int = 64 * 1024 * 1024
    #: A data query selecting more observations than this is refused (413, SDMX error 510).
    max_observations: int = 5_000_000
    #: Where the DSD-specific XSDs (``/rest/schema``) import the SDMX schemas from (a folder URL
    #: holding ``SDMXDataStructureSpecific.xsd``); by default the files installed here.
    sdmx_schemas_url: str | None = None
    #: Largest data file a push may send, in bytes (larger: 413 before reading it).
    max_upload_bytes: int = 512 * 1024 * 1024
    #: Submissions received or worked on at once; one more is answered 503 with Retry-After.
    submission_workers: int = 2
    #: Where uploads wait while validated and stored (the system's temporary folder if unset).
    upload_dir: Path | None = None
