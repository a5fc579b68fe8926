"""`GET /healthz`: is this process able to serve? For load balancers and `pult check`.

200 when the database answers (the one dependency nothing works without); the body says
"degraded" when anything else (Redis) is failing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from aiohttp import web

from webapp.keys import SERVICES
from webapp.services import HealthCheck

CHECK_TIMEOUT = 3.0
REQUIRED = "database"
HEALTHY = ("ok", "not configured")

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    results = await run_checks(services.health_checks)
    body: dict[str, object] = {
        "status": "ok" if all(value in HEALTHY for value in results.values()) else "degraded",
        "version": services.version,
        **results,
    }
    body["worker"] = {"last_heartbeat": await _last_heartbeat(services.last_heartbeat)}
    status = 200 if results.get(REQUIRED) == "ok" else 503
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


async def run_checks(checks: Mapping[str, HealthCheck]) -> dict[str, str]:
    """Run every check at once, each bounded by CHECK_TIMEOUT; a failure becomes
    'error: ...' instead of an exception."""
    names = list(checks)
    outcomes = await asyncio.gather(*(_run_one(name, checks[name]) for name in names))
    return dict(zip(names, outcomes, strict=True))


async def _run_one(name: str, check: HealthCheck) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            result = await check()
    except TimeoutError:
        return f"error: no answer within {CHECK_TIMEOUT:g} s"
    except Exception as exc:
        log.warning("health check %s failed: %s", name, exc)
        return f"error: {_describe(exc)}"
    return result


async def _last_heartbeat(read: Callable[[], Awaitable[datetime | None]]) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            beat = await read()
    except Exception:
        # The database check above already reports why; the heartbeat is only a hint.
        return None
    return beat.isoformat() if beat is not None else None


def _describe(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
