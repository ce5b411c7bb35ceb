"""The HTTP API: a flat route table (routes.py), ServeMux-style dispatch (app.py), rendering (render.py)."""
