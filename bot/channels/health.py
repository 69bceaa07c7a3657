"""`GET /health` on the Rasa server, for a load balancer's checks and Kubernetes' probes.

Rasa 3.6 has no unauthenticated health route (`/status` needs the API token). This
"channel" (registered in credentials.yml, Rasa's extension point for routes) answers 200
once the model is loaded and the server takes messages, 503 before."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


class HealthInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "health"

    def url_prefix(self) -> str:
        return "/health"  # Rasa joins it to /webhooks/: an absolute path stays as it is

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        health = Blueprint("rasa_health", __name__)

        @health.route("", methods=["GET", "HEAD"])
        async def ready(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"status": "loading"}, status=503)
            return response.json({"status": "ok"})

        return health
