"""The Reflex app: pages, theme, and the bridge's routes mounted on the same server."""

import reflex as rx

from app.canvas.gallery import GalleryState, gallery_page
from app.clerk_signin import clerk_session
from app.layout import workspace_shell
from app.signin import sign_in_card, splash
from app.state import SessionState
from app.workspace import WorkspaceState
from bridge.routes import install as install_bridge


def index() -> rx.Component:
    return rx.fragment(
        rx.cond(
            SessionState.checked,
            rx.cond(SessionState.signed_in, workspace_shell(), sign_in_card()),
            splash(),
        ),
        clerk_session(),  # Clerk mode only: ClerkJS sign-in and the 50 s token refresh
    )


app = rx.App(
    stylesheets=["/stackdocs.css"],
    toaster=rx.toast.provider(position="bottom-right", close_button=True),
)
install_bridge(app)
app.add_page(index, route="/", title="Stackdocs", on_load=WorkspaceState.start)
app.add_page(
    gallery_page,
    route="/gallery",
    title="Artifact gallery · Stackdocs",
    on_load=GalleryState.load_samples,
)
