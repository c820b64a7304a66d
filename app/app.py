"""The Reflex app: pages, theme, and the bridge's routes mounted on the same server."""

import reflex as rx

from app.layout import workspace_shell
from app.signin import sign_in_card
from app.state import SessionState
from bridge.routes import install as install_bridge


def index() -> rx.Component:
    return rx.cond(SessionState.signed_in, workspace_shell(), sign_in_card())


app = rx.App()
install_bridge(app)
app.add_page(index, route="/", title="Stackdocs")
