"""The one port to Kubernetes. Only this package imports the client library (lightkube/httpx2).

Objects cross the port as plain JSON dicts (``RawObject``) so built-in kinds and custom
resources are handled alike and no field is lost on a read-modify-write.
"""
