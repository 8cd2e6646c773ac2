"""The app factory and its one core plugin, which wires every part of the shell.

The plugin names no concept: it mounts the routes of every concept in the registry
(`baoxue.platform.concepts`), so adding a concept touches no file here.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.config.app import AppConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins import InitPluginProtocol
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from baoxue.platform.api_contract import ContractJson
from baoxue.platform.auth import AuthenticationMiddleware, check_route_permission
from baoxue.platform.concepts import all_concepts, import_all_models
from baoxue.platform.errors import EXCEPTION_HANDLERS
from baoxue.platform.openapi_page import SchemaPage
from baoxue.platform.querystring import DropEmptyQueryParameters
from baoxue.platform.request_checks import RequestChecks, check_integer_parameters
from baoxue.platform.security import CsrfMiddleware, security_headers
from baoxue.platform.settings import PROJECT_ROOT, Settings, get_settings
from baoxue.platform.transactions import TransactionMiddleware, provide_db

PLATFORM_ROUTE_MODULES = ("baoxue.platform.health", "baoxue.platform.identity_routes", "baoxue.platform.audit_routes",
                          "baoxue.platform.jobs_routes")


class BaoxueCore(InitPluginProtocol):
    def __init__(self, settings: Settings, extra_routes: Sequence[Any] = ()) -> None:
        self.settings = settings
        self.extra_routes = list(extra_routes)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        import_all_models()
        app_config.state = State({"settings": self.settings})
        app_config.route_handlers.extend(self._routes())
        app_config.dependencies["db"] = Provide(provide_db, sync_to_thread=False)
        # Who may, then what they sent: an anonymous probe learns nothing from a 400.
        app_config.guards.extend([check_route_permission, check_integer_parameters])
        app_config.middleware[:0] = [DropEmptyQueryParameters,
                                     DefineMiddleware(AuthenticationMiddleware, settings=self.settings),
                                     RequestChecks,
                                     DefineMiddleware(CsrfMiddleware, settings=self.settings),
                                     TransactionMiddleware]
        app_config.before_send.append(security_headers)
        app_config.exception_handlers.update(EXCEPTION_HANDLERS)
        app_config.template_config = TemplateConfig(
            directory=PROJECT_ROOT / "templates", engine=JinjaTemplateEngine,
            engine_callback=_template_globals,
        )
        app_config.openapi_config = OpenAPIConfig(
            title="保学 Baoxue API", version="0.1.0", path="/schema", render_plugins=[SchemaPage(), ContractJson()],
            description="控辍保学平台接口。认证：POST /api/auth/token 获取 Bearer 令牌。",
        )
        app_config.on_startup.append(self._start_jobs)
        app_config.on_shutdown.append(self._stop_jobs)
        return app_config

    def _routes(self) -> list[Any]:
        routes: list[Any] = [
            create_static_files_router(path="/static", directories=[PROJECT_ROOT / "platform" / "static"],
                                       opt={"public": True}, include_in_schema=False),
        ]
        handler_lists = [importlib.import_module(m).routes for m in PLATFORM_ROUTE_MODULES]
        handler_lists += [concept.routes for concept in all_concepts()]
        # One Router per module, not a bare list: Litestar 2.25 re-runs registration for the
        # handlers already on a path each time a bare handler joins it, wrapping a sync handler
        # in its thread runner twice; one returning a Response then answers 500.
        routes += [Router(path="/", route_handlers=list(handlers)) for handlers in handler_lists if handlers]
        if self.extra_routes:
            routes.append(Router(path="/", route_handlers=self.extra_routes))
        return routes

    def _start_jobs(self) -> None:
        from baoxue.workers.broker import configure_broker, start_in_process_worker

        configure_broker(self.settings)
        self.owns_worker = start_in_process_worker(self.settings)

    def _stop_jobs(self) -> None:
        from baoxue.workers.broker import stop_in_process_worker

        if getattr(self, "owns_worker", False):
            stop_in_process_worker()


def _template_globals(engine: JinjaTemplateEngine) -> None:
    from baoxue.platform.templating import install_globals

    install_globals(engine.engine)


def create_app(settings: Settings | None = None, extra_routes: Sequence[Any] = ()) -> Litestar:
    """`extra_routes` lets a test mount a handler of its own (e.g. one that fails)."""
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return Litestar(plugins=[HTMXPlugin(), BaoxueCore(settings, extra_routes)], debug=False)
