"""Intelligence without a model download (DESIGN 16): the chat-order parser and what
serves it. The parser modules (``chat_text``, ``chat_index``, ``chat_parse``) are pure;
``chat_orders`` binds them to an app (cached index, access gate, draft orders)."""
