"""The protocol layer: authlib's authorization server, keys, tokens and Microsoft-shaped errors. Renders no HTML."""
