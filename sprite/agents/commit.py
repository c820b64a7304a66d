"""Saving a mission's draft, then telling the clients what changed.

Called by the ``complete`` tool and by the runner when a mission ends successfully. After the
one-transaction commit, each changed document's ``extraction`` frame is broadcast and the canvas
artifacts showing that extraction or stack table are redrawn from the saved rows.
"""

from __future__ import annotations

import logging

from sprite.agents import store
from sprite.agents.scope import MissionScope
from sprite.agents.tools.canvas import (
    extraction_artifact_id,
    publish,
    publish_extraction,
    stack_table_artifact_id,
    stack_table_data,
)

log = logging.getLogger("sprite.agents")


async def commit_mission_work(scope: MissionScope) -> store.Committed:
    committed = await store.commit_draft(
        scope.storage,
        scope.draft,
        mission_id=scope.mission_id,
        session_id=scope.session_id,
        model=scope.model,
    )
    if scope.emit is None:
        return committed
    for document_id in committed.documents:
        await scope.publish(
            "extraction", await store.extraction_payload(scope.storage, document_id)
        )
        if await scope.storage.get_artifact(extraction_artifact_id(document_id)) is not None:
            await publish_extraction(scope, document_id, None)
    for table_id in committed.tables:
        artifact_id = stack_table_artifact_id(table_id)
        existing = await scope.storage.get_artifact(artifact_id)
        if existing is not None:
            data, _name = await stack_table_data(scope, table_id)
            await publish(scope, "table", existing["title"], data, artifact_id)
    return committed
