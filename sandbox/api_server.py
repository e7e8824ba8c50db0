"""The HTTP API served locally by Chalice's own dev server, on loopback only."""

from __future__ import annotations

import threading
from typing import Any

from sandbox.stack import PROJECT_DIR


def _handler_class(quiet: bool = False) -> Any:
    from chalice.local import ChaliceRequestHandler

    class AnyMethodHandler(ChaliceRequestHandler):
        """Routes every method through Chalice's gateway, as API Gateway does.

        Python's HTTP server answers 501 to methods it has no ``do_`` for (TRACE,
        QUERY, …); API Gateway answers those with a 4xx, and so does this.
        """

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            if not quiet:  # the request log on stderr, unless the caller prints its own output
                super().log_message(format, *args)

    return AnyMethodHandler


def _local_app() -> Any:
    """The app with a per-thread ``current_request``, as ``chalice local`` makes it (once)."""
    from chalice.local import CustomLocalChalice, LocalChalice

    import app

    if not isinstance(app.app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.app.__class__)
        app.app.__class__ = CustomLocalChalice
    return app.app


class LocalApi:
    """``app.py``'s routes on http://127.0.0.1:<port>, in a background thread."""

    def __init__(self, port: int = 8000, stage: str = "sandbox", quiet: bool = False) -> None:
        from chalice.cli.factory import CLIFactory
        from chalice.local import LocalDevServer

        config = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name=stage)
        self._server: Any = LocalDevServer(
            _local_app(), config, "127.0.0.1", port, handler_cls=_handler_class(quiet)
        )
        self.port = int(self._server.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server.server_close()
