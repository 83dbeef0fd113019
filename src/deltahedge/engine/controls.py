"""The dashboard's controls (pause, resume, kill) over an engine's kill switch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deltahedge.engine.engine import Engine


class EngineControls:
    """The dashboard's :class:`~deltahedge.dashboard.Controls` over an engine's kill switch.

    Thread-safe: the kill switch takes a lock, and the engine reads it on its next tick.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pause(self) -> None:
        self.engine.paused = True
        self.engine.kill_switch.freeze("dashboard", "pause")

    def resume(self) -> None:
        self.engine.paused = False
        self.engine.kill_switch.resume("dashboard", "resume")

    def kill(self, mode: Any) -> None:
        self.engine.paused = False
        if str(getattr(mode, "value", mode)) == "flatten":
            self.engine.kill_switch.flatten("dashboard", "kill: flatten")
        else:
            self.engine.kill_switch.freeze("dashboard", "kill: freeze")


__all__ = ["EngineControls"]
