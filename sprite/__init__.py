"""The Sprite runtime: one user's persistent workspace (``stackdocs sprite serve``).

It owns the workspace (``documents/``, ``ocr/``, ``artifacts/``, ``agent.db``), ingests documents,
runs ``!`` shell missions, hands other missions to the agent crew (``sprite.agents``) and speaks
the WebSocket protocol of ``stackdocs.protocol``. It knows nothing of users or tokens beyond its
own ``SPRITE_TOKEN``.

Module map: ``server`` (sockets, auth, per-client queues) → ``runtime`` (routes frames to the
services) → ``ingest`` / ``shell`` / ``missions`` / ``storage`` / ``ocr`` / ``workspace``.
"""
