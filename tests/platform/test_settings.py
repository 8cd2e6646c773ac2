from pathlib import Path

import pytest

from baoxue.platform.settings import DEFAULT_SECRET_KEY, ConfigurationError, load_settings


def test_embedded_default_is_sqlite_in_the_data_dir_with_in_process_jobs(tmp_path: Path) -> None:
    s = load_settings({"BAOXUE_DATA_DIR": str(tmp_path)})
    assert s.effective_database_url == f"sqlite:///{tmp_path / 'baoxue.sqlite3'}"
    assert s.migration_database_url == s.effective_database_url
    assert s.redis_url == ""
    assert not s.is_postgresql


def test_postgresql_urls_use_psycopg3_and_admin_url_runs_migrations() -> None:
    s = load_settings({"BAOXUE_DATABASE_URL": "postgresql://web@db/baoxue",
                       "BAOXUE_DATABASE_ADMIN_URL": "postgres://owner@db/baoxue"})
    assert s.effective_database_url == "postgresql+psycopg://web@db/baoxue"
    assert s.migration_database_url == "postgresql+psycopg://owner@db/baoxue"
    assert s.is_postgresql


def test_production_refuses_the_default_secret_key() -> None:
    with pytest.raises(ConfigurationError, match="BAOXUE_SECRET_KEY"):
        load_settings({"BAOXUE_ENV": "production"})
    with pytest.raises(ConfigurationError, match="32"):
        load_settings({"BAOXUE_ENV": "production", "BAOXUE_SECRET_KEY": "short"})
    ok = load_settings({"BAOXUE_ENV": "production", "BAOXUE_SECRET_KEY": "x" * 40})
    assert ok.is_production and ok.secret_key != DEFAULT_SECRET_KEY


def test_bad_values_name_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="BAOXUE_PORT"):
        load_settings({"BAOXUE_PORT": "eighty"})
    with pytest.raises(ConfigurationError, match="BAOXUE_ENV"):
        load_settings({"BAOXUE_ENV": "staging"})


def test_platform_still_means_the_standard_library() -> None:
    import platform

    assert platform.system()  # a top-level package called platform would shadow this
    assert not (Path(__file__).resolve().parents[2] / "platform" / "__init__.py").exists()
