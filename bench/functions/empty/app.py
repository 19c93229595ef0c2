"""A function that does nothing at init: cold start is the runtime's own plus the layer's."""


def handler(event, context):
    return {"ok": True}
