"""The customer UI's pages, one module per page (URLs in mappings/urls.py). Views read through
tenants.access and change things only through mappings.services and the engine's requests."""
