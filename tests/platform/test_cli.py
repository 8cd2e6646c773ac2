import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from baoxue.platform import migrate
from baoxue.platform.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "demo", "run", "worker", "scheduler"):
        assert command in result.output
    db_help = CliRunner().invoke(main, ["db", "--help"]).output
    assert "upgrade" in db_help and "downgrade" in db_help


def _baoxue(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("baoxue")
    return subprocess.run([str(exe), *args], env={**os.environ, **env}, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_db_upgrade_demo_seed_and_downgrade_on_a_fresh_sqlite(tmp_path: Path) -> None:
    env = {"BAOXUE_DATA_DIR": str(tmp_path), "BAOXUE_DATABASE_URL": "", "BAOXUE_DATABASE_ADMIN_URL": "",
           "BAOXUE_REDIS_URL": "", "BAOXUE_ENV": "development"}
    up = _baoxue("db", "upgrade", env=env)
    assert up.returncode == 0, up.stderr
    assert f"database at {migrate.head_revision()}" in up.stdout
    seed = _baoxue("demo", "seed", env=env)
    assert seed.returncode == 0, seed.stderr
    assert "baoxue2026" in seed.stdout and "bd_leader" in seed.stdout
    again = _baoxue("demo", "seed", env=env)
    assert "already present" in again.stdout
    down = _baoxue("db", "downgrade", "base", env=env)
    assert down.returncode == 0, down.stderr
    assert _baoxue("db", "current", env=env).stdout.strip() == "empty"


def test_production_with_default_secret_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    result = _baoxue("db", "current", env={"BAOXUE_ENV": "production", "BAOXUE_SECRET_KEY": "",
                                           "BAOXUE_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "BAOXUE_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_without_redis_says_why(tmp_path: Path) -> None:
    result = _baoxue("worker", env={"BAOXUE_REDIS_URL": "", "BAOXUE_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0 and "BAOXUE_REDIS_URL" in result.stderr


def test_run_serves_with_several_processes_when_asked(monkeypatch: Any) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    assert CliRunner().invoke(main, ["run", "--workers", "4"]).exit_code == 0
    assert calls[-1]["workers"] == 4 and calls[-1]["factory"] and calls[-1]["app"] == "baoxue.platform.app:create_app"
    assert CliRunner().invoke(main, ["run"], env={"BAOXUE_WEB_WORKERS": "3"}).exit_code == 0
    assert calls[-1]["workers"] == 3
    assert CliRunner().invoke(main, ["run"], env={"BAOXUE_WEB_WORKERS": ""}).exit_code == 0
    assert calls[-1]["workers"] == 1
    refused = CliRunner().invoke(main, ["run", "--reload", "--workers", "2"])
    assert refused.exit_code != 0 and "--reload" in refused.output


def test_the_production_start_runs_more_than_one_web_process() -> None:
    import re

    compose = (ROOT / "compose.yaml").read_text()
    web = compose[compose.index("\n  web:"):compose.index("\n  worker:")]
    workers = re.search(r'"--workers", "\$\{BAOXUE_WEB_WORKERS:-(\d+)\}"', web)
    assert workers is not None and int(workers.group(1)) > 1, web
    assert "--workers" in (ROOT / "README.md").read_text()
