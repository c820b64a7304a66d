"""Mission chat state: send missions, stream their events, cancel, follow up."""

from __future__ import annotations

import uuid
from typing import Any

import reflex as rx

from app import link
from app.chat.model import Mission, MissionLog, from_state

PENDING_PREFIX = "pending-"


class ChatState(rx.State):
    history: list[Mission] = []  # finished missions, oldest first (changes rarely)
    live: list[Mission] = []  # running ones: the only part resent while streaming
    reply_to: str = ""  # a mission id: the next message is a follow-up in that thread
    reply_to_text: str = ""
    problem: str = ""

    @rx.var
    def empty(self) -> bool:
        return not self.history and not self.live

    @rx.var
    def running(self) -> bool:
        return any(m["status"] in ("pending", "running") for m in self.live)

    @rx.event
    async def send(self, form: dict[str, Any]):
        text = str(form.get("mission", "")).strip()
        if not text:
            return None
        sprite = link.get(self.router.session.client_token)
        if sprite is None:
            self.problem = "Not connected to your workspace yet — try again in a moment."
            # The form was reset on submit: put the text back rather than lose what was typed.
            return rx.set_value("sd-mission-input", text)
        self.problem = ""
        log = MissionLog(self.live, self.history)
        # A new mission gets its id here (the Sprite keeps a client-chosen id); a follow-up
        # names its parent and gets a new id from the Sprite, matched by the frame id.
        local_id = uuid.uuid4().hex
        if self.reply_to and not text.startswith("!"):
            payload: dict[str, Any] = {"text": text, "mission_id": self.reply_to}
            log.start(f"{PENDING_PREFIX}{local_id}", text, follow_up=True)
            frame_id: str | None = f"{PENDING_PREFIX}{local_id}"
        else:
            payload = {"text": text, "mission_id": local_id}
            log.start(local_id, text)
            frame_id = None
        self.reply_to = self.reply_to_text = ""
        self._store(log)
        try:
            await sprite.send("mission", payload, id=frame_id)
        except ConnectionError as exc:
            log.fail_pending(f"Could not reach your workspace: {exc}")
            self._store(log)
        return rx.scroll_to("sd-chat-end")

    @rx.event
    async def cancel(self, mission_id: str) -> None:
        sprite = link.get(self.router.session.client_token)
        if sprite is not None and not mission_id.startswith(PENDING_PREFIX):
            await sprite.send("mission_cancel", {"mission_id": mission_id})

    @rx.event
    def follow_up(self, mission_id: str, text: str):
        self.reply_to = mission_id
        self.reply_to_text = text[:80]
        return rx.set_focus("sd-mission-input")

    @rx.event
    def clear_reply(self) -> None:
        self.reply_to = self.reply_to_text = ""

    def _store(self, log: MissionLog) -> None:
        self.live = log.live
        if log.history_changed or len(log.history) != len(self.history):
            self.history = log.history

    def _apply_events(self, events: list[tuple[str | None, dict[str, Any]]]) -> None:
        log = MissionLog(self.live, self.history)
        log.apply(events)
        self._store(log)

    def _replace(self, missions: list[dict[str, Any]]) -> None:
        self.live, self.history = from_state(missions)
        self.problem = ""

    def _clear(self) -> None:
        self.live, self.history = [], []
        self.reply_to = self.reply_to_text = self.problem = ""
