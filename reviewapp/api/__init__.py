"""The REST API (Django REST framework): what an ERP or a script uses instead of
the browser. Version 1 lives under /api/v1/; its OpenAPI schema at /api/schema/."""
