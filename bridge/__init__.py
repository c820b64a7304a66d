"""The bridge: users, tokens, Sprite providers, the /ws relay and the key-injecting proxy.

It runs inside the Reflex backend process; it knows nothing of agents or documents.
"""
