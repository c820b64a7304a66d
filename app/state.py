"""Session state shared by every page: who is signed in."""

import reflex as rx


class SessionState(rx.State):
    """The signed-in user. Until the bridge's issuer lands this is the name typed at sign-in."""

    user: str = rx.LocalStorage("", name="stackdocs_user")
    draft_user: str = ""

    @rx.event
    def set_draft_user(self, value: str) -> None:
        self.draft_user = value

    @rx.event
    def sign_in(self, form: dict) -> None:
        name = str(form.get("user", "")).strip()
        if name:
            self.user = name[:64]

    @rx.event
    def sign_out(self) -> None:
        self.user = ""

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.user)

    @rx.var
    def initials(self) -> str:
        return (self.user[:2] or "?").upper()
